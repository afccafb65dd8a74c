"""Box helpers: the one place where box formats are converted.

Conventions (see the README's "Conventions" section):

- Annotations, data samples and predictions hold boxes in **absolute pixels of the
  original frame, xyxy** (``x2``/``y2`` exclusive-style, IoU without ``+1``).
- Heads predict **normalised cxcywh in [0, 1]**, relative to the original frame
  size. :func:`normalize_boxes` / :func:`denormalize_boxes` convert between the two
  and are the only place that does.

Torch conversions reuse mmdet's; :func:`paired_box_iou` is a broadcasting IoU of
*matching* boxes (frame i with frame i), which mmdet's ``bbox_overlaps`` also
offers for tensors (``is_aligned=True``); the numpy version here is what the
metrics use.
"""
from typing import Sequence, Union

import numpy as np
import torch
from mmdet.structures.bbox import bbox_cxcywh_to_xyxy, bbox_xyxy_to_cxcywh

ArrayLike = Union[np.ndarray, torch.Tensor]

__all__ = [
    'bbox_cxcywh_to_xyxy', 'bbox_xyxy_to_cxcywh', 'xywh_to_xyxy',
    'normalize_boxes', 'denormalize_boxes', 'paired_box_iou', 'clip_boxes'
]


def xywh_to_xyxy(boxes: ArrayLike) -> ArrayLike:
    """Convert ``(x, y, w, h)`` boxes (COCO / HC-STVG files) to ``xyxy``.

    Args:
        boxes: boxes of shape ``(..., 4)``, numpy or torch.

    Returns:
        Boxes of the same type and shape, ``(x1, y1, x1 + w, y1 + h)``.
    """
    out = boxes.clone() if isinstance(boxes, torch.Tensor) else np.array(
        boxes, dtype=np.float64, copy=True)
    out[..., 2] = out[..., 0] + out[..., 2]
    out[..., 3] = out[..., 1] + out[..., 3]
    return out


def normalize_boxes(boxes_xyxy: torch.Tensor,
                    frame_size: Sequence[int]) -> torch.Tensor:
    """Pixel ``xyxy`` boxes -> normalised ``cxcywh`` in [0, 1].

    Args:
        boxes_xyxy: tensor ``(..., 4)`` in pixels of the original frame.
        frame_size: ``(height, width)`` of the original frame.

    Returns:
        Tensor ``(..., 4)``: ``(cx / W, cy / H, w / W, h / H)``.
    """
    height, width = frame_size
    scale = boxes_xyxy.new_tensor([width, height, width, height])
    return bbox_xyxy_to_cxcywh(boxes_xyxy) / scale


def denormalize_boxes(boxes_cxcywh: torch.Tensor,
                      frame_size: Sequence[int]) -> torch.Tensor:
    """Normalised ``cxcywh`` -> pixel ``xyxy`` boxes of the original frame.

    Args:
        boxes_cxcywh: tensor ``(..., 4)`` with values in [0, 1].
        frame_size: ``(height, width)`` of the original frame.

    Returns:
        Tensor ``(..., 4)`` in pixels, ``xyxy``.
    """
    height, width = frame_size
    scale = boxes_cxcywh.new_tensor([width, height, width, height])
    return bbox_cxcywh_to_xyxy(boxes_cxcywh * scale)


def clip_boxes(boxes_xyxy: ArrayLike, frame_size: Sequence[int]) -> ArrayLike:
    """Clip pixel ``xyxy`` boxes to a ``(height, width)`` frame."""
    height, width = frame_size
    if isinstance(boxes_xyxy, torch.Tensor):
        out = boxes_xyxy.clone()
        out[..., 0::2] = out[..., 0::2].clamp(0, width)
        out[..., 1::2] = out[..., 1::2].clamp(0, height)
        return out
    out = np.array(boxes_xyxy, dtype=np.float64, copy=True)
    out[..., 0::2] = out[..., 0::2].clip(0, width)
    out[..., 1::2] = out[..., 1::2].clip(0, height)
    return out


def paired_box_iou(boxes1: np.ndarray, boxes2: np.ndarray) -> np.ndarray:
    """IoU of matching ``xyxy`` boxes, broadcast over leading dimensions.

    No ``+1`` on widths (TubeDETR's convention). A box with zero or negative
    area, or a NaN coordinate, gives IoU 0.

    Args:
        boxes1: array ``(..., 4)``.
        boxes2: array ``(..., 4)``, broadcastable with ``boxes1``.

    Returns:
        Array ``(...)`` of IoUs in [0, 1].
    """
    boxes1 = np.asarray(boxes1, dtype=np.float64)
    boxes2 = np.asarray(boxes2, dtype=np.float64)
    # In place on a few temporaries: this runs over every scored frame of an
    # evaluation. The coordinate columns are contiguous for Fortran-ordered
    # (N, 4) inputs, which the STVG scorer passes for speed.
    x1, y1, x2, y2 = (boxes1[..., k] for k in range(4))
    u1, v1, u2, v2 = (boxes2[..., k] for k in range(4))
    area = np.subtract(x2, x1)
    np.maximum(area, 0, out=area)
    height = np.subtract(y2, y1)
    np.maximum(height, 0, out=height)
    area = area * height  # broadcasting may widen the shape here
    area2 = np.subtract(u2, u1)
    np.maximum(area2, 0, out=area2)
    height2 = np.subtract(v2, v1)
    np.maximum(height2, 0, out=height2)
    area2 *= height2
    inter = np.minimum(x2, u2)
    inter -= np.maximum(x1, u1)
    np.maximum(inter, 0, out=inter)
    inter_h = np.minimum(y2, v2)
    inter_h -= np.maximum(y1, v1)
    np.maximum(inter_h, 0, out=inter_h)
    inter *= inter_h
    union = area + area2  # area1 + area2 - inter
    union -= inter
    # A zero/negative-area or NaN box makes the union not positive (or NaN),
    # and a positive union never comes with a NaN or infinite intersection.
    iou = np.zeros(union.shape)
    with np.errstate(invalid='ignore', over='ignore'):
        np.divide(inter, union, out=iou, where=union > 0)
    return iou
