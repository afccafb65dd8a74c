"""GroundingInferencer on the synthetic videos with the briefly trained tiny model."""
import glob
import json
import os.path as osp

import cv2
import decord
import numpy as np
import pytest
import torch

from mmstvg.apis import GroundingInferencer, prediction_to_dict
from mmstvg.registry import INFERENCERS
from mmstvg.structures import GroundingDataSample

from .conftest import NUM_SAMPLED

SENTENCES = ['the red circle moves left', 'the blue square moves up',
             'the green triangle moves right']


@pytest.fixture(scope='module')
def inferencer(tiny_cfg, trained_checkpoint):
    return GroundingInferencer(tiny_cfg, trained_checkpoint, device='cpu')


@pytest.fixture(scope='module')
def videos(synthetic_root):
    return sorted(glob.glob(osp.join(synthetic_root, 'videos', '*.mp4')))


def check_result(result: dict, video: str, sentence: str) -> None:
    """Schema and values of one video result, against the video itself."""
    reader = decord.VideoReader(video)
    num_frames, fps = len(reader), reader.get_avg_fps()
    height, width = reader[0].shape[:2]
    assert set(result) == {'sentence', 'task', 'video', 'num_frames', 'fps', 'height',
                           'width', 'span_seconds', 'span_frames', 'parse_ok',
                           'answer_text', 'frames'}
    assert (result['sentence'], result['task'], result['video']) == (sentence, 'stvg', video)
    assert (result['num_frames'], result['height'], result['width']) == (
        num_frames, height, width)
    assert result['fps'] == pytest.approx(fps)
    assert isinstance(result['parse_ok'], bool) and isinstance(result['answer_text'], str)
    start, end = result['span_frames']
    assert all(isinstance(v, int) for v in result['span_frames'])
    assert 0 <= start <= end <= num_frames
    if result['parse_ok']:
        # seconds clipped to the video, frames = round(seconds * fps)
        s0, s1 = result['span_seconds']
        assert 0 <= s0 <= s1 <= num_frames / fps
        assert (start, end) == (min(round(s0 * fps), num_frames),
                                min(round(s1 * fps), num_frames))
    else:
        assert result['span_frames'] == [0, 0] and result['span_seconds'] == [0.0, 0.0]
    # the test-mode sampler's 4 segment centres (distinct here: 10+ frames)
    expected = [int(np.floor((k + 0.5) * num_frames / NUM_SAMPLED))
                for k in range(NUM_SAMPLED)]
    indices = [f['frame_index'] for f in result['frames']]
    assert indices == expected
    assert all(np.diff(indices) > 0) and 0 <= indices[0] and indices[-1] < num_frames
    for frame in result['frames']:
        assert set(frame) == {'frame_index', 'time', 'box_xyxy', 'score', 'in_span'}
        assert frame['time'] == pytest.approx(frame['frame_index'] / fps)
        assert frame['in_span'] == (start <= frame['frame_index'] < end)
        x1, y1, x2, y2 = frame['box_xyxy']
        # boxes are reported clipped to the frame
        assert 0 <= x1 <= x2 <= width and 0 <= y1 <= y2 <= height
        assert frame['score'] == 1.0


def test_registered_and_needs_no_checkpoint(tiny_cfg):
    assert INFERENCERS.get('GroundingInferencer') is GroundingInferencer
    with pytest.warns(UserWarning, match='no checkpoint given'):
        GroundingInferencer(tiny_cfg, device='cpu')


def test_video_results_and_written_files(inferencer, videos, tmp_path):
    results = inferencer(videos[0], SENTENCES[0], out_dir=str(tmp_path), return_vis=True)
    result = results['predictions'][0]
    check_result(result, videos[0], SENTENCES[0])
    # the briefly trained model writes a parsable answer on its training video
    assert result['parse_ok'] and 'from' in result['answer_text']
    assert result['frames'][0]['box_xyxy'] != result['frames'][-1]['box_xyxy']
    drawn = results['visualization'][0]
    assert drawn.dtype == np.uint8 and drawn.shape[0] == NUM_SAMPLED
    assert drawn.shape[2:] == (32, 3) and drawn.shape[1] > 32  # caption + footer
    stem = tmp_path / f'0_{osp.splitext(osp.basename(videos[0]))[0]}'
    with open(f'{stem}.json') as file:
        assert json.load(file) == result
    assert len(decord.VideoReader(f'{stem}.mp4')) == result['num_frames']


def test_batched_equals_one_by_one(inferencer, videos):
    batched = inferencer(videos, SENTENCES, batch_size=2)['predictions']
    assert len(batched) == 3
    for video, sentence, together in zip(videos, SENTENCES, batched):
        alone = inferencer((video, sentence))['predictions'][0]
        check_result(together, video, sentence)
        assert alone['answer_text'] == together['answer_text']
        assert alone['span_frames'] == together['span_frames']
        for a, b in zip(alone['frames'], together['frames']):
            np.testing.assert_allclose(a['box_xyxy'], b['box_xyxy'], atol=1e-3)


def test_array_and_dict_inputs_match_the_file(inferencer, videos):
    reader = decord.VideoReader(videos[1])
    frames = reader.get_batch(list(range(len(reader)))).asnumpy()
    from_file = inferencer(videos[1], SENTENCES[1])['predictions'][0]
    from_array = inferencer([dict(video=frames, sentence=SENTENCES[1], fps=8.0)])
    result = from_array['predictions'][0]
    assert result['video'] == '' and result['num_frames'] == len(reader)
    assert result['span_frames'] == from_file['span_frames']
    for a, b in zip(result['frames'], from_file['frames']):
        assert a['frame_index'] == b['frame_index']
        np.testing.assert_allclose(a['box_xyxy'], b['box_xyxy'], atol=1e-4)
    samples = inferencer(videos[1], SENTENCES[1], return_datasamples=True)['predictions']
    assert isinstance(samples[0], GroundingDataSample) and 'pred_boxes' in samples[0]


def test_short_video_reports_each_frame_once(inferencer):
    # 3 frames, 4 sampled: the sampler repeats frame indices 0, 0, 1, 2
    frames = np.random.default_rng(0).integers(0, 255, (3, 24, 40, 3), dtype=np.uint8)
    result = inferencer(frames, 'the red circle', fps=2.0)['predictions'][0]
    assert [f['frame_index'] for f in result['frames']] == [0, 1, 2]
    assert [f['time'] for f in result['frames']] == [0.0, 0.5, 1.0]
    for frame in result['frames']:
        x1, y1, x2, y2 = frame['box_xyxy']
        assert 0 <= x1 <= x2 <= 40 and 0 <= y1 <= y2 <= 24


def test_image_phrase_gives_one_box(inferencer, tmp_path):
    path = str(tmp_path / 'picture.png')
    cv2.imwrite(path, np.random.default_rng(1).integers(0, 255, (30, 44, 3), np.uint8))
    result = inferencer(path, 'the red circle', out_dir=str(tmp_path))['predictions'][0]
    assert result['task'] == 'rec' and result['answer_text'] == ''
    assert (result['num_frames'], result['fps'], result['height'], result['width']) == (
        1, 1.0, 30, 44)
    assert result['span_frames'] == [0, 1] and result['span_seconds'] == [0.0, 1.0]
    assert len(result['frames']) == 1 and result['frames'][0]['in_span']
    written = cv2.imread(str(tmp_path / '0_picture.png'))
    # an image: the sentence alone as caption (no span line), no time bar under it
    visualizer = inferencer.visualizer
    assert written.shape[:2] == (
        visualizer.render_caption('the red circle', 44).shape[0] + 30
        + visualizer.footer_layout(44, time_bar=False)['height'], 44)


def test_bad_inputs_name_the_input_and_field(inferencer, videos, tmp_path):
    with pytest.raises(ValueError, match='2 inputs but 1 sentences'):
        inferencer(videos[:2], ['one'])
    with pytest.raises(ValueError, match='input 0: field "sentence" is missing'):
        inferencer(videos[0])
    with pytest.raises(FileNotFoundError, match='field "video"'):
        inferencer(str(tmp_path / 'nope.mp4'), 'x')
    with pytest.raises(ValueError, match='field "fps"'):
        inferencer(np.zeros((4, 8, 8, 3), np.uint8), 'x')


def test_prediction_to_dict_by_hand():
    sample = GroundingDataSample(metainfo=dict(
        task='stvg', sentence='a cat', video_path='v.mp4', num_frames=10, fps=4.0,
        ori_shape=(20, 30), frame_inds=np.array([0, 0, 3, 6, 9])))
    sample.pred_span_frames = torch.tensor([3, 7])
    sample.pred_span_seconds = torch.tensor([0.75, 1.75])
    sample.pred_text = 'from 0.75 to 1.75'
    sample.pred_parse_ok = True
    sample.pred_boxes = torch.tensor([[-5., 2., 10., 12.], [0., 0., 1., 1.],
                                      [20., -3., 35., 25.], [1., 1., 2., 2.],
                                      [3., 4., 5., 6.]])
    sample.pred_box_scores = torch.tensor([0.9, 0.1, 0.8, 0.7, 0.6])
    result = prediction_to_dict(sample)
    assert result['span_frames'] == [3, 7] and result['span_seconds'] == [0.75, 1.75]
    assert (result['height'], result['width'], result['video']) == (20, 30, 'v.mp4')
    frames = result['frames']
    assert [f['frame_index'] for f in frames] == [0, 3, 6, 9]  # frame 0 once
    assert [f['time'] for f in frames] == [0.0, 0.75, 1.5, 2.25]
    assert [f['in_span'] for f in frames] == [False, True, True, False]
    assert [f['score'] for f in frames] == pytest.approx([0.9, 0.8, 0.7, 0.6])
    assert frames[0]['box_xyxy'] == [0.0, 2.0, 10.0, 12.0]     # x1 clipped to 0
    assert frames[1]['box_xyxy'] == [20.0, 0.0, 30.0, 20.0]    # clipped to 30 x 20
    # a TVG sample has no boxes
    del sample.pred_boxes
    del sample.pred_box_scores
    assert all(f['box_xyxy'] is None and f['score'] is None
               for f in prediction_to_dict(sample)['frames'])


def test_shown_grid_is_capped(inferencer, monkeypatch):
    shown = []
    visualizer = inferencer.visualizer
    monkeypatch.setattr(visualizer, 'show', lambda image, **kwargs: shown.append(image))
    monkeypatch.setattr(visualizer, 'max_grid_size', 64)
    frames = np.random.default_rng(2).integers(0, 255, (6, 60, 80, 3), dtype=np.uint8)
    out = inferencer(frames, 'the red circle', fps=2.0, show=True, return_vis=True)
    drawn = out['visualization'][0]
    assert drawn.shape[2] == 80  # the returned frames stay at their own size
    assert len(shown) == 1 and max(shown[0].shape[:2]) <= 64
    # 4 frames drawn at most 28 px wide for the 2 x 2 grid (each with its caption,
    # which make_grid then shrinks to the cap)
    assert visualizer.grid_frame_width(len(drawn), 60, 80) == 28
    assert shown[0].shape[1] <= 2 * 28 + 2


def test_several_sentences_on_one_video_take_one_pass(tiny_cfg, trained_checkpoint, videos,
                                                      monkeypatch):
    """Issue 31: ``inferencer(video, [s1, s2, s3])`` answers every sentence as it is
    answered alone, with one vision pass; a follow-up sentence on the same video
    reuses the kept prefix."""
    inferencer = GroundingInferencer(tiny_cfg, trained_checkpoint, device='cpu')
    alone = [GroundingInferencer(tiny_cfg, trained_checkpoint, device='cpu',
                                 keep_last_video=False)(videos[0], s)['predictions'][0]
             for s in SENTENCES]
    frames_seen = []
    tower = inferencer.model.vision_encoder.forward

    def counting(frames, *args, **kwargs):
        frames_seen.append(frames.shape[0])
        return tower(frames, *args, **kwargs)

    monkeypatch.setattr(inferencer.model.vision_encoder, 'forward', counting)
    together = inferencer(videos[0], SENTENCES)['predictions']
    assert [r['sentence'] for r in together] == SENTENCES
    assert frames_seen == [NUM_SAMPLED]  # one video through the tower, once
    for a, b in zip(alone, together):
        check_result(b, videos[0], b['sentence'])
        assert a['answer_text'] == b['answer_text'] and a['span_frames'] == b['span_frames']
        for fa, fb in zip(a['frames'], b['frames']):
            np.testing.assert_allclose(fa['box_xyxy'], fb['box_xyxy'], atol=1e-3)
    follow_up = inferencer(videos[0], SENTENCES[1])['predictions'][0]
    assert frames_seen == [NUM_SAMPLED]  # the kept video: no second tower pass
    assert follow_up['answer_text'] == alone[1]['answer_text']
    assert inferencer.model.last_video.hits == 1
    other = inferencer(videos[1], SENTENCES[0])['predictions'][0]
    assert frames_seen == [NUM_SAMPLED, NUM_SAMPLED] and other['video'] == videos[1]


def test_samples_reach_the_model_with_prompt_pieces(tiny_cfg, trained_checkpoint, videos):
    """Issue 30: the adapted test pipeline ends with the model's
    TokenizeGroundingPrompt, so every sample (one sentence, several on one
    video: the shared path) reaches the model with its pieces; the answers
    equal the model's own tokenization (the transform dropped)."""
    from mmstvg.testing.prompt_pieces import record_prompt_pieces, without_prompt_tokenization
    inferencer = GroundingInferencer(tiny_cfg, trained_checkpoint, device='cpu')
    assert inferencer.pipeline_cfg[-1]['type'] == 'TokenizeGroundingPrompt'
    assert inferencer.pipeline_cfg[-1]['with_answer'] is False
    assert inferencer.pipeline_cfg[-2]['type'] == 'PackGroundingInputs'
    seen = record_prompt_pieces(inferencer.model)
    inputs = [(videos[0], SENTENCES[0]), (videos[1], SENTENCES[1])]
    with_pieces = [inferencer(videos[0], SENTENCES)['predictions'],
                   inferencer(inputs, batch_size=2)['predictions']]
    assert seen and all(seen)
    seen.clear()
    inferencer.pipeline = without_prompt_tokenization(inferencer.pipeline)
    inferencer.model.last_video = type(inferencer.model.last_video)()
    in_model = [inferencer(videos[0], SENTENCES)['predictions'],
                inferencer(inputs, batch_size=2)['predictions']]
    assert seen and not any(seen)
    for a, b in zip(sum(with_pieces, []), sum(in_model, [])):
        assert a['answer_text'] == b['answer_text'] and a['span_frames'] == b['span_frames']
        for fa, fb in zip(a['frames'], b['frames']):
            assert fa['box_xyxy'] == fb['box_xyxy']
