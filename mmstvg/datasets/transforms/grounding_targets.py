"""Put the ground-truth tube onto the sampled frames."""
import numpy as np
from mmcv.transforms import BaseTransform

from mmstvg.registry import TRANSFORMS

__all__ = ['LoadGroundingAnnotations', 'tube_boxes_at']


def tube_boxes_at(frame_inds: np.ndarray, span_frames, tube_frame_inds: np.ndarray,
                  tube_boxes: np.ndarray):
    """Boxes of a tube at given frames.

    A frame inside the half-open span ``[start, end)`` takes the box of that
    exact annotated frame; a frame inside the span without its own annotation
    but between two annotated frames takes the linear interpolation of the
    nearest annotated frames before and after it; a frame outside the span, or
    inside it but before the first / after the last annotated frame, has no
    box (mask False, zeros).

    Args:
        frame_inds: ``(T,)`` original frame indices (ascending or not).
        span_frames: ``(start, end)``, half-open.
        tube_frame_inds: ``(N,)`` strictly increasing annotated frames.
        tube_boxes: ``(N, 4)`` xyxy boxes of those frames.

    Returns:
        ``(boxes, mask)``: float32 ``(T, 4)`` and bool ``(T,)``.
    """
    frame_inds = np.asarray(frame_inds, dtype=np.int64)
    tube_frame_inds = np.asarray(tube_frame_inds, dtype=np.int64).reshape(-1)
    tube_boxes = np.asarray(tube_boxes, dtype=np.float64).reshape(-1, 4)
    num = len(frame_inds)
    boxes = np.zeros((num, 4), dtype=np.float32)
    mask = np.zeros(num, dtype=bool)
    if len(tube_frame_inds) == 0 or num == 0:
        return boxes, mask
    in_span = (frame_inds >= span_frames[0]) & (frame_inds < span_frames[1])
    covered = in_span & (frame_inds >= tube_frame_inds[0]) & (
        frame_inds <= tube_frame_inds[-1])
    if not covered.any():
        return boxes, mask
    query = frame_inds[covered]
    right = np.searchsorted(tube_frame_inds, query, side='left')
    exact = tube_frame_inds[np.minimum(right, len(tube_frame_inds) - 1)] == query
    left = np.where(exact, right, right - 1)
    f0 = tube_frame_inds[left].astype(np.float64)
    f1 = tube_frame_inds[right].astype(np.float64)
    weight = np.where(f1 > f0, (query - f0) / np.where(f1 > f0, f1 - f0, 1), 0.0)
    interp = tube_boxes[left] * (1 - weight[:, None]) + tube_boxes[right] * weight[:, None]
    boxes[covered] = interp.astype(np.float32)
    mask[covered] = True
    return boxes, mask


@TRANSFORMS.register_module()
class LoadGroundingAnnotations(BaseTransform):
    """Map the ground-truth span and tube onto the sampled frames.

    For every sampled frame (``frame_inds``): inside the span
    ``gt_span_frames = [start, end)`` it takes the box of that exact annotated
    frame, or - if that frame has no annotation (sparse tubes) - the linear
    interpolation between the nearest annotated frames before and after it
    (see :func:`tube_boxes_at`). Frames outside the span have no box. Boxes
    stay in pixels of the original frame, xyxy. A TVG sample (no tube) gets
    zeros and an all-False mask.

    Required keys: ``frame_inds``, ``gt_span_frames``,
    ``gt_tube_frame_inds``, ``gt_tube_boxes``.
    Added keys: ``gt_boxes`` (float32 ``(T, 4)``), ``gt_box_mask``
    (bool ``(T,)``).
    """

    def transform(self, results: dict) -> dict:
        boxes, mask = tube_boxes_at(
            results['frame_inds'], results['gt_span_frames'],
            results.get('gt_tube_frame_inds', np.zeros(0, np.int64)),
            results.get('gt_tube_boxes', np.zeros((0, 4), np.float32)))
        results['gt_boxes'] = boxes
        results['gt_box_mask'] = mask
        return results
