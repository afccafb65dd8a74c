"""The interface of a space decoder and the DETR-style box losses every head shares."""
from abc import ABCMeta, abstractmethod
from typing import Dict, Optional

import torch
from mmdet.structures.bbox import bbox_cxcywh_to_xyxy
from mmengine.model import BaseModule

from mmstvg.registry import MODELS


class BaseSpaceDecoder(BaseModule, metaclass=ABCMeta):
    """Turns LLM hidden states into one normalised box per sampled frame.

    A subclass implements :meth:`forward`; :meth:`loss` is shared: mmdet's
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
    def forward(self, query_states: torch.Tensor, frame_states: torch.Tensor,
                text_states: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
        """Predict a box for every sampled frame.

        Args:
            query_states: ``(B, T, D)`` last-layer hidden state of each frame's
                query token.
            frame_states: ``(B, T, P, D)`` last-layer hidden states of each
                frame's visual tokens.
            text_states: ``(B, S, D)`` last-layer hidden states of the sentence
                tokens, right-padded.
            text_mask: ``(B, S)`` bool, True on real sentence tokens.

        Returns:
            ``(B, T, 4)`` boxes, normalised ``(cx, cy, w, h)`` in [0, 1].
        """

    def forward_with_states(self, query_states: torch.Tensor, frame_states: torch.Tensor,
                            text_states: torch.Tensor, text_mask: torch.Tensor):
        """Boxes, and the per-frame states the boxes are decoded from.

        The grounder's other per-frame heads (a frame score head, a time
        pointer) read these states when configured with
        ``frame_state_source='space_decoder'``. Here they are the query states
        themselves; a decoder that refines each query (e.g. by attending to the
        sentence and the frame) overrides this to return the refined states.

        Returns:
            ``(boxes (B, T, 4), states (B, T, D))``.
        """
        return self(query_states, frame_states, text_states, text_mask), query_states

    def loss(self, pred_boxes: torch.Tensor, gt_boxes: torch.Tensor,
             box_mask: torch.Tensor) -> Dict[str, torch.Tensor]:
        """L1 + GIoU on the frames that have a ground-truth box.

        Args:
            pred_boxes: ``(B, T, 4)`` predicted normalised ``cxcywh``.
            gt_boxes: ``(B, T, 4)`` target normalised ``cxcywh``.
            box_mask: ``(B, T)`` bool, True where the frame is inside the
                ground-truth span and has a box.

        Returns:
            ``dict(loss_bbox=..., loss_iou=...)``; both are zero (and keep the
            graph) when the batch has no box at all, e.g. a TVG-only batch.
        """
        box_mask = box_mask.bool()
        num_boxes = int(box_mask.sum())
        if num_boxes == 0:
            zero = pred_boxes.sum() * 0
            return dict(loss_bbox=zero, loss_iou=zero.clone())
        pred = pred_boxes[box_mask].float()
        target = gt_boxes[box_mask].float()
        # As in DETR: L1 summed over the 4 coordinates, averaged over boxes.
        loss_bbox = self.loss_bbox(pred, target, avg_factor=num_boxes)
        loss_iou = self.loss_iou(
            bbox_cxcywh_to_xyxy(pred), bbox_cxcywh_to_xyxy(target),
            avg_factor=num_boxes)
        return dict(loss_bbox=loss_bbox, loss_iou=loss_iou)
