"""LLaVA-Video's per-frame pooling of the projected visual tokens.

LLaVA-NeXT (``llava_arch.py``) encodes each video frame with the vision tower,
projects *every* patch token with ``mm_projector`` and only then pools the
frame's token grid (``get_2dPool``): ``'bilinear'`` interpolation to
``ceil(h / stride) x ceil(w / stride)`` (LLaVA-Video-7B-Qwen2 and llava-hf's
OneVision: 27 x 27 -> 14 x 14 = 196 tokens), or PyTorch's default
(floor) ``'average'`` / ``'max'`` pooling with window = stride. With
``mm_newline_position='grid'`` it then appends the learned ``image_newline``
embedding after each row of the pooled grid (``add_token_per_grid``), with
``'frame'`` after each frame (``add_token_per_frame``).

:class:`LlavaFeaturePooler` is that step as a part of its own, applied by the
grounder right after the projector on the ``(N, P, D)`` tokens of each frame,
so that pretrained LLaVA-Video weights see the token order they were trained
on. (Pooling inside the vision encoder, before the projector, gives features
that differ from the checkpoint's own video features.)
"""
import math
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmstvg.registry import MODELS

__all__ = ['LlavaFeaturePooler', 'pool_token_grid']

POOL_MODES = ('bilinear', 'average', 'max')
NEWLINE_POSITIONS = (None, 'grid', 'frame')


def pooled_grid(grid_hw: Tuple[int, int], stride: int, mode: str) -> Tuple[int, int]:
    """The ``(h, w)`` token grid after pooling (ceil for bilinear, floor else)."""
    height, width = grid_hw
    if stride == 1:
        return height, width
    if mode == 'bilinear':
        return math.ceil(height / stride), math.ceil(width / stride)
    return height // stride, width // stride


def pool_token_grid(tokens: torch.Tensor, grid_hw: Tuple[int, int], stride: int,
                    mode: str = 'bilinear') -> torch.Tensor:
    """Pool each frame's tokens on their 2-D grid as LLaVA-NeXT's ``get_2dPool``.

    Args:
        tokens: ``(N, h * w, D)`` row-major tokens of ``N`` frames.
        grid_hw: ``(h, w)``.
        stride: pooling stride (1 keeps the tokens).
        mode: ``'bilinear'``, ``'average'`` or ``'max'``.

    Returns:
        ``(N, h' * w', D)`` with ``(h', w') = pooled_grid(grid_hw, stride, mode)``.
    """
    if mode not in POOL_MODES:
        raise ValueError(f'mode must be one of {POOL_MODES}, got {mode!r}')
    num, length, dim = tokens.shape
    height, width = grid_hw
    if length != height * width:
        raise ValueError(f'{length} tokens do not fill a {height}x{width} grid')
    if stride == 1:
        return tokens
    grid = tokens.view(num, height, width, dim).permute(0, 3, 1, 2).contiguous()
    if mode == 'bilinear':
        grid = F.interpolate(grid, size=pooled_grid(grid_hw, stride, mode), mode='bilinear')
    elif mode == 'average':
        grid = F.avg_pool2d(grid, stride)
    else:
        grid = F.max_pool2d(grid, stride)
    return grid.permute(0, 2, 3, 1).reshape(num, -1, dim)


@MODELS.register_module()
class LlavaFeaturePooler(BaseModule):
    """Post-projector pooling of each frame's tokens (LLaVA-Video's order).

    Args:
        mode: ``'bilinear'`` (LLaVA-Video / OneVision video default),
            ``'average'`` or ``'max'`` (LLaVA-NeXT's ``mm_spatial_pool_mode``).
        stride: ``mm_spatial_pool_stride`` (2: 27 x 27 -> 14 x 14 bilinear).
        newline: ``None`` (no newline tokens), ``'grid'`` (the learned
            ``image_newline`` after each pooled row, LLaVA-NeXT's
            ``mm_newline_position='grid'``) or ``'frame'`` (one after each
            frame). LLaVA-NeXT's ``'one_token'`` (a single newline after the
            whole video) has no per-frame equivalent and maps to ``None``.
        embed_dim: the token size ``D`` (the grounder fills in the LLM's
            hidden size); needed for ``newline``.
        init_cfg: MMEngine init config.
    """

    def __init__(self,
                 mode: str = 'bilinear',
                 stride: int = 2,
                 newline: Optional[str] = None,
                 embed_dim: Optional[int] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if mode not in POOL_MODES:
            raise ValueError(f'mode must be one of {POOL_MODES}, got {mode!r}')
        if newline not in NEWLINE_POSITIONS:
            raise ValueError(f'newline must be one of {NEWLINE_POSITIONS}, got {newline!r}')
        if stride < 1:
            raise ValueError(f'stride must be >= 1, got {stride}')
        self.mode = mode
        self.stride = int(stride)
        self.newline = newline
        self.image_newline = None
        if newline is not None:
            if embed_dim is None:
                raise ValueError('a newline token needs embed_dim')
            # LLaVA-NeXT initialises it as randn / sqrt(D).
            self.image_newline = nn.Parameter(torch.randn(embed_dim) / math.sqrt(embed_dim))

    def num_tokens(self, grid_hw: Tuple[int, int]) -> int:
        """Tokens per frame for a ``(h, w)`` patch grid."""
        height, width = pooled_grid(grid_hw, self.stride, self.mode)
        if self.newline == 'grid':
            return height * (width + 1)
        return height * width + (self.newline == 'frame')

    def forward(self, tokens: torch.Tensor,
                grid_hw: Optional[Tuple[int, int]] = None) -> torch.Tensor:
        """Pool ``(N, P, D)`` projected tokens of ``N`` frames.

        Args:
            tokens: each frame's ``P = h * w`` tokens, row-major.
            grid_hw: ``(h, w)``; None: a square grid.

        Returns:
            ``(N, num_tokens(grid_hw), D)``.
        """
        num, length, dim = tokens.shape
        if grid_hw is None:
            side = math.isqrt(length)
            if side * side != length:
                raise ValueError(f'{length} tokens per frame are not a square grid: '
                                 'pass grid_hw')
            grid_hw = (side, side)
        pooled = pool_token_grid(tokens, grid_hw, self.stride, self.mode)
        if self.newline is None:
            return pooled
        newline = self.image_newline.to(pooled.dtype)
        if self.newline == 'frame':
            return torch.cat([pooled, newline.expand(num, 1, dim)], dim=1)
        height, width = pooled_grid(grid_hw, self.stride, self.mode)
        rows = pooled.view(num, height, width, dim)
        rows = torch.cat([rows, newline.expand(num, height, 1, dim)], dim=2)
        return rows.reshape(num, height * (width + 1), dim)
