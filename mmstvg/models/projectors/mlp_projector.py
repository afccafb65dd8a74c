"""Projectors: visual token features -> the LLM's embedding space."""
from typing import Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmstvg.registry import MODELS

__all__ = ['MLPProjector', 'LinearProjector']


@MODELS.register_module()
class MLPProjector(BaseModule):
    """LLaVA's 2-layer MLP projector: ``linear_1 -> GELU -> linear_2``.

    The parameter names match LLaVA-OneVision's ``multi_modal_projector``, so
    its weights load as they are.

    Args:
        in_channels: vision feature size (the grounder fills it from the
            vision encoder's ``out_channels``).
        out_channels: LLM hidden size (filled from the LLM).
        bias: use biases.
        freeze: freeze the projector.
        init_cfg: MMEngine init config.
    """

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True,
                 freeze: bool = False, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.linear_1 = nn.Linear(in_channels, out_channels, bias=bias)
        self.act = nn.GELU()
        self.linear_2 = nn.Linear(out_channels, out_channels, bias=bias)
        if freeze:
            self.requires_grad_(False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """``(..., in_channels)`` -> ``(..., out_channels)``."""
        tokens = tokens.to(self.linear_1.weight.dtype)
        return self.linear_2(self.act(self.linear_1(tokens)))


@MODELS.register_module()
class LinearProjector(BaseModule):
    """A single linear layer (LLaVA-1.0's projector).

    Args:
        in_channels: vision feature size.
        out_channels: LLM hidden size.
        bias: use a bias.
        freeze: freeze the projector.
        init_cfg: MMEngine init config.
    """

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True,
                 freeze: bool = False, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.linear = nn.Linear(in_channels, out_channels, bias=bias)
        if freeze:
            self.requires_grad_(False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """``(..., in_channels)`` -> ``(..., out_channels)``."""
        return self.linear(tokens.to(self.linear.weight.dtype))
