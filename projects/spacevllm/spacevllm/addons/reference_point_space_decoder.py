"""The QGSD with boxes around reference points on the token grid (ours, the recipe's default).

Ours, not the paper's: the paper's box MLP reads the guided query alone and,
on the small base pretrained here, does not learn *where*; Conditional /
Deformable DETR's reference points on the frame's token grid do. Evidence:
``docs/en/base_pretraining.md``; design: ``docs/en/model_core.md``.
"""
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from mmdet.models.layers import MLP
from mmdet.models.layers.transformer.utils import inverse_sigmoid
from torch import nn

from mmstvg.registry import SPACE_DECODERS

from ..query_guided_space_decoder import QueryGuidedSpaceDecoder, square_token_layout

__all__ = ['ReferencePointSpaceDecoder', 'grid_cells']


def grid_cells(rows: int, cols: int, row_newline: bool = False,
               device: Optional[torch.device] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """Normalised cell centres ``(rows * cols, 2)`` as ``(x, y)``, row-major, and
    where each cell's token lies among the frame's tokens (after each row a
    newline token when ``row_newline``)."""
    ys, xs = torch.meshgrid(torch.arange(rows, device=device),
                            torch.arange(cols, device=device), indexing='ij')
    centres = torch.stack([(xs.flatten() + 0.5) / cols, (ys.flatten() + 0.5) / rows], dim=-1)
    return centres, (ys * (cols + row_newline) + xs).flatten()


@SPACE_DECODERS.register_module()
class ReferencePointSpaceDecoder(QueryGuidedSpaceDecoder):
    """The QGSD with reference points on the frame's token grid (ours; the recipe's default).

    Args:
        frame_token_grid: ``(rows, cols)`` of a frame's visual tokens
            (``rows * cols == P``, row-major as the vision encoder emits them).
            Given, a query-conditioned score over the frame's text-enhanced
            tokens is soft-maxed into a distribution on the grid; its mean is
            the reference centre and the box MLP predicts the offset from it
            (in logit space) and the box size. None: the paper's box MLP.
            ``'auto'``: each video's own grid when the head inputs carry
            ``frame_grids`` (Qwen-VL's per-video grid after its 2x2 merge,
            any aspect ratio), else the grid and its newlines read from each
            frame's token count (:func:`square_token_layout`), so one config
            serves every frame size (384 px LLaVA-Video frames: 14 x 14 +
            newlines).
        row_newline: the frame's tokens hold a newline token after each row
            (LLaVA's ``mm_newline_position='grid'``): ``P = rows * (cols + 1)``,
            and the newlines take no part in the distribution.
        num_frame_tokens: when given, a learnable position embedding per
            visual token of a frame (``P`` of them) is added to the
            text-enhanced visual tokens before the query attends to them, as
            DETR adds positional encodings in its decoder's cross-attention.
        **kwargs: the arguments of :class:`QueryGuidedSpaceDecoder`.
    """

    def __init__(self,
                 frame_token_grid: Union[None, str, Tuple[int, int]] = None,
                 num_frame_tokens: Optional[int] = None,
                 row_newline: bool = False,
                 **kwargs):
        super().__init__(**kwargs)
        hidden_dim = self.hidden_dim
        mlp_dim = kwargs.get('mlp_dim') or hidden_dim
        self.frame_token_grid = None
        self._layouts: Dict[Tuple[int, torch.device], Tuple[torch.Tensor, torch.Tensor]] = {}
        if frame_token_grid == 'auto':
            if row_newline:
                raise ValueError("frame_token_grid='auto' reads the newlines from the "
                                 'token count: leave row_newline unset')
            self.frame_token_grid = 'auto'
            self.location_score = MLP(hidden_dim, mlp_dim, 1, 2)
        elif frame_token_grid is not None:
            rows, cols = frame_token_grid
            self.frame_token_grid = (int(rows), int(cols))
            centres, grid_index = grid_cells(int(rows), int(cols), row_newline)
            self.register_buffer('token_centres', centres, persistent=False)
            self.register_buffer('grid_token_index', grid_index, persistent=False)
            self.location_score = MLP(hidden_dim, mlp_dim, 1, 2)
        self.row_newline = row_newline
        self.num_frame_tokens = num_frame_tokens
        self.frame_pos_embed = None
        if num_frame_tokens is not None:
            self.frame_pos_embed = nn.Parameter(
                torch.randn(num_frame_tokens, hidden_dim) * 0.02)

    def _add_token_positions(self, enhanced: torch.Tensor) -> torch.Tensor:
        """Add the learnable per-token position embedding, when configured."""
        if self.frame_pos_embed is None:
            return enhanced
        if enhanced.shape[1] != self.num_frame_tokens:
            raise ValueError(f'{type(self).__name__}: frames have {enhanced.shape[1]} '
                             f'visual tokens but num_frame_tokens={self.num_frame_tokens}')
        return enhanced + self.frame_pos_embed.to(self.box_mlp.layers[0].weight.dtype)

    def _predict_boxes(self, states: torch.Tensor, guided: torch.Tensor,
                       enhanced: torch.Tensor,
                       frame_grids: Optional[Sequence[Tuple[int, int]]] = None
                       ) -> torch.Tensor:
        """Centres as offsets from the reference points, sizes from the MLP."""
        box_terms = self.box_mlp(states)
        if self.frame_token_grid is None:
            return box_terms.sigmoid()
        batch, frames = states.shape[:2]
        reference = self.reference_points(guided, enhanced,
                                          frame_grids).reshape(batch, frames, 2)
        centres = (inverse_sigmoid(reference) + box_terms[..., :2]).sigmoid()
        return torch.cat([centres, box_terms[..., 2:].sigmoid()], dim=-1)

    def reference_points(self, guided: torch.Tensor, enhanced: torch.Tensor,
                         frame_grids: Optional[Sequence[Tuple[int, int]]] = None
                         ) -> torch.Tensor:
        """Reference centres: the mean of a distribution on the token grid.

        Called inside :meth:`forward` (never from outside the module).

        Args:
            guided: ``(N, 1, D)`` the query states after attending.
            enhanced: ``(N, P, D)`` the frame's text-enhanced visual tokens,
                ``N = B * T`` video-major.
            frame_grids: ``B`` ``(rows, cols)``, each video's token grid, read
                with ``frame_token_grid='auto'`` (a fixed grid ignores them).

        Returns:
            ``(N, 2)`` normalised ``(cx, cy)`` in (0, 1).

        Raises:
            ValueError: a grid does not hold the frames' ``P`` tokens.
        """
        if self.frame_token_grid == 'auto' and frame_grids is not None:
            scores = self.location_score(enhanced + guided).squeeze(-1)
            weights = scores.softmax(dim=-1)
            centres = self._video_grid_centres(frame_grids, enhanced.shape[0],
                                               enhanced.shape[1], enhanced.device)
            return (weights.unsqueeze(1) @ centres.to(weights.dtype)).squeeze(1)
        if self.frame_token_grid == 'auto':
            centres, grid_index = self._auto_layout(enhanced.shape[1], enhanced.device)
        else:
            rows, cols = self.frame_token_grid
            if enhanced.shape[1] != rows * (cols + self.row_newline):
                raise ValueError(
                    f'{type(self).__name__}: frames have {enhanced.shape[1]} visual tokens '
                    f'but frame_token_grid={self.frame_token_grid} and '
                    f'row_newline={self.row_newline}')
            centres, grid_index = self.token_centres, self.grid_token_index
        grid_tokens = enhanced[:, grid_index]
        scores = self.location_score(grid_tokens + guided).squeeze(-1)
        weights = scores.softmax(dim=-1)
        return weights @ centres.to(weights.dtype)

    def _video_grid_centres(self, frame_grids: Sequence[Tuple[int, int]], num_rows: int,
                            num_tokens: int, device: torch.device) -> torch.Tensor:
        """``(N, P, 2)`` cell centres of each row's video grid (``N / B`` rows a video)."""
        if num_rows % len(frame_grids):
            raise ValueError(f'{type(self).__name__}: {len(frame_grids)} frame_grids for '
                             f'{num_rows} frames')
        centres = []
        for b, (rows, cols) in enumerate(frame_grids):
            if int(rows) * int(cols) != num_tokens:
                raise ValueError(
                    f'{type(self).__name__}: video {b} has a {rows} x {cols} token grid '
                    f'({int(rows) * int(cols)} cells) but its frames have {num_tokens} '
                    'visual tokens')
            centres.append(grid_cells(int(rows), int(cols), device=device)[0])
        return torch.stack(centres).repeat_interleave(num_rows // len(frame_grids), dim=0)

    def _auto_layout(self, num_tokens: int,
                     device: torch.device) -> Tuple[torch.Tensor, torch.Tensor]:
        """Cell centres ``(G, 2)`` and the grid tokens' indices ``(G,)`` for ``P`` tokens."""
        key = (num_tokens, device)
        if key not in self._layouts:
            rows, cols, newline = square_token_layout(num_tokens, type(self).__name__)
            self._layouts[key] = grid_cells(rows, cols, newline, device)
        return self._layouts[key]

    def extra_repr(self) -> str:
        return (f'{super().extra_repr()}, frame_token_grid={self.frame_token_grid}, '
                f'row_newline={self.row_newline}, num_frame_tokens={self.num_frame_tokens}')
