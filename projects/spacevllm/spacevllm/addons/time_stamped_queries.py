"""Interleaved queries whose embeddings carry their frame's time stamp.

Ours, not the paper's: adding the mean embedding of a frame's time-stamp
tokens to its query and/or visual tokens (a temporal embedding, as TimeChat
uses) lets an answer that attends to the frame where the event starts find
the very time token it has to write. See ``docs/en/model_core.md``.
"""
from typing import List, Sequence, Union

import torch

from mmstvg.registry import QUERY_INTERLEAVERS

from ..interleaved_queries import InterleavedQueries

__all__ = ['TimeStampedQueries']


@QUERY_INTERLEAVERS.register_module()
class TimeStampedQueries(InterleavedQueries):
    """:class:`InterleavedQueries` plus each frame's time-stamp embedding (ours).

    Args:
        add_time_to: where to add the mean of each frame's prefix embeddings
            (its time stamp, e.g. ``"3.2"`` ``"s"``): any of ``'queries'`` and
            ``'visual_tokens'``. Frames without a prefix add nothing.
        **kwargs: the arguments of :class:`InterleavedQueries`.
    """

    TIME_TARGETS = ('queries', 'visual_tokens')

    def __init__(self, add_time_to: Union[str, Sequence[str]] = ('queries', ), **kwargs):
        super().__init__(**kwargs)
        add_time_to = (add_time_to, ) if isinstance(add_time_to, str) else add_time_to
        unknown = set(add_time_to) - set(self.TIME_TARGETS)
        if unknown:
            raise ValueError(f'TimeStampedQueries: add_time_to takes {self.TIME_TARGETS}, '
                             f'got {sorted(unknown)}')
        self.add_time_to = tuple(add_time_to)

    def _add_frame_times(self, queries: torch.Tensor, visual_tokens: torch.Tensor,
                         prefixes: torch.Tensor, prefix_lengths: List[int]):
        frame_time = self._mean_prefix(prefixes, prefix_lengths)
        if 'queries' in self.add_time_to:
            queries = queries + frame_time
        if 'visual_tokens' in self.add_time_to:
            visual_tokens = visual_tokens + frame_time.unsqueeze(1)
        return queries, visual_tokens

    @staticmethod
    def _mean_prefix(prefixes: torch.Tensor, prefix_lengths: List[int]) -> torch.Tensor:
        """``(T, D)`` mean of each frame's prefix embeddings (0 without a prefix).

        Args:
            prefixes: ``(sum_t n_t, D)`` every prefix embedding, frame by frame.
            prefix_lengths: ``n_t`` of each frame.
        """
        lengths = torch.as_tensor(prefix_lengths, device=prefixes.device)
        frame_of_prefix = torch.repeat_interleave(
            torch.arange(len(prefix_lengths), device=prefixes.device), lengths)
        sums = prefixes.new_zeros(len(prefix_lengths), prefixes.shape[1])
        sums.index_add_(0, frame_of_prefix, prefixes)
        return sums / lengths.clamp(min=1).unsqueeze(1).to(prefixes.dtype)

    def extra_repr(self) -> str:
        return f'{super().extra_repr()}, add_time_to={self.add_time_to}'
