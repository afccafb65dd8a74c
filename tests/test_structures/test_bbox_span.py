import numpy as np
import pytest
import torch

from mmstvg.structures import (denormalize_boxes, frames_in_span, frames_to_seconds,
                               normalize_boxes, paired_box_iou, seconds_to_frames,
                               span_iou, xywh_to_xyxy)


def test_xywh_to_xyxy():
    assert xywh_to_xyxy(np.array([[10, 20, 30, 40]])).tolist() == [[10, 20, 40, 60]]
    assert xywh_to_xyxy(torch.tensor([[1., 2., 3., 4.]])).tolist() == [[1, 2, 4, 6]]


def test_normalize_round_trip():
    boxes = torch.tensor([[16., 12., 48., 36.]])  # in a 48 x 64 (h x w) frame
    norm = normalize_boxes(boxes, (48, 64))
    assert norm.tolist() == [[0.5, 0.5, 0.5, 0.5]]
    assert torch.allclose(denormalize_boxes(norm, (48, 64)), boxes)


def test_paired_box_iou_values():
    a = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 0, 0]])
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 0, 0]])
    # identical; half-overlapping (50 / 150); disjoint; both empty.
    assert paired_box_iou(a, b) == pytest.approx([1.0, 1 / 3, 0.0, 0.0])
    assert paired_box_iou(a[:1], np.array([[np.nan, 0, 10, 10]])) == pytest.approx([0.0])


def test_span_iou_and_conversions():
    assert span_iou(np.array([[0, 10], [0, 10], [5, 15], [8, 2]]),
                    np.array([[0, 10], [10, 20], [0, 10], [0, 10]])) == pytest.approx(
                        [1.0, 0.0, 1 / 3, 0.0])
    assert frames_to_seconds((5, 25), 10.0) == (0.5, 2.5)
    assert seconds_to_frames((0.5, 2.5), 10.0, 20) == (5, 20)
    assert frames_in_span(np.array([4, 5, 10, 24, 25]), (5, 25)).tolist() == [
        False, True, True, True, False]
