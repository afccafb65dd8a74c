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
    area1 = np.clip(boxes1[..., 2] - boxes1[..., 0], 0, None) * np.clip(
        boxes1[..., 3] - boxes1[..., 1], 0, None)
    area2 = np.clip(boxes2[..., 2] - boxes2[..., 0], 0, None) * np.clip(
        boxes2[..., 3] - boxes2[..., 1], 0, None)
    inter_w = np.clip(
        np.minimum(boxes1[..., 2], boxes2[..., 2]) -
        np.maximum(boxes1[..., 0], boxes2[..., 0]), 0, None)
    inter_h = np.clip(
        np.minimum(boxes1[..., 3], boxes2[..., 3]) -
        np.maximum(boxes1[..., 1], boxes2[..., 1]), 0, None)
    inter = inter_w * inter_h
    union = area1 + area2 - inter
    with np.errstate(invalid='ignore', divide='ignore'):
        iou = np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)
    return np.nan_to_num(iou, nan=0.0)
