"""Queries after the whole video: the "not interleaved" baseline of SpaceVLLM."""
from typing import List, Optional

import torch
import torch.nn as nn

from mmstvg.registry import QUERY_INTERLEAVERS

from .base import BaseQueryInterleaver, InterleavedVideo

__all__ = ['AppendedQueries', 'NoQueries', 'lay_out_frames']


def lay_out_frames(visual_tokens: torch.Tensor,
                   frame_prefix_embeds: Optional[List[torch.Tensor]] = None):
    """Concatenate ``[prefix_t][visual tokens of t]`` for every frame.

    Args:
        visual_tokens: ``(T, P, D)``.
        frame_prefix_embeds: optional ``T`` tensors ``(n_t, D)``.

    Returns:
        ``(embeds (L, D), frame_token_index (T, P), frame_prefix_index (T,))``.
    """
    num_frames, num_tokens, _ = visual_tokens.shape
    if frame_prefix_embeds is not None and len(frame_prefix_embeds) != num_frames:
        raise ValueError(f'{len(frame_prefix_embeds)} frame prefixes for '
                         f'{num_frames} frames')
    pieces, token_index, prefix_index = [], [], []
    cursor = 0
    for t in range(num_frames):
        prefix = None if frame_prefix_embeds is None else frame_prefix_embeds[t]
        prefix_index.append(cursor)
        if prefix is not None and prefix.shape[0] > 0:
            pieces.append(prefix.to(visual_tokens.dtype))
            cursor += prefix.shape[0]
        pieces.append(visual_tokens[t])
        token_index.append(torch.arange(cursor, cursor + num_tokens))
        cursor += num_tokens
    device = visual_tokens.device
    return (torch.cat(pieces, dim=0), torch.stack(token_index).to(device),
            torch.tensor(prefix_index, dtype=torch.long, device=device))


@QUERY_INTERLEAVERS.register_module()
class AppendedQueries(BaseQueryInterleaver):
    """All ``T`` query tokens after the whole video; query ``t`` is frame ``t``'s.

    Layout: ``[p_0][v_0] [p_1][v_1] ... [p_{T-1}][v_{T-1}] [q_0 ... q_{T-1}]``.
    Every query sees every frame (causal attention), so what tells query ``t``
    apart is its learnable frame-index embedding added to a shared query
    embedding (and its position).

    Args:
        embed_dim: LLM embedding size.
        max_frames: size of the frame-index embedding table.
        init_std: std of the normal init of the shared query embedding.
        init_cfg: MMEngine init config.
    """

    def __init__(self, embed_dim: int, max_frames: int = 256, init_std: float = 0.02,
                 init_cfg: Optional[dict] = None):
        super().__init__(embed_dim=embed_dim, init_cfg=init_cfg)
        self.max_frames = max_frames
        self.query_embed = nn.Parameter(torch.randn(1, embed_dim) * init_std)
        self.frame_index_embed = nn.Parameter(torch.zeros(max_frames, embed_dim))

    def forward(self, visual_tokens: torch.Tensor,
                frame_prefix_embeds: Optional[List[torch.Tensor]] = None
                ) -> InterleavedVideo:
        num_frames = visual_tokens.shape[0]
        if num_frames > self.max_frames:
            raise ValueError(f'{num_frames} frames exceed max_frames={self.max_frames} '
                             'of AppendedQueries')
        video, token_index, prefix_index = lay_out_frames(visual_tokens,
                                                          frame_prefix_embeds)
        queries = self.query_embed + self.frame_index_embed[:num_frames]
        start = video.shape[0]
        embeds = torch.cat([video, queries.to(video.dtype)], dim=0)
        query_index = torch.arange(start, start + num_frames, device=embeds.device)
        return InterleavedVideo(embeds, token_index, prefix_index, query_index)


@QUERY_INTERLEAVERS.register_module()
class NoQueries(BaseQueryInterleaver):
    """Frames only, no query tokens (TVG-only models and the text-box baseline).

    Args:
        embed_dim: LLM embedding size.
        init_cfg: MMEngine init config.
    """

    places_queries = False

    def forward(self, visual_tokens: torch.Tensor,
                frame_prefix_embeds: Optional[List[torch.Tensor]] = None
                ) -> InterleavedVideo:
        video, token_index, prefix_index = lay_out_frames(visual_tokens,
                                                          frame_prefix_embeds)
        query_index = torch.zeros(0, dtype=torch.long, device=video.device)
        return InterleavedVideo(video, token_index, prefix_index, query_index)
