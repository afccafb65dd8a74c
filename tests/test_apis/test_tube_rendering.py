"""Spreading a predicted tube over every frame and drawing it into an mp4; several
sentences' tubes on one video, each in its colour."""
import decord
import numpy as np
import torch

from mmstvg.apis import (ArrayVideo, densify_tube, draw_tubes, render_tube_video,
                         render_tubes_video, sentence_color, span_caption)
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


def _blueness(frames):
    frames = frames.astype(np.float64)
    return frames[..., 2] - (frames[..., 0] + frames[..., 1]) / 2


def _two_sentences():
    """Sentence 0 (red): span [4, 10), box [8, 8, 40, 36); sentence 1 (blue):
    span [0, 6), box [20, 24, 60, 44), no box scores."""
    first = _predicted_sample((4, 10))
    second = _predicted_sample((0, 6))
    second.pred_boxes = torch.tensor([[20., 24., 60., 44.]] * 4)
    del second.pred_box_scores
    return first, second


def test_draw_tubes_draws_each_sentence_in_its_colour_with_a_footer_each():
    frames = np.full((12, 48, 64, 3), 128, np.uint8)
    first, second = _two_sentences()
    visualizer = GroundingVisualizer(name='draw_tubes_test', line_width=2)
    boxes = [first.pred_boxes.numpy(), second.pred_boxes.numpy()]
    drawn = draw_tubes(frames, np.arange(12), [first, second], boxes, visualizer,
                       min_width=128)  # enlarged x 2: boxes at twice their pixels
    footer_h = visualizer.footer_layout(128)['height']
    assert drawn.shape == (12, 96 + 2 * footer_h, 128, 3)
    assert (frames == 128).all()  # the input is untouched
    pixels = drawn[:, :96].astype(np.int64)
    assert sentence_color(0) == (255, 0, 0) and sentence_color(1) == (0, 110, 255)
    # sentence 0's top edge (rows 16, 17; columns 16..79) is red exactly in its span
    red_edge = (pixels[:, 16:18, 20:36] == (255, 0, 0)).all(axis=(1, 2, 3))
    assert red_edge.tolist() == [4 <= k < 10 for k in range(12)]
    # sentence 1's bottom edge (rows 86, 87; columns 40..119), blue in [0, 6)
    blue_edge = (pixels[:, 86:88, 84:116] == (0, 110, 255)).all(axis=(1, 2, 3))
    assert blue_edge.tolist() == [k < 6 for k in range(12)]
    # where the two boxes cross, the later sentence is drawn over the earlier one
    assert (pixels[5, 48:50, 48:50] == (0, 110, 255)).all()
    # wider frames are shrunk: at half size sentence 0's top edge is row 4
    small = draw_tubes(frames, np.arange(12), [first, second], boxes, visualizer,
                       max_width=32)
    assert small.shape == (12, 24 + 2 * visualizer.footer_layout(32)['height'], 32, 3)
    assert (small[5, 4:6, 5:19] == (255, 0, 0)).all()
    # one footer per sentence, in order: its time bar holds its span in its colour
    layout = visualizer.footer_layout(128)
    bar_rows = slice(layout['bar_top'] + layout['bar_h'] // 2,
                     layout['bar_top'] + layout['bar_h'])
    for k, (start, end) in enumerate(((4, 10), (0, 6))):
        footer = drawn[11, 96 + k * footer_h:96 + (k + 1) * footer_h]  # tick at 11
        row = footer[bar_rows][0]
        coloured = np.flatnonzero((row == sentence_color(k)).all(axis=1))
        margin = layout['margin']
        bar_w = 128 - 2 * margin
        assert coloured.min() == margin + round(start / 12 * bar_w)
        assert coloured.max() == margin + round(end / 12 * bar_w) - 1


def test_render_tubes_video_writes_every_frame_in_a_browser_codec(tmp_path):
    frames = np.full((12, 48, 64, 3), 128, np.uint8)
    first, second = _two_sentences()
    visualizer = GroundingVisualizer(name='render_tubes_test', line_width=3)
    out_file = str(tmp_path / 'tubes.webm')
    written = render_tubes_video(ArrayVideo(frames, 4.0), [first, second], visualizer,
                                 out_file, [first.pred_boxes.numpy(),
                                            second.pred_boxes.numpy()],
                                 fourcc='VP80', chunk_size=5)
    video = decord.VideoReader(out_file)
    assert written == len(video) == 12
    assert video.get_avg_fps() == 4.0
    decoded = video.get_batch(list(range(12))).asnumpy()
    footer_h = visualizer.footer_layout(64)['height']
    assert decoded.shape[1:3] == (48 + 2 * footer_h, 64)
    red = _redness(decoded[:, 8:11, 12:36]).mean(axis=(1, 2))
    blue = _blueness(decoded[:, 41:44, 24:56]).mean(axis=(1, 2))
    in_first = np.array([4 <= k < 10 for k in range(12)])
    in_second = np.arange(12) < 6
    assert (red[in_first] > 150).all() and (np.abs(red[~in_first]) < 20).all(), red
    assert (blue[in_second] > 120).all() and (np.abs(blue[~in_second]) < 20).all(), blue
    # samples of different videos are refused
    other = _predicted_sample()
    other.set_metainfo(dict(num_frames=20))
    try:
        render_tubes_video(ArrayVideo(frames, 4.0), [first, other], visualizer,
                           str(tmp_path / 'bad.webm'), [None, None])
    except ValueError as error:
        assert 'differ in frame count' in str(error)
    else:
        raise AssertionError('samples of two videos were drawn on one')
