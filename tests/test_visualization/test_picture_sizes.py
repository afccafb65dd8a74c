"""Pictures that read at any size: the span in the caption, capped grids, images."""
import cv2
import numpy as np

from mmstvg.apis import span_caption
from mmstvg.utils import safe_file_stem
from mmstvg.visualization import GroundingVisualizer
from mmstvg.visualization.drawing import BAR_BASE, text_metrics, wrap_text


def test_span_line_survives_a_tiny_frame_and_a_long_sentence():
    width = 32
    caption = span_caption(' '.join(['sentence'] * 30), (1.0, 2.25))
    vis = GroundingVisualizer(name='picture_sizes_caption', max_caption_lines=2)
    band = vis.render_caption(caption, width)
    scale, line_h, _, pad = text_metrics(width)
    span_lines = wrap_text('span: 1.00s - 2.25s', width - 2 * pad, scale)
    # every character of the span is drawn, cut between characters where needed
    assert ''.join(span_lines).replace(' ', '') == 'span:1.00s-2.25s'
    assert all(cv2.getTextSize(line, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0]
               <= width - 2 * pad for line in span_lines)
    # 2 sentence lines (the second ends in "...") plus the span's lines
    rows = 2 + len(span_lines)
    assert band.shape == (rows * (line_h + pad) + pad + (rows * (line_h + pad) + pad) % 2,
                          width, 3)
    for row in range(2, rows):  # white caption pixels in each span line's strip
        strip = band[pad + row * (line_h + pad):pad + row * (line_h + pad) + line_h]
        assert (strip > 200).any(), row


def test_grid_of_large_frames_is_capped_and_drawn_small(stvg_sample):
    # 4 frames of 240 x 320 (boxes scaled from the sample's 48 x 64)
    sample = stvg_sample(ori_shape=(240, 320))
    frames = np.zeros((4, 240, 320, 3), np.uint8)
    uncapped = GroundingVisualizer(name='picture_sizes_free', max_grid_size=None)
    assert uncapped.make_grid(uncapped.draw_frames(frames, sample)).shape[1] == 2 * 320 + 2
    vis = GroundingVisualizer(name='picture_sizes_cap', max_grid_size=256)
    width = vis.grid_frame_width(4, 240, 320)
    # 2 x 2 cells of at most 127 px: min(127 / 320, 127 / (240 + 34 px footer)) * 320
    assert width == 127
    drawn = vis.draw_frames(frames, sample, max_width=width)
    assert drawn.shape[2] == 127 and drawn.shape[1] >= 95  # 240 * 127 / 320 + text
    grid = vis.make_grid(drawn, caption=sample.sentence)
    assert max(grid.shape[:2]) <= 256
    # a 4K video: 16 frames of 2160 x 3840 are drawn 1022 px wide, 4 a row
    # ((4096 - 3 * 2) / 4 = 1022.5; the height allows 1022.5 / (2160 + 84) * 3840)
    assert GroundingVisualizer(name='picture_sizes_4k').grid_frame_width(16, 2160, 3840) == 1022


def test_image_footer_has_no_time_bar(stvg_sample):
    vis = GroundingVisualizer(name='picture_sizes_rec')
    video = stvg_sample()
    image = stvg_sample(task='rec', num_frames=1, frame_inds=np.array([0]),
                        frame_times=np.array([0.0]))
    for key in ('gt_boxes', 'pred_boxes'):
        image.set_field(video.get(key)[:1], key)
    image.gt_box_mask = image.pred_box_mask = np.array([True])
    image.pred_box_scores = np.array([0.9])
    frame = np.zeros((1, 48, 64, 3), np.uint8)
    drawn = vis.draw_frames(frame, image, show_sentence=False)
    footer = drawn[0, 48:]
    assert footer.shape[0] == vis.footer_layout(64, time_bar=False)['height']
    assert footer.shape[0] < vis.footer_layout(64)['height']
    def bar_columns(part):  # the widest run of the bar's grey in a row
        return int((part == np.array(BAR_BASE, np.uint8)).all(-1).sum(axis=1).max())

    assert bar_columns(footer) < 10  # no bar (a few anti-aliased text pixels at most)
    video_footer = vis.draw_frames(np.zeros((4, 48, 64, 3), np.uint8), video,
                                   show_sentence=False)[0, 48:]
    assert bar_columns(video_footer) > 20  # the bar outside both spans


def test_file_stems_have_no_hash_or_separators():
    assert safe_file_stem('synth_train_00000.mp4#0') == 'synth_train_00000.mp4_0'
    assert safe_file_stem('dir/clip 1#2') == 'dir_clip_1_2'
    assert safe_file_stem('0:video') == '0_video'
    assert safe_file_stem('##') == 'sample'
