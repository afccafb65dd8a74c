"""SpaceVLLM's Query-Guided Space Decoder (QGSD), as the paper describes it.

Per frame, a dual cross-attention over the LLM's last-layer states (the
frame's visual tokens attend to the sentence, then the frame's query attends
to those text-enhanced tokens) and a box MLP: ``sigmoid(MLP(q'_t))``,
normalised ``(cx, cy, w, h)``. Two readings of the attention
(``'learnable'`` / ``'parameter_free'``) are explained in
``docs/en/model_core.md``; the losses come from :class:`BaseSpaceDecoder`.
``positional_encoding`` (ours, off in the paper's reading) adds DETR's sine
encoding of each visual token's grid cell to the keys the query reads.
"""
import math
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmdet.models.layers import MLP, SinePositionalEncoding
from torch import nn

from mmstvg.models.space_decoders.base import BaseSpaceDecoder
from mmstvg.models.space_decoders.head_structures import HeadInputs
from mmstvg.registry import SPACE_DECODERS


def _safe_key_mask(key_mask: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Make a key mask usable by softmax attention when a row has no key.

    A row whose keys are all masked would give ``softmax(-inf, ..., -inf)``,
    i.e. NaN in the output and in the gradients. Such rows are let attend to
    every key instead, and the caller zeroes their output with the returned
    ``has_key``, so the residual passes the input through unchanged.

    Args:
        key_mask: ``(N, S)`` bool, True on keys that may be attended to.

    Returns:
        ``(safe_mask, has_key)``: the ``(N, S)`` mask to use and an ``(N,)``
        bool telling which rows have at least one real key.
    """
    has_key = key_mask.any(dim=1)
    safe_mask = key_mask | ~has_key.unsqueeze(1)
    return safe_mask, has_key


def square_token_layout(num_tokens: int, owner: str = 'space decoder') -> Tuple[int, int, bool]:
    """``(rows, cols, row_newline)`` of a frame's ``num_tokens`` visual tokens.

    A square grid of ``n * n`` tokens, or ``n * (n + 1)`` with LLaVA's newline
    token after each row (``mm_newline_position='grid'``); the two never
    coincide (``n * (n + 1)`` lies strictly between two squares).

    Raises:
        ValueError: ``num_tokens`` is neither.
    """
    side = math.isqrt(num_tokens)
    if side * side == num_tokens:
        return side, side, False
    if side * (side + 1) == num_tokens:
        return side, side, True
    raise ValueError(
        f'{owner}: a frame has {num_tokens} visual tokens, neither a square grid '
        '(n * n) nor one with a newline after each row (n * (n + 1)); give the grid '
        'explicitly')


def parameter_free_cross_attention(query: torch.Tensor,
                                   context: torch.Tensor,
                                   context_mask: Optional[torch.Tensor] = None,
                                   key_pos: Optional[torch.Tensor] = None
                                   ) -> torch.Tensor:
    """Plain scaled dot-product attention of ``query`` over ``context``.

    No projection: the context states are both keys and values, the scale is
    ``1 / sqrt(D)``.

    Args:
        query: ``(N, L, D)`` attending states.
        context: ``(N, S, D)`` attended states.
        context_mask: optional ``(N, S)`` bool, True on real context tokens.
            A row without any real token attends to nothing (output 0).
        key_pos: optional ``(S, D)`` or ``(N, S, D)`` positions added to the
            keys only (as DETR adds its positional encoding).

    Returns:
        ``(N, L, D)`` the attended context (without the residual).
    """
    key = context if key_pos is None else context + key_pos
    if context_mask is None:
        return F.scaled_dot_product_attention(query, key, context)
    safe_mask, has_key = _safe_key_mask(context_mask)
    attended = F.scaled_dot_product_attention(
        query, key, context, attn_mask=safe_mask.unsqueeze(1))
    return attended * has_key.to(attended.dtype)[:, None, None]


class LearnableCrossAttention(nn.Module):
    """Multi-head cross-attention + residual + LayerNorm (post-norm).

    Args:
        embed_dim: size of the attending and attended states.
        num_heads: attention heads; ``embed_dim`` must be divisible by it.
        dropout: dropout on the attention weights and on the attended output.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0):
        super().__init__()
        if embed_dim % num_heads != 0:
            raise ValueError(f'hidden_dim={embed_dim} is not divisible by '
                             f'num_heads={num_heads}')
        self.attn = nn.MultiheadAttention(
            embed_dim, num_heads, dropout=dropout, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(embed_dim)

    def forward(self,
                query: torch.Tensor,
                context: torch.Tensor,
                context_mask: Optional[torch.Tensor] = None,
                key_pos: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Attend ``query`` to ``context`` and add the result to ``query``.

        Args:
            query: ``(N, L, D)`` attending states.
            context: ``(N, S, D)`` attended states.
            context_mask: optional ``(N, S)`` bool, True on real context
                tokens. A row without any real token adds nothing.
            key_pos: optional ``(S, D)`` or ``(N, S, D)`` positions added to
                the keys only (DETR's decoder cross-attention).

        Returns:
            ``(N, L, D)`` ``LayerNorm(query + Dropout(Attn(query, context)))``.
        """
        key = context if key_pos is None else context + key_pos
        if context_mask is None:
            attended = self.attn(query, key, context, need_weights=False)[0]
        else:
            safe_mask, has_key = _safe_key_mask(context_mask)
            attended = self.attn(
                query, key, context, key_padding_mask=~safe_mask,
                need_weights=False)[0]
            attended = attended * has_key.to(attended.dtype)[:, None, None]
        return self.norm(query + self.dropout(attended))


@SPACE_DECODERS.register_module()
class QueryGuidedSpaceDecoder(BaseSpaceDecoder):
    """Per-frame dual cross-attention (text -> visual, visual -> query) + box MLP.

    Args:
        hidden_dim: size of the LLM hidden states the head reads (the grounder
            fills it with the LLM's hidden size unless the config gives it).
        attention: ``'learnable'`` (multi-head cross-attention layers with
            LayerNorm and residual) or ``'parameter_free'`` (scaled
            dot-product over the LLM's own hidden states; only the MLP is
            new).
        num_heads: heads of the learnable attention layers (ignored by the
            parameter-free reading).
        dropout: dropout of the learnable attention layers.
        mlp_dim: width of the box MLP's hidden layers; ``hidden_dim``
            when None.
        num_mlp_layers: linear layers of the box MLP (3 as in DETR).
        positional_encoding: None (the paper's reading: the LLM states' own
            1-D RoPE positions only) or the arguments of mmdet's
            ``SinePositionalEncoding`` but ``num_feats`` (``hidden_dim // 2``),
            e.g. ``dict(normalize=True)`` (ours): DETR's 2-D sine encoding of
            each visual token's (row, column) on its frame's token grid,
            added to the keys of the query's attention over its frame, not
            to the values. The grid is read from the frame's token count
            ``P``: a square grid of ``n * n`` tokens, or ``n * (n + 1)`` with
            LLaVA's newline token after each row (which gets no position).
        loss_bbox: config of the L1 loss on normalised cxcywh.
        loss_iou: config of the GIoU loss on normalised xyxy.
        init_cfg: MMEngine initialisation config.
    """

    ATTENTIONS = ('learnable', 'parameter_free')

    def __init__(self,
                 hidden_dim: int,
                 attention: str = 'learnable',
                 num_heads: int = 8,
                 dropout: float = 0.0,
                 mlp_dim: Optional[int] = None,
                 num_mlp_layers: int = 3,
                 positional_encoding: Optional[dict] = None,
                 loss_bbox: dict = dict(type='mmdet.L1Loss', loss_weight=5.0),
                 loss_iou: dict = dict(type='mmdet.GIoULoss', loss_weight=2.0),
                 init_cfg: Optional[dict] = None):
        super().__init__(
            hidden_dim=hidden_dim, loss_bbox=loss_bbox, loss_iou=loss_iou,
            init_cfg=init_cfg)
        if attention not in self.ATTENTIONS:
            raise ValueError(f'QueryGuidedSpaceDecoder: attention must be one of '
                             f'{self.ATTENTIONS}, got {attention!r}')
        if num_mlp_layers < 1:
            raise ValueError(f'num_mlp_layers must be >= 1, got {num_mlp_layers}')
        self.attention = attention
        if attention == 'learnable':
            self.text_to_visual = LearnableCrossAttention(hidden_dim, num_heads, dropout)
            self.visual_to_query = LearnableCrossAttention(hidden_dim, num_heads, dropout)
        else:
            self.text_to_visual = None
            self.visual_to_query = None
        self.box_mlp = MLP(hidden_dim, mlp_dim or hidden_dim, 4, num_mlp_layers)
        self.positional_encoding = None
        if positional_encoding is not None:
            if hidden_dim % 2:
                raise ValueError(f'QueryGuidedSpaceDecoder: a sine positional encoding '
                                 f'needs an even hidden_dim, got {hidden_dim}')
            options = {k: v for k, v in positional_encoding.items() if k != 'type'}
            self.positional_encoding = SinePositionalEncoding(
                num_feats=hidden_dim // 2, **options)
        self._position_cache: Dict[Tuple[int, torch.device], torch.Tensor] = {}

    def frame_token_positions(self, num_tokens: int, device: torch.device) -> torch.Tensor:
        """``(P, D)`` sine encodings of a frame's ``P`` visual tokens' grid cells.

        Raises:
            ValueError: ``P`` is neither ``n * n`` nor ``n * (n + 1)``.
        """
        key = (num_tokens, device)
        if key not in self._position_cache:
            rows, cols, newline = square_token_layout(num_tokens, type(self).__name__)
            # The newline column is masked: its cells take no part in the
            # normalisation and get a zero encoding.
            mask = torch.zeros(1, rows, cols + newline, dtype=torch.bool, device=device)
            mask[:, :, cols:] = True
            pos = self.positional_encoding(mask)[0].permute(1, 2, 0)  # (rows, cols', D)
            pos = pos.masked_fill(mask[0, :, :, None], 0.0)
            self._position_cache[key] = pos.reshape(num_tokens, -1)
        return self._position_cache[key]

    def _cross_attend(self, layer: Optional[LearnableCrossAttention],
                      query: torch.Tensor, context: torch.Tensor,
                      context_mask: Optional[torch.Tensor] = None,
                      key_pos: Optional[torch.Tensor] = None) -> torch.Tensor:
        """One residual cross-attention in the configured reading."""
        if layer is not None:
            return layer(query, context, context_mask, key_pos)
        return query + parameter_free_cross_attention(query, context, context_mask, key_pos)

    def _check_inputs(self, query_states: torch.Tensor, frame_states: torch.Tensor,
                      text_states: torch.Tensor, text_mask: torch.Tensor) -> None:
        """Raise a ValueError naming the argument whose shape is wrong."""
        name = type(self).__name__
        if query_states.dim() != 3:
            raise ValueError(f'{name}: query_states must be (B, T, D), got '
                             f'{tuple(query_states.shape)}')
        batch, frames, dim = query_states.shape
        if dim != self.hidden_dim:
            raise ValueError(f'{name}: query_states has D={dim} but '
                             f'hidden_dim={self.hidden_dim}')
        if frame_states.dim() != 4 or tuple(frame_states.shape[:2]) != (batch, frames) \
                or frame_states.shape[3] != dim:
            raise ValueError(f'{name}: frame_states must be (B={batch}, T={frames}, P, '
                             f'D={dim}), got {tuple(frame_states.shape)}')
        if text_states.dim() != 3 or text_states.shape[0] != batch \
                or text_states.shape[2] != dim:
            raise ValueError(f'{name}: text_states must be (B={batch}, S, D={dim}), '
                             f'got {tuple(text_states.shape)}')
        if tuple(text_mask.shape) != tuple(text_states.shape[:2]):
            raise ValueError(f'{name}: text_mask must be (B, S) = '
                             f'{tuple(text_states.shape[:2])}, got '
                             f'{tuple(text_mask.shape)}')

    def forward(self, head_inputs: HeadInputs, return_states: bool = False):
        """Boxes for every sampled frame (and the guided query states ``q'``).

        Args:
            head_inputs: the batch's per-frame states (:class:`HeadInputs`):
                ``query`` ``(B, T, D)`` each frame's query state, ``frames``
                ``(B, T, P, D)`` each frame's visual tokens, ``text``
                ``(B, S, D)`` the sentence tokens, right-padded, and
                ``text_mask`` ``(B, S)`` (padded tokens are never attended
                to, and a sample without any sentence token skips the text
                attention). ``frame_grids`` (each video's ``(rows, cols)``
                token grid, or None) is read by reference points on the grid
                (:class:`.addons.ReferencePointSpaceDecoder`), not by the
                paper's box MLP; None: the grid, where needed, is read from
                ``P`` (a square, LLaVA's).
            return_states: also return each frame's query after it attended
                to the frame's text-enhanced visual tokens (``q'_t``, it knows
                the sentence and the frame whatever the prompt order).

        Returns:
            ``(B, T, 4)`` boxes, normalised ``(cx, cy, w, h)`` in [0, 1]; with
            ``return_states``, ``(boxes, states (B, T, D))``.
        """
        query_states, frame_states = head_inputs.query, head_inputs.frames
        text_states, text_mask = head_inputs.text, head_inputs.text_mask
        frame_grids = head_inputs.frame_grids
        self._check_inputs(query_states, frame_states, text_states, text_mask)
        batch, frames, tokens, dim = frame_states.shape
        dtype = self.box_mlp.layers[0].weight.dtype
        query_states = query_states.to(dtype)
        frame_states = frame_states.to(dtype)
        text_states = text_states.to(dtype)
        text_mask = text_mask.bool()

        # (1) Every visual token of every frame attends to its sample's sentence.
        visual = frame_states.reshape(batch, frames * tokens, dim)
        enhanced = self._cross_attend(self.text_to_visual, visual, text_states, text_mask)
        # (2) Each frame's query attends to its own frame's enhanced tokens.
        enhanced = self._add_token_positions(enhanced.reshape(batch * frames, tokens, dim))
        queries = query_states.reshape(batch * frames, 1, dim)
        key_pos = None
        if self.positional_encoding is not None:
            key_pos = self.frame_token_positions(tokens, enhanced.device).to(enhanced.dtype)
        guided = self._cross_attend(self.visual_to_query, queries, enhanced, key_pos=key_pos)
        states = guided.reshape(batch, frames, dim)
        boxes = self._predict_boxes(states, guided, enhanced, frame_grids)
        return (boxes, states) if return_states else boxes

    def _add_token_positions(self, enhanced: torch.Tensor) -> torch.Tensor:
        """``(B*T, P, D)`` enhanced tokens before the query reads them: as they are."""
        return enhanced

    def _predict_boxes(self, states: torch.Tensor, guided: torch.Tensor,
                       enhanced: torch.Tensor,
                       frame_grids: Optional[Sequence[Tuple[int, int]]] = None
                       ) -> torch.Tensor:
        """``(B, T, 4)`` boxes from the guided queries: ``sigmoid(MLP(q'))``."""
        return self.box_mlp(states).sigmoid()

    def extra_repr(self) -> str:
        return (f'hidden_dim={self.hidden_dim}, attention={self.attention!r}, '
                f'positional_encoding={self.positional_encoding is not None}')
