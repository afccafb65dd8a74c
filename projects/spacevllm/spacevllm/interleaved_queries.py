"""SpaceVLLM's interleaved spatio-temporal aware queries (the paper's part).

One learnable query token right after each sampled frame's ``[prefix][visual
tokens]``, so under causal attention the query of frame ``t`` sees frames
``0..t``; an image gets one query. Layout and positions:
``docs/en/model_core.md``.
"""
from typing import List, Optional

import torch
from torch import nn

from mmstvg.models.query_interleavers.base import (BaseQueryInterleaver,
                                                   InterleavedVideo)
from mmstvg.registry import QUERY_INTERLEAVERS


@QUERY_INTERLEAVERS.register_module()
class InterleavedQueries(BaseQueryInterleaver):
    """One learnable query token after each sampled frame's visual tokens.

    The query embedding is either one vector shared by every frame
    (``frame_index_embed=False``; the query of frame ``t`` is still told
    apart from the others by its position and by what it can attend to), or
    that shared vector plus a learnable embedding of the frame's index
    ``t`` in the sampled sequence (``frame_index_embed=True``, at most
    ``max_frames`` frames). The paper does not say which; both are offered.

    Args:
        embed_dim: size of the LLM's token embeddings (the grounder fills it
            with the LLM's hidden size unless the config gives it).
        frame_index_embed: add a learnable per-frame-index embedding to the
            shared query embedding.
        max_frames: the most frames a sample may have when
            ``frame_index_embed`` is True (SpaceVLLM samples 64).
        init_std: standard deviation of the normal initialisation of the
            query (and frame-index) embeddings; the LLM's own
            ``initializer_range`` (0.02 for Qwen2) is a good choice.
        init_cfg: MMEngine initialisation config.
    """

    def __init__(self,
                 embed_dim: int,
                 frame_index_embed: bool = False,
                 max_frames: int = 64,
                 init_std: float = 0.02,
                 init_cfg: Optional[dict] = None):
        super().__init__(embed_dim=embed_dim, init_cfg=init_cfg)
        if embed_dim <= 0:
            raise ValueError(f'embed_dim must be positive, got {embed_dim}')
        if max_frames <= 0:
            raise ValueError(f'max_frames must be positive, got {max_frames}')
        if init_std < 0:
            raise ValueError(f'init_std must be >= 0, got {init_std}')
        self.use_frame_index_embed = frame_index_embed
        self.max_frames = max_frames
        self.init_std = init_std
        self.query_embed = nn.Parameter(torch.empty(embed_dim))
        self.frame_index_embed = (
            nn.Embedding(max_frames, embed_dim) if frame_index_embed else None)
        self._init_query_embeddings()

    def _init_query_embeddings(self) -> None:
        """Draw the query (and frame-index) embeddings from N(0, init_std)."""
        nn.init.normal_(self.query_embed, mean=0.0, std=self.init_std)
        if self.frame_index_embed is not None:
            nn.init.normal_(self.frame_index_embed.weight, mean=0.0, std=self.init_std)

    def query_embeddings(self, num_frames: int) -> torch.Tensor:
        """The embeddings of the queries of ``num_frames`` frames.

        Args:
            num_frames: number of sampled frames ``T`` of one sample.

        Returns:
            ``(T, D)`` query embeddings, row ``t`` for frame ``t``.

        Raises:
            ValueError: when a frame-index embedding is used and ``T`` is
                larger than ``max_frames``.
        """
        queries = self.query_embed.unsqueeze(0).expand(num_frames, -1)
        if self.frame_index_embed is None:
            return queries
        if num_frames > self.max_frames:
            raise ValueError(
                f'InterleavedQueries: visual_tokens has {num_frames} frames but '
                f'max_frames={self.max_frames}; raise max_frames in the config '
                '(model.query_interleaver.max_frames)')
        frame_ids = torch.arange(num_frames, device=self.query_embed.device)
        return queries + self.frame_index_embed(frame_ids)

    def _check_inputs(self, visual_tokens: torch.Tensor,
                      frame_prefix_embeds: Optional[List[torch.Tensor]]) -> List[int]:
        """Validate the inputs of :meth:`forward` and return the prefix lengths."""
        if visual_tokens.dim() != 3:
            raise ValueError('InterleavedQueries: visual_tokens must be (T, P, D), '
                             f'got shape {tuple(visual_tokens.shape)}')
        num_frames, _, dim = visual_tokens.shape
        if num_frames == 0:
            raise ValueError('InterleavedQueries: visual_tokens has no frame (T == 0)')
        if dim != self.embed_dim:
            raise ValueError(f'InterleavedQueries: visual_tokens has D={dim} but '
                             f'embed_dim={self.embed_dim}')
        if frame_prefix_embeds is None:
            return [0] * num_frames
        if len(frame_prefix_embeds) != num_frames:
            raise ValueError(
                f'InterleavedQueries: frame_prefix_embeds has {len(frame_prefix_embeds)} '
                f'entries for {num_frames} frames of visual_tokens')
        lengths = []
        for t, prefix in enumerate(frame_prefix_embeds):
            if prefix.dim() != 2 or prefix.shape[1] != dim:
                raise ValueError(
                    f'InterleavedQueries: frame_prefix_embeds[{t}] must be (n, {dim}), '
                    f'got shape {tuple(prefix.shape)}')
            lengths.append(int(prefix.shape[0]))
        return lengths

    @staticmethod
    def layout(prefix_lengths: List[int], num_tokens_per_frame: int,
               device: Optional[torch.device] = None) -> dict:
        """Positions of every prefix, visual and query token in the segment.

        Args:
            prefix_lengths: ``n_t`` for each of the ``T`` frames.
            num_tokens_per_frame: ``P``, visual tokens per frame.
            device: device of the returned index tensors.

        Returns:
            A dict with ``length`` (int, the segment length
            ``sum_t (n_t + P + 1)``), ``frame_prefix_index`` ``(T,)``,
            ``frame_token_index`` ``(T, P)``, ``query_index`` ``(T,)`` and
            ``prefix_token_index`` ``(sum_t n_t,)`` (every prefix token, frame
            by frame), all long tensors.
        """
        lengths = torch.as_tensor(prefix_lengths, dtype=torch.long, device=device)
        block = lengths + num_tokens_per_frame + 1
        block_start = torch.cumsum(block, 0) - block
        visual_start = block_start + lengths
        offsets = torch.arange(num_tokens_per_frame, dtype=torch.long, device=device)
        frame_token_index = visual_start.unsqueeze(1) + offsets
        query_index = visual_start + num_tokens_per_frame
        # Prefix token k of frame t sits at block_start[t] + k.
        frame_of_prefix = torch.repeat_interleave(
            torch.arange(len(prefix_lengths), device=device), lengths)
        rank_in_prefix = torch.arange(int(lengths.sum()), device=device) - (
            torch.cumsum(lengths, 0) - lengths)[frame_of_prefix]
        prefix_token_index = block_start[frame_of_prefix] + rank_in_prefix
        return dict(
            length=int(block.sum()),
            frame_prefix_index=block_start,
            frame_token_index=frame_token_index,
            query_index=query_index,
            prefix_token_index=prefix_token_index)

    def forward(self,
                visual_tokens: torch.Tensor,
                frame_prefix_embeds: Optional[List[torch.Tensor]] = None
                ) -> InterleavedVideo:
        """Lay out one video as ``[prefix_t][visual_t][query_t]`` per frame.

        Args:
            visual_tokens: ``(T, P, D)`` projected visual tokens of the ``T``
                sampled frames of one sample (``T == 1`` for an image).
            frame_prefix_embeds: optional list of ``T`` tensors ``(n_t, D)``,
                embedded text placed right before frame ``t``'s visual tokens
                (``n_t`` may be 0).

        Returns:
            The segment (``(sum_t (n_t + P + 1), D)``, in the dtype of
            ``visual_tokens``) with the exact positions of each frame's
            prefix, visual tokens and query; ``query_index[t]`` is frame
            ``t``'s query.
        """
        prefix_lengths = self._check_inputs(visual_tokens, frame_prefix_embeds)
        num_frames, num_tokens, dim = visual_tokens.shape
        layout = self.layout(prefix_lengths, num_tokens, device=visual_tokens.device)

        embeds = visual_tokens.new_zeros(layout['length'], dim)
        queries = self.query_embeddings(num_frames).to(
            device=visual_tokens.device, dtype=visual_tokens.dtype)
        if sum(prefix_lengths) > 0:
            prefixes = torch.cat(frame_prefix_embeds, dim=0).to(
                device=visual_tokens.device, dtype=visual_tokens.dtype)
            embeds[layout['prefix_token_index']] = prefixes
            queries, visual_tokens = self._add_frame_times(queries, visual_tokens,
                                                           prefixes, prefix_lengths)
        embeds[layout['frame_token_index'].reshape(-1)] = visual_tokens.reshape(-1, dim)
        embeds[layout['query_index']] = queries
        return InterleavedVideo(
            embeds=embeds,
            frame_token_index=layout['frame_token_index'],
            frame_prefix_index=layout['frame_prefix_index'],
            query_index=layout['query_index'])

    def _add_frame_times(self, queries: torch.Tensor, visual_tokens: torch.Tensor,
                         prefixes: torch.Tensor, prefix_lengths: List[int]):
        """Queries and visual tokens before they are placed: as they are."""
        return queries, visual_tokens

    def extra_repr(self) -> str:
        return (f'embed_dim={self.embed_dim}, '
                f'frame_index_embed={self.use_frame_index_embed}, '
                f'max_frames={self.max_frames}, init_std={self.init_std}')
