"""The interface of a query interleaver: where query tokens go among visual tokens."""
from abc import ABCMeta, abstractmethod
from dataclasses import dataclass
from typing import List, Optional

import torch
from mmengine.model import BaseModule


@dataclass
class InterleavedVideo:
    """The video segment of one sample's LLM input, with its layout.

    Positions are indices into ``embeds`` (the segment), so the grounder can
    shift them by the segment's offset in the whole sequence.

    Attributes:
        embeds: ``(L, D)`` the segment: visual tokens and query tokens in
            sequence order.
        frame_token_index: ``(T, P)`` long, position of each frame's visual
            tokens in ``embeds``.
        frame_prefix_index: ``(T,)`` long, position of the first token of
            each frame's prefix (e.g. its time stamp), or of its first visual
            token when it has no prefix.
        query_index: ``(Q,)`` long, position of each query token in ``embeds``.
            For per-frame queries ``Q == T`` and query ``t`` belongs to frame
            ``t``; an interleaver without queries gives ``Q == 0``.
    """
    embeds: torch.Tensor
    frame_token_index: torch.Tensor
    frame_prefix_index: torch.Tensor
    query_index: torch.Tensor

    @property
    def num_queries(self) -> int:
        return int(self.query_index.numel())


def places_queries(interleaver) -> bool:
    """Whether a query interleaver places query tokens (its ``places_queries``;
    a part that does not say, e.g. one not derived from
    :class:`BaseQueryInterleaver`, is taken to place them)."""
    return bool(getattr(interleaver, 'places_queries', True))


class BaseQueryInterleaver(BaseModule, metaclass=ABCMeta):
    """Places learnable query tokens among the visual tokens of one video.

    Subclasses implement :meth:`forward`. The grounder builds an interleaver
    with ``embed_dim`` set to the LLM's hidden size unless the config gives it.

    Args:
        embed_dim: size of the LLM's token embeddings.
        init_cfg: MMEngine initialisation config.
    """

    #: Whether :meth:`forward` places query tokens (the heads read their
    #: states); an interleaver of frames only sets it False.
    places_queries: bool = True

    def __init__(self, embed_dim: int, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.embed_dim = embed_dim

    @abstractmethod
    def forward(self,
                visual_tokens: torch.Tensor,
                frame_prefix_embeds: Optional[List[torch.Tensor]] = None
                ) -> InterleavedVideo:
        """Lay out one video's visual tokens and its queries.

        Each frame's block is ``[prefix tokens][visual tokens]``; where the
        queries go is what distinguishes one interleaver from another.

        Args:
            visual_tokens: ``(T, P, D)`` projected visual tokens of the ``T``
                sampled frames of one sample (``T == 1`` for an image).
            frame_prefix_embeds: optional list of ``T`` tensors ``(n_t, D)``,
                embedded text placed right before frame ``t``'s visual tokens
                (the grounder uses it for per-frame time stamps).

        Returns:
            The segment and its layout.
        """
