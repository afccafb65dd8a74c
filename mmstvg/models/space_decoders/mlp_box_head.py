"""An MLP on each frame's query state: the "no dual cross-attention" baseline."""
from typing import Optional

import torch
import torch.nn as nn

from mmstvg.registry import SPACE_DECODERS

from .base import BaseSpaceDecoder
from .head_structures import HeadInputs

__all__ = ['MLPBoxHead']


@SPACE_DECODERS.register_module()
class MLPBoxHead(BaseSpaceDecoder):
    """Query hidden state -> MLP -> sigmoid -> normalised ``cxcywh``.

    Reads only ``head_inputs.query`` (frame and sentence states are ignored), like
    DETR's box branch: ``num_layers`` linear layers with ReLU between them.

    Args:
        hidden_dim: LLM hidden size.
        mlp_dim: width of the hidden layers (defaults to ``hidden_dim``).
        num_layers: number of linear layers (>= 1).
        loss_bbox: L1 loss config.
        loss_iou: GIoU loss config.
        init_cfg: MMEngine init config.
    """

    def __init__(self,
                 hidden_dim: int,
                 mlp_dim: Optional[int] = None,
                 num_layers: int = 3,
                 loss_bbox: dict = dict(type='mmdet.L1Loss', loss_weight=5.0),
                 loss_iou: dict = dict(type='mmdet.GIoULoss', loss_weight=2.0),
                 init_cfg: Optional[dict] = None):
        super().__init__(hidden_dim=hidden_dim, loss_bbox=loss_bbox,
                         loss_iou=loss_iou, init_cfg=init_cfg)
        if num_layers < 1:
            raise ValueError('num_layers must be >= 1')
        mlp_dim = mlp_dim or hidden_dim
        dims = [hidden_dim] + [mlp_dim] * (num_layers - 1) + [4]
        layers = []
        for i in range(num_layers):
            layers.append(nn.Linear(dims[i], dims[i + 1]))
            if i < num_layers - 1:
                layers.append(nn.ReLU(inplace=True))
        self.mlp = nn.Sequential(*layers)

    def forward(self, head_inputs: HeadInputs, return_states: bool = False):
        query_states = head_inputs.query
        weight = self.mlp[0].weight
        boxes = self.mlp(query_states.to(weight.dtype)).sigmoid()
        return (boxes, query_states) if return_states else boxes
