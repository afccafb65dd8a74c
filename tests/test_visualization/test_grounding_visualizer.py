"""GroundingVisualizer: exact pixels of drawn tubes, footers, grids, videos."""
import os.path as osp
import time

import cv2
import decord
import numpy as np
import pytest
import torch

from mmstvg.registry import VISUALIZERS
from mmstvg.structures import GroundingDataSample
from mmstvg.visualization import GroundingVisualizer

GREEN = (0, 255, 0)
RED = (255, 0, 0)
_COUNTER = [0]


def make_visualizer(**kwargs) -> GroundingVisualizer:
    """A fresh instance (MMEngine keeps instances by name)."""
    _COUNTER[0] += 1
    return VISUALIZERS.build(
        dict(type='GroundingVisualizer', name=f'vis_test_{_COUNTER[0]}', **kwargs))


def outline(canvas, frame, x1, y1, x2, y2, color, width=1):
    """Paint the expected inward outline of [x1, x2) x [y1, y2) by hand."""
    canvas[frame, y1:y1 + width, x1:x2] = color
    canvas[frame, y2 - width:y2, x1:x2] = color
    canvas[frame, y1:y2, x1:x1 + width] = color
    canvas[frame, y1:y2, x2 - width:x2] = color


def black_frames(height=48, width=64, num=4):
    return np.zeros((num, height, width, 3), np.uint8)


def expected_original_size(width=1):
    """GT on frames 1, 2 and prediction on frames 2, 3, at original pixels."""
    expected = black_frames()
    for frame in (1, 2):
        outline(expected, frame, 10, 8, 30, 24, GREEN, width)
    for frame in (2, 3):
        outline(expected, frame, 36, 20, 56, 40, RED, width)
    return expected


def test_boxes_exact_pixels_at_original_size(stvg_sample):
    vis = make_visualizer(line_width=1)
    drawn = vis.draw_frames(black_frames(), stvg_sample(), show_text=False)
    assert drawn.shape == (4, 48, 64, 3) and drawn.dtype == np.uint8
    assert np.array_equal(drawn, expected_original_size(1))
    # Spot checks of the hand-made expectation itself.
    assert tuple(drawn[1, 8, 10]) == GREEN and tuple(drawn[1, 23, 29]) == GREEN
    assert tuple(drawn[1, 8, 30]) == (0, 0, 0)  # x2 is exclusive
    assert tuple(drawn[0, 8, 10]) == (0, 0, 0)  # GT row 0 is unmasked
    assert tuple(drawn[3, 8, 10]) == (0, 0, 0)  # GT row 3 is unmasked
    assert tuple(drawn[2, 20, 36]) == RED and tuple(drawn[2, 39, 55]) == RED
    assert tuple(drawn[1, 20, 36]) == (0, 0, 0)  # pred row 1 is unmasked
    assert tuple(drawn[2, 15, 20]) == (0, 0, 0)  # box insides stay untouched


def test_line_width_draws_inward_and_flags_select_tubes(stvg_sample):
    vis = make_visualizer(line_width=2)
    drawn = vis.draw_frames(black_frames(), stvg_sample(), show_text=False)
    assert np.array_equal(drawn, expected_original_size(2))
    assert tuple(drawn[1, 9, 15]) == GREEN and tuple(drawn[1, 22, 15]) == GREEN
    assert tuple(drawn[1, 7, 15]) == (0, 0, 0)

    gt_only = vis.draw_frames(black_frames(), stvg_sample(), draw_pred=False,
                              show_text=False)
    assert not (gt_only == np.array(RED, np.uint8)).all(-1).any()
    assert (gt_only == np.array(GREEN, np.uint8)).all(-1).sum() == 2 * (
        2 * 20 * 2 + 2 * (16 - 4) * 2)
    pred_only = vis.draw_frames(black_frames(), stvg_sample(), draw_gt=False,
                                show_text=False)
    assert not (pred_only == np.array(GREEN, np.uint8)).all(-1).any()


def test_tensor_frames_match_numpy_frames_and_input_is_untouched(stvg_sample):
    vis = make_visualizer(line_width=1)
    tensor = torch.zeros(4, 3, 48, 64, dtype=torch.uint8)
    drawn = vis.draw_frames(tensor, stvg_sample(), show_text=False)
    assert np.array_equal(drawn, expected_original_size(1))
    assert tensor.sum() == 0


def test_resized_and_padded_frames_scale_boxes(stvg_sample):
    """96 x 128 resized frames padded to 100 x 132: boxes at doubled pixels."""
    vis = make_visualizer(line_width=1)
    sample = stvg_sample(img_shape=(96, 128), pad_shape=(100, 132))
    for height, width in ((96, 128), (100, 132)):
        drawn = vis.draw_frames(
            torch.zeros(4, 3, height, width, dtype=torch.uint8), sample,
            show_text=False)
        expected = black_frames(height, width)
        for frame in (1, 2):
            outline(expected, frame, 20, 16, 60, 48, GREEN)
        for frame in (2, 3):
            outline(expected, frame, 72, 40, 112, 80, RED)
        assert np.array_equal(drawn, expected)
    assert vis.box_scale((100, 132), sample) == (2.0, 2.0)
    # Non-uniform resize (e.g. keep_ratio=False): per-axis factors.
    assert vis.box_scale((96, 96), stvg_sample(img_shape=(96, 96))) == (1.5, 2.0)


def test_bad_input_names_sample_and_field(stvg_sample):
    vis = make_visualizer()
    with pytest.raises(ValueError, match=r"vid_a#0.*neither ori_shape"):
        vis.draw_frames(black_frames(50, 70), stvg_sample(), show_text=False)
    with pytest.raises(ValueError, match=r"vid_a#0.*uint8"):
        vis.draw_frames(np.zeros((4, 48, 64, 3), np.float32), stvg_sample())
    with pytest.raises(ValueError, match=r"vid_a#0.*frame_inds"):
        vis.draw_frames(black_frames(num=3), stvg_sample())
    sample = stvg_sample()
    sample.pred_boxes = torch.zeros(3, 4)
    sample.set_metainfo(dict(frame_inds=np.array([0, 4, 8, 12])))
    with pytest.raises(ValueError, match=r"vid_a#0.*pred_boxes has 3 rows"):
        vis.draw_frames(black_frames(), sample, show_text=False)


def test_footer_time_bar_and_span_flags(stvg_sample):
    """Footer under each frame: GT span upper half, pred lower half, tick."""
    vis = make_visualizer(line_width=1)
    sample = stvg_sample(img_shape=(192, 256))
    frames = torch.zeros(4, 3, 192, 256, dtype=torch.uint8)
    drawn = vis.draw_frames(frames, sample, show_sentence=False)
    layout = vis.footer_layout(256)
    assert layout['height'] % 2 == 0
    assert drawn.shape == (4, 192 + layout['height'], 256, 3)
    # The frames themselves are what show_text=False draws.
    plain = vis.draw_frames(frames, sample, show_text=False)
    assert np.array_equal(drawn[:, :192], plain)

    footer = drawn[:, 192:]
    margin, top, bar_h = layout['margin'], layout['bar_top'], layout['bar_h']
    length = 256 - 2 * margin

    def column(frame_index):  # original frame index -> bar column, by hand
        return margin + int(round(frame_index / 16 * length))

    upper, lower = top, top + bar_h - 1
    gt_mid, pred_only, before = column(6), column(14), column(2)
    # Frame 0 (t = 0 s) has its tick at column(0): spans show everywhere else.
    assert tuple(footer[0, upper, gt_mid]) == GREEN
    assert tuple(footer[0, lower, gt_mid]) == (90, 90, 90)  # pred not yet
    assert tuple(footer[0, lower, pred_only]) == RED
    assert tuple(footer[0, upper, pred_only]) == (90, 90, 90)  # GT over
    assert tuple(footer[0, upper, before]) == (90, 90, 90)
    assert tuple(footer[0, upper, column(4)]) == GREEN  # GT starts at frame 4
    assert tuple(footer[0, upper, column(4) - 1]) == (90, 90, 90)
    assert tuple(footer[0, upper, column(12) - 1]) == GREEN  # ends before 12
    assert tuple(footer[0, upper, column(12)]) == (90, 90, 90)
    # The white tick marks each frame's own time: 0, 4, 8, 12 -> columns.
    for k, frame_index in enumerate((0, 4, 8, 12)):
        for row in (upper, lower):
            assert tuple(footer[k, row, column(frame_index)]) == (255, 255, 255)
        assert tuple(footer[(k + 1) % 4, upper, column(frame_index)]) != (
            255, 255, 255)

    # Label row: "GT" is green on frames 1, 2 (in span), grey elsewhere;
    # "Pred" is red on frames 2, 3.
    labels = footer[:, :layout['label_h']].astype(int)
    greenish = (labels[..., 1] > 150) & (labels[..., 0] < 100)
    reddish = (labels[..., 0] > 150) & (labels[..., 1] < 100)
    assert [bool(greenish[k].any()) for k in range(4)] == [False, True, True, False]
    assert [bool(reddish[k].any()) for k in range(4)] == [False, False, True, True]


def test_caption_wraps_sentence_above_frames(stvg_sample):
    vis = make_visualizer(max_caption_lines=3, font_scale=0.4)
    one_line = vis.render_caption('a ball', 64)
    long_text = ' '.join(['word'] * 60)
    three_lines = vis.render_caption(long_text, 64)
    assert one_line.shape[1] == three_lines.shape[1] == 64
    assert one_line.shape[0] < three_lines.shape[0] <= 3 * one_line.shape[0]
    assert (one_line > 200).any()  # white text was drawn

    sample = stvg_sample()
    with_caption = vis.draw_frames(black_frames(), sample)
    without = vis.draw_frames(black_frames(), sample, show_sentence=False)
    caption = vis.render_caption(sample.sentence, 64)
    caption_h = caption.shape[0]
    assert with_caption.shape[1] == without.shape[1] + caption_h
    assert np.array_equal(with_caption[:, caption_h:], without)
    for k in range(4):
        assert np.array_equal(with_caption[k, :caption_h], caption)


def test_make_grid_places_cells_row_by_row():
    vis = make_visualizer(grid_gap=2)
    frames = np.stack([np.full((4, 5, 3), 10 * (k + 1), np.uint8) for k in range(3)])
    grid = vis.make_grid(frames, ncols=2)
    assert grid.shape == (4 + 2 + 4, 5 + 2 + 5, 3)
    assert (grid[0:4, 0:5] == 10).all() and (grid[0:4, 7:12] == 20).all()
    assert (grid[6:10, 0:5] == 30).all()
    assert (grid[6:10, 7:12] == 0).all()  # no fourth frame: black
    assert (grid[4:6] == 255).all() and (grid[:, 5:7] == 255).all()  # gaps
    square = vis.make_grid(np.zeros((5, 4, 5, 3), np.uint8))  # ceil(sqrt(5)) = 3
    assert square.shape == (2 * 4 + 2, 3 * 5 + 2 * 2, 3)
    captioned = vis.make_grid(frames, ncols=2, caption='hello')
    assert captioned.shape[0] == grid.shape[0] + vis.render_caption(
        'hello', grid.shape[1]).shape[0]
    assert np.array_equal(captioned[-grid.shape[0]:], grid)


def test_write_video_reads_back_with_decord(tmp_path, stvg_sample):
    vis = make_visualizer(line_width=3)
    drawn = vis.draw_frames(black_frames(), stvg_sample(), show_text=False)
    out_file = str(tmp_path / 'sub' / 'tube.mp4')
    vis.write_video(drawn, out_file, fps=4)
    reader = decord.VideoReader(out_file)
    assert len(reader) == 4
    assert reader.get_avg_fps() == pytest.approx(4.0)
    video = reader.get_batch(range(4)).asnumpy().astype(int)
    assert video.shape == (4, 48, 64, 3)

    def close(pixel, color, tol=70):
        return np.abs(pixel - np.array(color)).max() <= tol

    # Middle of the GT top edge (rows 8..10, column 20) on frames 1, 2 only.
    assert close(video[1, 9, 20], GREEN) and close(video[2, 9, 20], GREEN)
    assert close(video[0, 9, 20], (0, 0, 0)) and close(video[3, 9, 20], (0, 0, 0))
    # Middle of the predicted left edge (columns 36..38, row 30) on 2, 3 only.
    assert close(video[2, 30, 37], RED) and close(video[3, 30, 37], RED)
    assert close(video[1, 30, 37], (0, 0, 0))


def test_write_video_pads_odd_sizes(tmp_path):
    out_file = str(tmp_path / 'odd.mp4')
    GroundingVisualizer.write_video(np.full((3, 47, 63, 3), 128, np.uint8),
                                    out_file, fps=2)
    reader = decord.VideoReader(out_file)
    assert len(reader) == 3 and reader[0].shape == (48, 64, 3)


def test_add_datasample_writes_png_grid(tmp_path, stvg_sample):
    vis = make_visualizer(line_width=1, grid_gap=2)
    sample = stvg_sample()
    out_file = str(tmp_path / 'out' / 'sample.png')
    vis.add_datasample('sample', black_frames(), sample, out_file=out_file)
    written = cv2.imread(out_file)[..., ::-1]
    frames = vis.draw_frames(black_frames(), sample, show_sentence=False)
    caption_h = vis.render_caption(sample.sentence, 2 * 64 + 2).shape[0]
    cell_h = frames.shape[1]
    assert written.shape == (caption_h + 2 * cell_h + 2, 2 * 64 + 2, 3)
    # Frame 1 sits in cell (0, 1): its GT top-left corner is at (8, 10).
    assert tuple(written[caption_h + 8, 64 + 2 + 10]) == GREEN
    # Frame 2 sits in cell (1, 0): GT and prediction.
    assert tuple(written[caption_h + cell_h + 2 + 8, 10]) == GREEN
    assert tuple(written[caption_h + cell_h + 2 + 20, 36]) == RED
    # Frame 0 (cell (0, 0)) has no box.
    assert tuple(written[caption_h + 8, 10]) == (0, 0, 0)


def test_add_datasample_writes_mp4_with_sentence(tmp_path, stvg_sample):
    vis = make_visualizer(line_width=3)
    sample = stvg_sample()
    out_file = str(tmp_path / 'sample.mp4')
    vis.add_datasample('sample', torch.zeros(4, 3, 48, 64, dtype=torch.uint8),
                       sample, out_file=out_file)
    expected = vis.draw_frames(black_frames(), sample)  # caption + frame + footer
    reader = decord.VideoReader(out_file)
    assert len(reader) == 4
    assert reader[0].shape == expected.shape[1:]
    # Real time: 4 sampled frames over a 4 s video -> 1 fps.
    assert reader.get_avg_fps() == pytest.approx(1.0)


def test_add_datasample_sends_grid_to_backends(tmp_path, stvg_sample):
    vis = make_visualizer(
        vis_backends=[dict(type='LocalVisBackend')], save_dir=str(tmp_path))
    vis.add_datasample('val_sample', black_frames(), stvg_sample(), step=3)
    saved = tmp_path / 'vis_data' / 'vis_image' / 'val_sample_3.png'
    assert saved.is_file()
    grid = vis.make_grid(
        vis.draw_frames(black_frames(), stvg_sample(), show_sentence=False),
        caption=stvg_sample().sentence)
    assert cv2.imread(str(saved)).shape == grid.shape
    with pytest.raises(ValueError, match=r'x\.gif.*unknown extension'):
        vis.add_datasample('bad', black_frames(), stvg_sample(),
                           out_file=str(tmp_path / 'x.gif'))
    assert not osp.exists(tmp_path / 'x.gif')


def test_sample_without_predictions_or_boxes(stvg_sample):
    """A TVG-like sample (spans only) and a GT-only sample draw fine."""
    vis = make_visualizer(line_width=1)
    sample = stvg_sample()
    for key in ('pred_boxes', 'pred_box_mask', 'pred_box_scores',
                'pred_span_frames', 'pred_span_seconds'):
        delattr(sample, key)
    drawn = vis.draw_frames(black_frames(), sample, show_text=False)
    expected = black_frames()
    for frame in (1, 2):
        outline(expected, frame, 10, 8, 30, 24, GREEN)
    assert np.array_equal(drawn, expected)
    for key in ('gt_boxes', 'gt_box_mask'):
        delattr(sample, key)
    with_text = vis.draw_frames(black_frames(), sample, show_sentence=False)
    assert (with_text[:, :48] == 0).all()
    assert with_text.shape[1] == 48 + vis.footer_layout(64)['height']


def test_draw_64_frames_of_384_px_is_fast(stvg_sample):
    vis = make_visualizer()
    num = 64
    sample = stvg_sample(
        ori_shape=(360, 480), img_shape=(288, 384), num_frames=320,
        frame_inds=np.arange(num) * 5, frame_times=np.arange(num) * 5 / 25.0)
    sample.gt_boxes = torch.tensor([[10.0, 20.0, 200.0, 300.0]] * num)
    sample.gt_box_mask = torch.ones(num, dtype=torch.bool)
    sample.pred_boxes = torch.tensor([[30.0, 40.0, 220.0, 330.0]] * num)
    sample.pred_box_mask = torch.ones(num, dtype=torch.bool)
    sample.pred_box_scores = torch.full((num, ), 0.5)
    frames = torch.zeros(num, 3, 384, 384, dtype=torch.uint8)
    vis.draw_frames(frames[:4], stvg_sample(img_shape=(96, 96)))  # warm fonts
    start = time.perf_counter()
    drawn = vis.draw_frames(frames, sample)
    elapsed = time.perf_counter() - start
    assert drawn.shape[0] == num and drawn.shape[2] == 384
    # Scale 0.8: the GT box's left edge x = 10 * 0.8 = 8 on every frame.
    assert (drawn[:, 200, 8] == np.array(GREEN, np.uint8)).all()
    assert elapsed < 1.0, f'drawing 64 frames took {elapsed:.2f} s'


def test_rec_image_is_a_one_frame_video():
    """An image (H, W, 3) with one GT box and one predicted box."""
    vis = make_visualizer(line_width=1)
    sample = GroundingDataSample(metainfo=dict(
        task='rec', sample_id='img.jpg#3', sentence='left dog', ori_shape=(20, 30),
        num_frames=1, fps=1.0, frame_inds=np.array([0])))
    sample.gt_span_frames = torch.tensor([0, 1])
    sample.gt_boxes = torch.tensor([[2.0, 3.0, 12.0, 9.0]])
    sample.gt_box_mask = torch.tensor([True])
    sample.pred_boxes = torch.tensor([[14.0, 10.0, 29.6, 19.4]])  # rounds to 30, 19
    sample.pred_box_mask = torch.tensor([True])
    drawn = vis.draw_frames(np.zeros((20, 30, 3), np.uint8), sample, show_text=False)
    expected = np.zeros((1, 20, 30, 3), np.uint8)
    outline(expected, 0, 2, 3, 12, 9, GREEN)
    outline(expected, 0, 14, 10, 30, 19, RED)
    assert np.array_equal(drawn, expected)
