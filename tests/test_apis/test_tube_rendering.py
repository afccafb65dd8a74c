"""Spreading a predicted tube over every frame and drawing it into an mp4."""
import decord
import numpy as np
import torch

from mmstvg.apis import ArrayVideo, densify_tube, render_tube_video, span_caption
from mmstvg.structures import GroundingDataSample
from mmstvg.visualization import GroundingVisualizer


def test_densify_tube_interpolates_inside_the_span_and_holds_at_its_ends():
    sampled = np.array([0, 4, 4, 8, 12])
    boxes = np.array([[0, 0, 1, 1], [10, 10, 20, 20], [99, 99, 99, 99],
                      [20, 14, 40, 30], [7, 7, 7, 7]], dtype=np.float64)
    # span [3, 11): sampled frames 4 and 8 are inside (the repeat of 4 is ignored)
    out, mask = densify_tube(sampled, boxes, (3, 11), np.arange(14))
    assert mask.tolist() == [i in range(3, 11) for i in range(14)]
    np.testing.assert_allclose(out[3], [10, 10, 20, 20])   # before 4: held
    np.testing.assert_allclose(out[4], [10, 10, 20, 20])
    np.testing.assert_allclose(out[5], [12.5, 11, 25, 22.5])  # 1/4 of the way to 8
    np.testing.assert_allclose(out[8], [20, 14, 40, 30])
    np.testing.assert_allclose(out[10], [20, 14, 40, 30])  # after 8: held
    assert not out[~mask].any()
    # a span with no sampled frame in it has no tube
    out, mask = densify_tube(sampled, boxes, (5, 8), np.arange(14))
    assert not mask.any() and not out.any()


def _predicted_sample(span=(4, 10)):
    sample = GroundingDataSample(metainfo=dict(
        task='stvg', sentence='the box', sample_id='s0', video_id='v0', num_frames=12,
        fps=4.0, duration=3.0, ori_shape=(48, 64), frame_inds=np.array([1, 4, 7, 10]),
        frame_times=np.array([1, 4, 7, 10]) / 4.0))
    sample.pred_span_frames = torch.tensor(span)
    sample.pred_span_seconds = torch.tensor([span[0] / 4.0, span[1] / 4.0])
    sample.pred_parse_ok = True
    sample.pred_boxes = torch.tensor([[8., 8., 40., 36.]] * 4)
    sample.pred_box_scores = torch.ones(4)
    sample.pred_box_mask = torch.tensor([False, True, True, False])
    return sample


def _redness(frames):
    frames = frames.astype(np.float64)
    return frames[..., 0] - (frames[..., 1] + frames[..., 2]) / 2


def test_render_tube_video_draws_the_box_on_span_frames_only(tmp_path):
    frames = np.full((12, 48, 64, 3), 128, np.uint8)
    sample = _predicted_sample()
    visualizer = GroundingVisualizer(name='render_test', line_width=3)
    out_file = str(tmp_path / 'tube.mp4')
    boxes = sample.pred_boxes.numpy()
    written = render_tube_video(ArrayVideo(frames, 4.0), sample, visualizer, out_file,
                                boxes, all_frames=True)
    assert written == 12
    video = decord.VideoReader(out_file)
    assert len(video) == 12
    decoded = video.get_batch(list(range(12))).asnumpy()
    caption_h = visualizer.render_caption(span_caption('the box', (1.0, 2.5)), 64).shape[0]
    frame_part = decoded[:, caption_h:caption_h + 48]
    # the 3 px outline inside [8, 40) x [8, 36): rows 8..10, columns 8..10
    outline = _redness(frame_part[:, 8:11, 12:36]).mean(axis=(1, 2))
    inside = _redness(frame_part[:, 16:28, 16:32]).mean(axis=(1, 2))
    in_span = np.arange(12) >= 4
    in_span &= np.arange(12) < 10
    assert (outline[in_span] > 150).all(), outline  # red (255, 0, 0) after the codec
    assert (np.abs(outline[~in_span]) < 20).all(), outline  # grey background
    assert (np.abs(inside) < 20).all()  # an outline, not a filled box
    # the sampled-frames-only video has the 4 sampled frames; two in the span
    written = render_tube_video(ArrayVideo(frames, 4.0), sample, visualizer,
                                str(tmp_path / 'sampled.mp4'), boxes, all_frames=False)
    sampled = decord.VideoReader(str(tmp_path / 'sampled.mp4'))
    assert written == len(sampled) == 4
    decoded = sampled.get_batch([0, 1, 2, 3]).asnumpy()[:, caption_h:caption_h + 48]
    outline = _redness(decoded[:, 8:11, 12:36]).mean(axis=(1, 2))
    assert (outline[[1, 2]] > 150).all() and (np.abs(outline[[0, 3]]) < 20).all()


def test_span_caption():
    assert span_caption('a dog', (1.0, 2.25)) == 'a dog\nspan: 1.00s - 2.25s'
    assert span_caption('a dog', (0.0, 0.0), False) == 'a dog\nspan: (no parsable answer)'
