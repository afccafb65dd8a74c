"""Issue 32: a variable-frame-rate video was timed ``frame index / average fps``.

The inferencer reported, and put in the prompt, ``index / fps`` for every
sampled frame: on a video whose frames are not evenly spaced that is seconds
off (here frame 12 is shown at 3.0 s and was reported at 6.0 s), and the
predicted span was mapped to frames with the average fps too. Frames are now
timed by their presentation times (decord's ``get_frame_timestamp``) at
inference and for annotations in wall-clock seconds (Charades-STA, DiDeMo);
a video whose times cannot be read is refused with an error naming it.

The video is a real variable-frame-rate mp4 (``vfr_video.py``: OpenCV's mp4
with its ``stts`` box rewritten; no ffmpeg or PyAV is needed).
"""
import json

import decord
import numpy as np
import pytest
import torch
from mmengine.dataset import Compose

from mmstvg.apis import GroundingInferencer
from mmstvg.apis.grounding_inferencer import span_frames_on_presentation_times
from mmstvg.datasets import CharadesSTADataset, GroundingDataError, HCSTVGDataset
from mmstvg.datasets.transforms import GroundingDecordInit
from mmstvg.models.language.prompt_builder import PromptBuilder
from mmstvg.structures import GroundingDataSample
from tests.test_datasets.conftest import hcstvg_entry, write_video
from tests.test_reliability.vfr_video import presentation_starts, write_vfr_video

#: 12 frames of 0.25 s, then 6 of 1 s: 18 frames in 9 s, 2 fps on average.
DURATIONS = [0.25] * 12 + [1.0] * 6
SHOWN_AT = presentation_starts(DURATIONS)
AVERAGE_FPS = 2.0
TOLERANCE = 1e-3
PIPELINE = [dict(type='GroundingDecordInit'),
            dict(type='UniformSampleFrames', num_frames=6, test_mode=True),
            dict(type='GroundingDecordDecode'),
            dict(type='LoadGroundingAnnotations'),
            dict(type='PackGroundingInputs')]
#: The 6 frames that pipeline samples from 18.
SAMPLED = [1, 4, 7, 10, 13, 16]


@pytest.fixture
def vfr_video(tmp_path):
    folder = tmp_path / 'videos'
    folder.mkdir()
    return write_vfr_video(str(folder / 'vfr01.mp4'), DURATIONS)


def test_the_test_video_has_a_variable_frame_rate(vfr_video):
    reader = decord.VideoReader(vfr_video)
    assert len(reader) == 18 and reader.get_avg_fps() == pytest.approx(AVERAGE_FPS)
    starts = reader.get_frame_timestamp(np.arange(18))[:, 0]
    np.testing.assert_allclose(starts, SHOWN_AT, atol=TOLERANCE)
    assert SHOWN_AT[12] == 3.0 and 12 / AVERAGE_FPS == 6.0  # 3 s apart


def test_the_inferencer_reports_and_prompts_presentation_times(tiny_cfg, vfr_video,
                                                               monkeypatch):
    prompted = []
    render = PromptBuilder._render

    def recording_render(self, task, duration, frame_times, *args, **kwargs):
        prompted.append((list(frame_times), duration,
                         render(self, task, duration, frame_times, *args, **kwargs),
                         self))
        return prompted[-1][2]

    monkeypatch.setattr(PromptBuilder, '_render', recording_render)
    inferencer = GroundingInferencer(tiny_cfg, device='cpu')
    result = inferencer(vfr_video, 'the red circle moves left')
    pred = result['predictions'][0]
    frames = [frame['frame_index'] for frame in pred['frames']]
    assert frames == [2, 6, 11, 15]  # 4 frames of 18, uniformly
    reported = [frame['time'] for frame in pred['frames']]
    np.testing.assert_allclose(reported, SHOWN_AT[frames], atol=TOLERANCE)
    assert reported[-1] == pytest.approx(6.0, abs=TOLERANCE)  # not 15 / 2 fps = 7.5
    times, duration, text, builder = prompted[-1]
    np.testing.assert_allclose(times, SHOWN_AT[frames], atol=TOLERANCE)
    assert duration == pytest.approx(sum(DURATIONS), abs=TOLERANCE)
    for time in SHOWN_AT[frames]:  # the prompt's time stamps
        assert builder.format_time(time) in text


def test_a_span_in_seconds_maps_to_the_frames_shown_then():
    sample = GroundingDataSample(metainfo=dict(
        task='stvg', fps=AVERAGE_FPS, num_frames=18, frame_inds=np.array(SAMPLED),
        presentation_times=np.append(SHOWN_AT, sum(DURATIONS))))
    sample.pred_span_seconds = torch.tensor([3.0, 5.0])
    sample.pred_span_frames = torch.tensor([6, 10])  # round(seconds * average fps)
    sample.pred_box_mask = torch.zeros(6, dtype=torch.bool)
    sample.pred_parse_ok = True
    span_frames_on_presentation_times(sample)
    # Frame 12 is shown at 3.0 s, frame 14 at 5.0 s.
    assert sample.pred_span_frames.tolist() == [12, 14]
    assert sample.pred_box_mask.tolist() == [False, False, False, False, True, False]


def test_wall_clock_annotations_time_frames_by_presentation_times(tmp_path, vfr_video):
    split = tmp_path / 'charades_sta_test.txt'
    split.write_text('vfr01 3.0 5.0##a person opens a door.\n')
    meta = tmp_path / 'video_meta.json'
    meta.write_text(json.dumps(dict(vfr01=dict(num_frames=18, fps=AVERAGE_FPS, height=24,
                                               width=32, length=9.0))))
    dataset = CharadesSTADataset(ann_file=str(split), meta_file=str(meta),
                                 data_prefix=dict(video=str(tmp_path / 'videos')),
                                 pipeline=PIPELINE, test_mode=True)
    assert dataset.get_data_info(0)['time_axis'] == 'seconds'
    meta = dataset[0]['data_samples'].metainfo
    assert meta['frame_inds'].tolist() == SAMPLED
    np.testing.assert_allclose(meta['frame_times'], SHOWN_AT[SAMPLED], atol=TOLERANCE)


def test_frame_counting_annotations_keep_index_over_fps(tmp_path, vfr_video):
    """HC-STVG counts frames: its seconds are ``frame / fps`` by definition,
    so the prompt stays on that axis, the one its targets use."""
    ann = tmp_path / 'hcstvg.json'
    ann.write_text(json.dumps({'vfr01.mp4': hcstvg_entry(img_num=18, fps=AVERAGE_FPS,
                                                         width=32, height=24)}))
    dataset = HCSTVGDataset(ann_file=str(ann), data_prefix=dict(video=str(tmp_path / 'videos')),
                            pipeline=PIPELINE, test_mode=True)
    meta = dataset[0]['data_samples'].metainfo
    assert dataset.get_data_info(0)['time_axis'] == 'frames'
    np.testing.assert_array_equal(meta['frame_times'], np.array(SAMPLED) / AVERAGE_FPS)


def test_a_constant_frame_rate_keeps_index_over_fps_exactly(tmp_path):
    path = write_video(str(tmp_path / 'cfr.mp4'), num_frames=18, fps=3.0)
    results = Compose([GroundingDecordInit(frame_times='presentation'),
                       dict(type='UniformSampleFrames', num_frames=6, test_mode=True)])(
        dict(video_path=path, video_id='cfr'))
    assert 'presentation_times' not in results
    np.testing.assert_array_equal(results['frame_times'], np.array(SAMPLED) / 3.0)


class TimelessReader:
    """A real reader whose container gives no usable presentation time."""

    REAL_READER = decord.VideoReader

    def __init__(self, path, **kwargs):
        self.reader = self.REAL_READER(path, **kwargs)

    def __len__(self):
        return len(self.reader)

    def get_avg_fps(self):
        return self.reader.get_avg_fps()

    def get_frame_timestamp(self, indices):
        return np.full((len(indices), 2), np.nan, dtype=np.float32)


def test_a_video_without_presentation_times_is_refused(vfr_video, monkeypatch):
    monkeypatch.setattr(decord, 'VideoReader', TimelessReader)
    with pytest.raises(GroundingDataError) as info:
        GroundingDecordInit(frame_times='presentation')(
            dict(video_path=vfr_video, video_id='vfr01', ann_file='ann.json'))
    assert info.value.field == 'frame_times' and vfr_video in str(info.value)
    assert 'frames cannot be timed' in str(info.value)
