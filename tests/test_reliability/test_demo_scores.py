"""Issue 32: the demo labelled every in-span frame "Pred 1.00" whatever the
model's box scores; the drawn footer now carries the real per-frame scores."""
import numpy as np
import pytest
import torch

from mmstvg.apis import ArrayVideo, render_tube_video, tube_sample_for_frames
from mmstvg.structures import GroundingDataSample
from mmstvg.visualization import GroundingVisualizer

SCORES = [0.02, 0.89, 0.5, 0.3]  # of sampled frames 1, 4, 7, 10


def _sample(scores=SCORES):
    sample = GroundingDataSample(metainfo=dict(
        task='stvg', sentence='the box', sample_id='s0', video_id='v0', num_frames=12,
        fps=4.0, duration=3.0, ori_shape=(48, 64), frame_inds=np.array([1, 4, 7, 10]),
        frame_times=np.array([1, 4, 7, 10]) / 4.0))
    sample.pred_span_frames = torch.tensor([4, 10])
    sample.pred_span_seconds = torch.tensor([1.0, 2.5])
    sample.pred_parse_ok = True
    sample.pred_boxes = torch.tensor([[8., 8., 40., 36.]] * 4)
    if scores is not None:
        sample.pred_box_scores = torch.tensor(scores)
    sample.pred_box_mask = torch.tensor([False, True, True, False])
    return sample


def _drawn_scores(tmp_path, sample, all_frames):
    visualizer = GroundingVisualizer(name=f'scores_{all_frames}_{id(sample)}')
    seen = {}
    draw = visualizer.draw_frames

    def spy(frames, drawn, **kwargs):
        scores = drawn.get('pred_box_scores')
        for k, index in enumerate(drawn.metainfo['frame_inds'].tolist()):
            seen[index] = None if scores is None else float(scores[k])
        return draw(frames, drawn, **kwargs)

    visualizer.draw_frames = spy
    render_tube_video(ArrayVideo(np.full((12, 48, 64, 3), 128, np.uint8), 4.0), sample,
                      visualizer, str(tmp_path / f'{all_frames}.mp4'),
                      sample.pred_boxes.numpy(), all_frames=all_frames, chunk_size=5)
    return seen


def test_sampled_frames_show_their_own_scores(tmp_path):
    seen = _drawn_scores(tmp_path, _sample(), all_frames=False)
    assert seen == pytest.approx({1: 0.02, 4: 0.89, 7: 0.5, 10: 0.3})


def test_every_frame_shows_the_interpolated_score(tmp_path):
    seen = _drawn_scores(tmp_path, _sample(), all_frames=True)
    assert seen[4] == pytest.approx(0.89) and seen[7] == pytest.approx(0.5)
    assert seen[5] == pytest.approx(0.89 + (0.5 - 0.89) / 3)
    assert seen[9] == pytest.approx(0.5)  # after the span's last sampled frame: held
    assert all(seen[i] != pytest.approx(1.0) for i in range(4, 10))


def test_no_scores_no_score_drawn(tmp_path):
    seen = _drawn_scores(tmp_path, _sample(scores=None), all_frames=True)
    assert set(seen.values()) == {None}
    drawn = tube_sample_for_frames(_sample(None), np.array([4]), np.zeros((1, 4)),
                                   np.array([True]), 'caption')
    assert drawn.get('pred_box_scores') is None
    with pytest.raises(ValueError, match='3 box scores for 1 frames'):
        tube_sample_for_frames(_sample(), np.array([4]), np.zeros((1, 4)),
                               np.array([True]), 'caption', scores=[0.1, 0.2, 0.3])
