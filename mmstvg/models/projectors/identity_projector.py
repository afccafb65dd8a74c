"""A projector that passes tokens through (towers that project on their own)."""
from typing import Optional

import torch
from mmengine.model import BaseModule

from mmstvg.registry import MODELS

__all__ = ['IdentityProjector']


@MODELS.register_module()
class IdentityProjector(BaseModule):
    """No projection: for towers whose own merger already outputs the LLM width
    (Qwen2.5-VL / Qwen3-VL).

    Args:
        in_channels: the tower's output size (filled in by the grounder).
        out_channels: the LLM's hidden size (filled in); must equal
            ``in_channels``.
        init_cfg: MMEngine init config.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if in_channels != out_channels:
            raise ValueError(f'IdentityProjector: the vision tower gives {in_channels} '
                             f'channels but the LLM takes {out_channels}; use a projector '
                             'that maps them')
        self.in_channels = in_channels
        self.out_channels = out_channels

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return tokens
