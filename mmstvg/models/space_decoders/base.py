"""The interface of a space decoder and the DETR-style box losses every head shares."""
from abc import ABCMeta, abstractmethod
from typing import Dict, Optional, Sequence, Tuple

import torch
from mmdet.structures.bbox import bbox_cxcywh_to_xyxy
from mmengine.model import BaseModule

from mmstvg.registry import MODELS
from mmstvg.structures import normalize_boxes

from .box_predictions import pack_boxes
from .head_structures import HeadInputs

__all__ = ['BaseSpaceDecoder', 'box_targets', 'check_box_output']


def check_box_output(boxes, batch: int, frames: int, part: str) -> None:
    """Raise unless ``boxes`` is ``(batch, frames, 4)`` normalised ``cxcywh`` in [0, 1].

    Args:
        boxes: what the space decoder returned.
        batch: ``B`` of the batch.
        frames: ``T_max`` of the batch.
        part: the space decoder's name, for the message.
    """
    expected = (batch, frames, 4)
    if not isinstance(boxes, torch.Tensor) or tuple(boxes.shape) != expected:
        shape = tuple(boxes.shape) if isinstance(boxes, torch.Tensor) else type(boxes)
        raise ValueError(f'space decoder {part} must return boxes of shape (B, T, 4) '
                         f'= {expected}, got {shape}')
    values = boxes.detach()
    if not bool(((values >= 0) & (values <= 1)).all()):
        raise ValueError(f'space decoder {part} must return normalised cxcywh boxes '
                         'in [0, 1] (e.g. through a sigmoid); got values in '
                         f'[{float(values.min()):.3g}, {float(values.max()):.3g}]')


def box_targets(data_samples: Sequence, max_frames: int,
                device: Optional[torch.device] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """Per sampled frame: the ground-truth box (normalised ``cxcywh``) and its mask.

    Args:
        data_samples: the batch's ``GroundingDataSample`` s; samples without
            ``gt_boxes`` / ``gt_box_mask`` (TVG) have no target frame.
        max_frames: ``T_max`` of the batch.
        device: device of the returned tensors.

    Returns:
        ``(targets (B, T_max, 4), mask (B, T_max) bool)``.
    """
    targets = torch.zeros(len(data_samples), max_frames, 4, device=device)
    mask = torch.zeros(len(data_samples), max_frames, dtype=torch.bool, device=device)
    for b, sample in enumerate(data_samples):
        if 'gt_boxes' not in sample or 'gt_box_mask' not in sample:
            continue
        if 'ori_shape' not in sample.metainfo:
            raise KeyError(f"data sample {sample.metainfo.get('video_id')!r} has "
                           'gt_boxes but no ori_shape')
        boxes = sample.gt_boxes.to(device).float()
        t = boxes.shape[0]
        targets[b, :t] = normalize_boxes(boxes, sample.metainfo['ori_shape'])
        mask[b, :t] = sample.gt_box_mask.to(device).bool()
    return targets, mask


class BaseSpaceDecoder(BaseModule, metaclass=ABCMeta):
    """Turns LLM hidden states into one normalised box per sampled frame.

    A subclass implements :meth:`forward` on a :class:`HeadInputs`;
    :meth:`loss` (targets from the data samples, see :func:`box_targets`) and
    :meth:`predict` (the samples' ``pred_boxes`` in pixels) are shared. The loss is mmdet's
    ``L1Loss`` on normalised ``cxcywh`` and ``GIoULoss`` on normalised
    ``xyxy``, averaged over the frames that carry a ground-truth box
    (frames inside the ground-truth span), as in DETR. Frames outside the span
    get no gradient at all. A REC image is a one-frame tube.

    The grounder builds a space decoder with ``hidden_dim`` set to the LLM's
    hidden size unless the config gives it.

    Args:
        hidden_dim: size of the LLM hidden states the head reads.
        loss_bbox: config of the L1 loss (DETR's weight 5 by default).
        loss_iou: config of the GIoU loss (DETR's weight 2 by default).
        init_cfg: MMEngine initialisation config.
    """

    def __init__(self,
                 hidden_dim: int,
                 loss_bbox: dict = dict(type='mmdet.L1Loss', loss_weight=5.0),
                 loss_iou: dict = dict(type='mmdet.GIoULoss', loss_weight=2.0),
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.hidden_dim = hidden_dim
        self.loss_bbox = MODELS.build(loss_bbox)
        self.loss_iou = MODELS.build(loss_iou)

    @abstractmethod
    def forward(self, head_inputs: HeadInputs, return_states: bool = False):
        """Predict a box for every sampled frame.

        Args:
            head_inputs: the batch's per-frame states (:class:`HeadInputs`:
                ``query`` ``(B, T, D)``, ``frames`` ``(B, T, P, D)``,
                ``text`` ``(B, S, D)``, ``text_mask`` ``(B, S)`` and
                ``frame_grids``, each video's token grid or None); a decoder
                reads the fields it needs.
            return_states: also return the ``(B, T, D)`` per-frame states the
                boxes are decoded from (``head_inputs.query`` itself for a
                decoder that does not refine it); the grounder asks for them
                with ``frame_state_source='space_decoder'`` and hands them to
                its other heads as their ``query``.

        Returns:
            ``(B, T, 4)`` boxes, normalised ``(cx, cy, w, h)`` in [0, 1]; with
            ``return_states``, ``(boxes, states)``.
        """

    def loss(self, pred_boxes: torch.Tensor,
             data_samples: Sequence) -> Dict[str, torch.Tensor]:
        """L1 + GIoU against the data samples' boxes (see :meth:`loss_by_targets`).

        Args:
            pred_boxes: ``(B, T, 4)`` predicted normalised ``cxcywh``.
            data_samples: the batch's samples (``gt_boxes``, ``gt_box_mask``,
                ``ori_shape``).
        """
        targets, mask = box_targets(data_samples, pred_boxes.shape[1], pred_boxes.device)
        return self.loss_by_targets(pred_boxes, targets, mask)

    def loss_by_targets(self, pred_boxes: torch.Tensor, gt_boxes: torch.Tensor,
             box_mask: torch.Tensor) -> Dict[str, torch.Tensor]:
        """L1 + GIoU on the frames that have a ground-truth box.

        Args:
            pred_boxes: ``(B, T, 4)`` predicted normalised ``cxcywh``.
            gt_boxes: ``(B, T, 4)`` target normalised ``cxcywh``.
            box_mask: ``(B, T)`` bool, True where the frame is inside the
                ground-truth span and has a box.

        Returns:
            ``dict(loss_bbox=..., loss_iou=...)``. A batch with no box at all
            (e.g. TVG only) still calls both loss modules, with zero weights:
            both losses are exactly 0 and every gradient 0, and under ZeRO-3
            every rank makes the same module calls whatever its batch.
        """
        box_mask = box_mask.bool()
        num_boxes = int(box_mask.sum())
        if num_boxes:
            pred, target = pred_boxes[box_mask].float(), gt_boxes[box_mask].float()
            weight = None
        else:
            pred = pred_boxes.flatten(0, 1).float()
            target, weight = pred.detach(), pred.new_zeros(pred.shape)
        # As in DETR: L1 summed over the 4 coordinates, averaged over boxes.
        loss_bbox = self.loss_bbox(pred, target, weight=weight, avg_factor=max(num_boxes, 1))
        loss_iou = self.loss_iou(
            bbox_cxcywh_to_xyxy(pred), bbox_cxcywh_to_xyxy(target), weight=weight,
            avg_factor=max(num_boxes, 1))
        return dict(loss_bbox=loss_bbox, loss_iou=loss_iou)

    def predict(self, pred_boxes: torch.Tensor, data_samples: Sequence) -> None:
        """Write each sample's ``pred_boxes`` (absolute ``xyxy`` of the original
        frame), ``pred_box_scores`` (1 each) and ``pred_box_mask`` (the frames
        of its ``pred_span_frames``), see :func:`pack_boxes`.

        Args:
            pred_boxes: ``(B, T, 4)`` normalised ``cxcywh`` from :meth:`forward`,
                one row a sample of ``data_samples``.
            data_samples: the samples to fill (each with its predicted span).
        """
        for boxes, sample in zip(pred_boxes, data_samples):
            pack_boxes(sample, boxes.float())
