"""Issue 32, image bombs: images and videos are held to a pixel and duration
budget read from their headers, before anything is decoded."""
import struct
import zlib

import cv2
import numpy as np
import pytest

from mmstvg.apis.inference_pipeline import adapt_test_pipeline, open_video_source
from mmstvg.datasets.transforms import GroundingDecordInit
from mmstvg.datasets.transforms.input_budget import (DEFAULT_MAX_IMAGE_PIXELS,
                                                     InputBudgetError)
from mmstvg.datasets.validation import GroundingDataError


def claimed_png(path, width, height):
    """A tiny 1 x 1 PNG whose IHDR is patched to claim ``width x height``."""
    assert cv2.imwrite(str(path), np.zeros((1, 1, 3), np.uint8))
    data = bytearray(path.read_bytes())
    assert data[12:16] == b'IHDR'
    data[16:24] = struct.pack('>II', width, height)
    data[29:33] = struct.pack('>I', zlib.crc32(bytes(data[12:29])))
    path.write_bytes(bytes(data))
    return str(path)


def write_video(path, num_frames=12, size=(24, 32), fps=6.0):
    height, width = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), fps, (width, height))
    assert writer.isOpened()
    for i in range(num_frames):
        writer.write(np.full((height, width, 3), 10 * i, dtype=np.uint8))
    writer.release()
    return str(path)


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail if an image is decoded at all."""
    import mmcv

    def refuse(*args, **kwargs):
        raise AssertionError('the image was decoded')

    monkeypatch.setattr(mmcv, 'imread', refuse)


@pytest.mark.parametrize('side', [20000, 50000])  # 400 MP; 2.5 GP: PIL's own bomb error
def test_image_bomb_refused_from_header(tmp_path, no_decoding, side):
    path = claimed_png(tmp_path / 'bomb.png', side, side)
    loader = GroundingDecordInit()
    with pytest.raises(GroundingDataError) as info:
        loader(dict(video_path=path, task='rec', ann_file='ann.json', video_id='bomb'))
    message = str(info.value)
    assert path in message and 'ann.json' in message and 'max_image_pixels' in message
    if side == 20000:
        assert '20000 x 20000 = 400000000 pixels' in message
        assert str(DEFAULT_MAX_IMAGE_PIXELS) in message
    with pytest.raises(ValueError, match='max_image_pixels') as info:
        open_video_source(path, 'rec')
    assert path in str(info.value)


def test_image_budget_argument(tmp_path):
    path = tmp_path / 'small.png'
    cv2.imwrite(str(path), np.zeros((20, 30, 3), np.uint8))
    with pytest.raises(GroundingDataError, match=r'30 x 20 = 600 pixels.*max_image_pixels=500'):
        GroundingDecordInit(max_image_pixels=500)(dict(video_path=str(path), task='rec'))
    results = GroundingDecordInit(max_image_pixels=600)(dict(video_path=str(path), task='rec'))
    assert results['total_frames'] == 1
    with pytest.raises(InputBudgetError):
        open_video_source(str(path), 'rec', max_image_pixels=599)
    assert len(open_video_source(str(path), 'rec', max_image_pixels=None)) == 1


def test_video_frame_and_duration_budgets(tmp_path):
    path = write_video(tmp_path / 'clip.mp4')  # 32 x 24, 12 frames at 6 fps: 2 s
    assert GroundingDecordInit()(dict(video_path=path))['total_frames'] == 12
    with pytest.raises(GroundingDataError,
                       match=r'32 x 24 = 768 pixel frames.*max_frame_pixels=700'):
        GroundingDecordInit(max_frame_pixels=700)(dict(video_path=path, video_id='clip'))
    with pytest.raises(GroundingDataError, match=r'lasts 2.0 s.*max_video_seconds=1.5'):
        GroundingDecordInit(max_video_seconds=1.5)(dict(video_path=path, video_id='clip'))
    with pytest.raises(InputBudgetError, match='max_frame_pixels'):
        open_video_source(path, 'stvg', max_frame_pixels=767)
    with pytest.raises(InputBudgetError, match='max_video_seconds'):
        open_video_source(path, 'stvg', max_video_seconds=1.0)
    assert len(open_video_source(path, 'stvg', max_frame_pixels=768, max_video_seconds=2.0)) == 12


def test_config_budget_reaches_the_inference_loader():
    pipeline = [dict(type='GroundingDecordInit', num_threads=2, max_image_pixels=None,
                     max_video_seconds=60.0),
                dict(type='PackGroundingInputs')]
    loader = adapt_test_pipeline(pipeline)[0]
    assert loader == dict(type='InferenceVideoInit', num_threads=2, max_image_pixels=None,
                          max_video_seconds=60.0)


def test_data_construction_holds_videos_to_the_budgets(tmp_path):
    """The construction pipeline decoded every sampled frame of any video it
    was given (a web video claiming huge frames took the whole pipeline down);
    now such a video is a counted failure naming the file and the budget, and
    no frame is decoded."""
    import json

    from mmstvg.data_construction import STVGConstructionPipeline
    write_video(tmp_path / 'clip.mp4')  # 32 x 24, 12 frames at 6 fps: 2 s
    captions = tmp_path / 'captions.json'
    captions.write_text(json.dumps([dict(video='clip.mp4', caption='the red ball moves')]))

    def run(work, **budget):
        return STVGConstructionPipeline(
            source=dict(ann_file=str(captions), video_root=str(tmp_path), format='list'),
            object_picker=dict(type='RegexObjectPicker',
                               pattern=r'^(?P<object>the \w+ \w+) moves'),
            detector=dict(type='ColourBlobDetector'), construction_filters=[],
            work_dir=str(tmp_path / work), progress=False,
            custom_imports=['tests.test_data_construction.fake_parts'], **budget).run()

    import tests.test_data_construction.fake_parts  # noqa: F401 (registers the detector)
    for work, budget, said in [('frames', dict(max_frame_pixels=700),
                                '32 x 24 = 768 pixel frames, over the budget '
                                'max_frame_pixels=700'),
                               ('seconds', dict(max_video_seconds=1.5),
                                'lasts 2.0 s (12 frames at 6.000 fps), over the budget '
                                'max_video_seconds=1.5')]:
        with pytest.raises(ValueError, match='kept none of its 1 video') as error:
            run(work, **budget)  # the one video failed: nothing kept is an error
        with open(tmp_path / work / 'construction_report.json') as file:
            report = json.load(file)
        assert report['num_failed'] == 1, report
        (sample, ) = report['samples'].values()
        reason = sample['reason']
        assert reason.startswith('InputBudgetError: video ') and said in reason, reason
        assert str(tmp_path / 'clip.mp4') in reason and said in str(error.value)
    # within the budgets the video is read (and dropped: the test clip has no object)
    with pytest.raises(ValueError, match=r'\(0 failed, 1 dropped by no_detections: 1\)'):
        run('default')
