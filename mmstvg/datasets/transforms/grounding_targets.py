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


CLIP_POLICIES = ('train', 'always', 'never')


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

    **Training targets are clipped, evaluation boxes are not**: the datasets
    keep the boxes as the provider wrote them (some leave the frame), so the
    metric scores against them as TubeDETR's evaluator does. With
    ``clip_to_frame='train'`` (default) the boxes of a training sample
    (``test_mode`` False, set by the dataset) are clipped to the
    ``width`` x ``height`` frame, and a frame whose box has no area left
    inside the frame loses its target (mask False); at test time they are
    left as written.

    Required keys: ``frame_inds``, ``gt_span_frames``,
    ``gt_tube_frame_inds``, ``gt_tube_boxes``; optional ``test_mode``,
    ``height``, ``width``.
    Added keys: ``gt_boxes`` (float32 ``(T, 4)``), ``gt_box_mask``
    (bool ``(T,)``).

    Args:
        clip_to_frame: ``'train'`` (clip training samples only),
            ``'always'`` or ``'never'``.
    """

    def __init__(self, clip_to_frame: str = 'train'):
        if clip_to_frame not in CLIP_POLICIES:
            raise ValueError(f'clip_to_frame must be one of {CLIP_POLICIES}, '
                             f'got {clip_to_frame!r}')
        self.clip_to_frame = clip_to_frame

    def _clips(self, results: dict) -> bool:
        if self.clip_to_frame == 'train':
            return not results.get('test_mode', True)
        return self.clip_to_frame == 'always'

    def transform(self, results: dict) -> dict:
        boxes, mask = tube_boxes_at(
            results['frame_inds'], results['gt_span_frames'],
            results.get('gt_tube_frame_inds', np.zeros(0, np.int64)),
            results.get('gt_tube_boxes', np.zeros((0, 4), np.float32)))
        height, width = results.get('height'), results.get('width')
        if self._clips(results) and mask.any() and height and width:
            boxes[:, 0::2] = boxes[:, 0::2].clip(0, float(width))
            boxes[:, 1::2] = boxes[:, 1::2].clip(0, float(height))
            mask &= (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
            boxes[~mask] = 0
        results['gt_boxes'] = boxes
        results['gt_box_mask'] = mask
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(clip_to_frame={self.clip_to_frame!r})'
