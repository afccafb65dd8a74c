"""The construction filters, the box choice and the entry writer on hand-made detections."""
import numpy as np
import pytest

from mmstvg.data_construction import (BoundaryRefinement, BoxAreaJumpFrameFilter,
                                      CandidateSample, DurationFilter, FrameDetections,
                                      MaxBoxesFrameFilter, candidate_to_hcstvg_entry,
                                      choose_boxes, fill_span_boxes)
from mmstvg.registry import CONSTRUCTION_FILTERS


def square(x, y, side, score=0.9):
    return [x, y, x + side, y + side], score


def frame(*boxes_scores):
    boxes = [b for b, _ in boxes_scores]
    scores = [s for _, s in boxes_scores]
    return FrameDetections(np.array(boxes, dtype=float).reshape(-1, 4), np.array(scores))


def candidate(detections, frame_inds=None, fps=2.0, num_frames=40):
    sample = CandidateSample(key='v.mp4', caption='c', object_phrase='the dog',
                             sentence='the dog runs', num_frames=num_frames, fps=fps,
                             height=100, width=100)
    inds = frame_inds if frame_inds is not None else 2 * np.arange(len(detections))
    sample.set_detections(inds, detections)
    return sample


def test_frame_detections_sorted_and_highest_score_chosen():
    dets = frame(square(0, 0, 10, 0.4), square(50, 50, 20, 0.8), square(5, 5, 5, 0.6))
    np.testing.assert_array_equal(dets.scores, [0.8, 0.6, 0.4])
    chosen = choose_boxes([dets, frame()], 'highest_score')
    np.testing.assert_array_equal(chosen[0], [50, 50, 70, 70])
    assert np.isnan(chosen[1]).all()


def test_max_iou_with_previous_keeps_the_identity():
    first = frame(square(0, 0, 10, 0.9), square(60, 60, 10, 0.5))
    second = frame(square(61, 61, 10, 0.9), square(1, 1, 10, 0.6))
    chosen = choose_boxes([first, second], 'max_iou_with_previous')
    np.testing.assert_array_equal(chosen, [[0, 0, 10, 10], [1, 1, 11, 11]])
    with pytest.raises(ValueError, match='box_choice'):
        choose_boxes([first], 'largest')


def test_max_boxes_drops_crowded_frames_only():
    dets = [frame(square(0, 0, 10)), frame(*[square(i, i, 10) for i in range(4)]),
            frame(*[square(i, i, 10) for i in range(3)]),
            frame(*[square(i, i, 10) for i in range(5)]), frame()]
    sample = candidate(dets)
    rule = CONSTRUCTION_FILTERS.build(dict(type='MaxBoxesFrameFilter', max_boxes=3))
    assert rule(sample) is None
    np.testing.assert_array_equal(sample.keep, [True, False, True, False, False])
    # The empty frame was never a detection: 2 frames dropped, not 3.
    assert sample.frames_dropped == {'max_boxes': 2}


def test_area_jump_compares_with_the_last_kept_frame():
    sides = [10, np.sqrt(150), 20, np.sqrt(160), np.sqrt(310), 0, np.sqrt(200)]
    # areas 100, 150, 400 (x2.67 of 150: dropped), 160 (vs 150), 310 (x1.94),
    # 0 (no area: not a detection at all), 200 (vs 310: x1.55)
    sample = candidate([frame(square(0, 0, s)) for s in sides])
    np.testing.assert_array_equal(sample.keep, [1, 1, 1, 1, 1, 0, 1])
    assert BoxAreaJumpFrameFilter(max_ratio=2.0)(sample) is None
    np.testing.assert_array_equal(sample.keep, [1, 1, 0, 1, 1, 0, 1])
    assert sample.frames_dropped == {'area_jump': 1}


def test_area_jump_of_exactly_the_ratio_is_kept_and_a_switch_drops_the_rest():
    boxes = ([0, 0, 10, 10], [0, 0, 20, 10], [0, 0, 10, 10])  # areas 100, 200, 100
    sample = candidate([frame((box, 0.9)) for box in boxes])
    BoxAreaJumpFrameFilter(max_ratio=2.0)(sample)
    assert sample.keep.all()
    # After a switch to a 4x larger object every frame of it is dropped.
    sample = candidate([frame(square(0, 0, s)) for s in (10, 10, 20, 20, 20)])
    BoxAreaJumpFrameFilter(max_ratio=2.0)(sample)
    np.testing.assert_array_equal(sample.keep, [1, 1, 0, 0, 0])


def refinement_series():
    # Sampled frames 0, 2, ..., 18 at 2 fps (1 s apart); detections on frames
    # 2, 4, 8, 16, 18; frame 12 has a detection that a filter dropped.
    present = [0, 1, 1, 0, 1, 0, 1, 0, 1, 1]
    sample = candidate([frame(square(10, 10, 10)) if p else frame() for p in present])
    sample.drop_frames(np.arange(10) == 6, 'max_boxes')
    return sample


def test_boundary_refinement_spans_the_detected_frames():
    sample = refinement_series()
    assert BoundaryRefinement()(sample) is None
    assert sample.span_frames == (2, 19)
    assert sample.frames_dropped == {'max_boxes': 1}


def test_boundary_refinement_keeps_the_longest_run():
    sample = refinement_series()
    # Kept-frame gaps: 1 s, 2 s (not > 2: same run), 4 s (split), 1 s.
    assert BoundaryRefinement(max_gap_seconds=2.0)(sample) is None
    assert sample.span_frames == (2, 9)
    np.testing.assert_array_equal(sample.kept_frame_inds(), [2, 4, 8])
    assert sample.frames_dropped == {'max_boxes': 1, 'boundary_refinement': 2}
    sample = refinement_series()
    reason = BoundaryRefinement(max_gap_seconds=2.0, min_detected_frames=4)(sample)
    assert reason == '3 detected frames in the refined span, fewer than 4'
    empty = candidate([frame(), frame()])
    assert BoundaryRefinement()(empty) == 'the object is detected on no kept frame'


def test_duration_filter_on_clip_and_span():
    sample = candidate([frame(square(0, 0, 10))] * 4, num_frames=30, fps=10.0)  # 3 s
    clip = DurationFilter(min_seconds=2, max_seconds=120)
    assert not clip.needs_detections and clip.rule == 'duration_clip'
    assert clip(sample) is None
    assert DurationFilter(min_seconds=4)(sample) == 'clip lasts 3.00 s < 4 s'
    assert DurationFilter(min_seconds=1, max_seconds=2.5)(sample) == \
        'clip lasts 3.00 s > 2.5 s'
    span = DurationFilter(min_seconds=0.5, max_seconds=0.6, measure='span')
    assert span.needs_detections and span.needs_span
    with pytest.raises(RuntimeError, match='BoundaryRefinement'):
        span(sample)
    BoundaryRefinement()(sample)  # frames 0..6 -> span [0, 7) = 0.7 s
    assert span(sample) == 'span lasts 0.70 s > 0.6 s'
    with pytest.raises(ValueError, match='measure'):
        DurationFilter(measure='video')


def test_fill_span_boxes_interpolates_and_holds():
    boxes = fill_span_boxes(np.array([2, 4]), np.array([[0, 0, 10, 10], [2, 2, 12, 12]]),
                            (1, 6), 'linear')
    np.testing.assert_allclose(boxes, [[0, 0, 10, 10], [0, 0, 10, 10], [1, 1, 11, 11],
                                       [2, 2, 12, 12], [2, 2, 12, 12]])
    nearest = fill_span_boxes(np.array([2, 4]),
                              np.array([[0, 0, 10, 10], [2, 2, 12, 12]]), (2, 5), 'nearest')
    np.testing.assert_allclose(nearest, [[0, 0, 10, 10], [0, 0, 10, 10], [2, 2, 12, 12]])


def test_hcstvg_entry_is_one_based_xywh_for_every_span_frame():
    sample = refinement_series()
    BoundaryRefinement(max_gap_seconds=2.0)(sample)
    sample.chosen_boxes[4] = [14, 14, 24, 26]  # frame 8
    entry = candidate_to_hcstvg_entry(sample)
    assert entry['st_frame'] == 3 and entry['ed_frame'] == 9  # frames [2, 9)
    assert len(entry['bbox']) == 7
    assert entry['bbox'][0] == [10, 10, 10, 10]
    assert entry['bbox'][4] == [12, 12, 10, 11]  # frame 6: halfway to frame 8
    assert entry['bbox'][6] == [14, 14, 10, 12]  # frame 8, held at the end
    assert (entry['st_time'], entry['ed_time']) == (1.0, 4.5)
    assert entry['caption'] == 'the dog runs' and entry['object'] == 'the dog'
    assert (entry['img_num'], entry['width'], entry['height'], entry['fps']) == \
        (40, 100, 100, 2.0)


def test_boxes_are_clipped_and_boxes_outside_the_frame_are_no_detections():
    sample = candidate([frame(([-10, 5, 20, 130], 0.9), ([120, 0, 150, 10], 0.8)), frame()])
    np.testing.assert_array_equal(sample.detections[0].boxes, [[0, 5, 20, 100]])
    np.testing.assert_array_equal(sample.detections[0].scores, [0.9])
    np.testing.assert_array_equal(sample.keep, [True, False])
