"""A copy head for time stamps: the LLM writes a shown time by pointing at a frame boundary.

With ``answer_times='sampled_frames'`` (see :class:`PromptBuilder`) every time
the LLM writes in its answer is one it was shown: the start is the time stamp
of the first sampled frame inside the span, the end the time stamp of the
first sampled frame after it, or the video's duration. Writing such a time
means *copying* a token from far back in the context, a skill a pretrained LLM
brings and a tiny LLM trained from scratch does not pick up in a few thousand
steps (its answer loss stays at the entropy of the answer distribution: it
learns how often each time occurs, not which one the video shows).

:class:`TimeStampPointer` gives the LLM that skill as a pointer, in the
spirit of pointer-generator networks. The ``T + 1`` frame *boundaries* of a
sample (before frame 0, between frames, after the last frame) are each
described by the query states on their two sides::

    key_j = W_cur q_j + W_prev q_{j-1}        (q_{-1} = q_T = 0)

and valued by the time the answer writes for them (frame ``j``'s time stamp;
the duration for ``j = T``). At every answer position with state ``h`` the
boundaries score ``s_j = (W_ans h) . key_j / sqrt(d)``, and each score is
added to the LM logit of its boundary's time token (boundaries sharing one
token are combined with log-sum-exp). The LM head still writes every token;
the pointer only moves probability between the shown times. A start
("outside before, inside here") and an end ("inside before, outside here")
are then a *linear* read of the two query states around a boundary, which
the LLM's queries learn quickly under the answer loss.

It needs each time an answer writes to be one token of the tokenizer, alone
and inside the answer (the toy tokenizer has one token per 0.1 s; a real
tokenizer would need added time tokens). It is an option of ours, not part of
the SpaceVLLM paper: the toy LLM is random, and this is its stand-in for a
pretrained LLM's copying.
"""
import math
from typing import Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModule
from torch import nn

from mmstvg.registry import MODELS

__all__ = ['TimeStampPointer']


@MODELS.register_module()
class TimeStampPointer(BaseModule):
    """Points from answer states at frame boundaries, adding to their time tokens' logits.

    Args:
        hidden_dim: the LLM's hidden size (filled in by the grounder).
        key_dim: size of the pointer's keys; default ``hidden_dim``.
        init_cfg: MMEngine init config.
    """

    def __init__(self, hidden_dim: int, key_dim: Optional[int] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        key_dim = key_dim or hidden_dim
        self.key_dim = key_dim
        self.answer_proj = nn.Linear(hidden_dim, key_dim)
        self.current_proj = nn.Linear(hidden_dim, key_dim)
        self.previous_proj = nn.Linear(hidden_dim, key_dim, bias=False)

    def boundary_keys(self, frame_states: torch.Tensor,
                      num_frames: Sequence[int]) -> Tuple[torch.Tensor, torch.Tensor]:
        """Keys of the ``T + 1`` frame boundaries of each sample.

        Args:
            frame_states: ``(B, T_max, D)`` one state per sampled frame (the
                LLM's query states or the space decoder's; padding frames are
                ignored).
            num_frames: each sample's number of sampled frames ``T_b``.

        Returns:
            ``(keys, valid)``: ``(B, T_max + 1, key_dim)`` and ``(B, T_max + 1)``
            bool; boundary ``j`` of sample ``b`` is valid for ``j <= T_b``.
        """
        batch, max_t, _ = frame_states.shape
        counts = torch.as_tensor(list(num_frames), device=frame_states.device)
        if counts.numel() != batch or bool((counts > max_t).any()) or bool((counts < 1).any()):
            raise ValueError(f'num_frames {counts.tolist()} do not fit frame states '
                             f'of {max_t} frames for {batch} samples')
        steps = torch.arange(max_t + 1, device=frame_states.device)
        real = (steps[None, :max_t] < counts[:, None]).unsqueeze(-1)
        states = frame_states.to(self.current_proj.weight.dtype) * real
        zeros = states.new_zeros(batch, 1, states.shape[-1])
        current = torch.cat([states, zeros], dim=1)
        previous = torch.cat([zeros, states], dim=1)
        keys = self.current_proj(current) + self.previous_proj(previous)
        return keys, steps[None] <= counts[:, None]

    def forward(self, logits: torch.Tensor, answer_states: torch.Tensor,
                keys: torch.Tensor, value_ids: torch.Tensor,
                valid: torch.Tensor) -> torch.Tensor:
        """Add the boundary scores to the logits of the boundaries' time tokens.

        Args:
            logits: ``(N, V)`` LM logits at ``N`` answer positions.
            answer_states: ``(N, D)`` the LLM states that gave those logits.
            keys: ``(N, J, key_dim)`` boundary keys of each position's sample.
            value_ids: ``(N, J)`` token id each boundary's time is written as.
            valid: ``(N, J)`` which boundaries exist (at least one per row).

        Returns:
            ``(N, V)`` float32 logits.
        """
        if not bool(valid.any(-1).all()):
            raise ValueError('every answer position needs at least one valid frame boundary')
        logits = logits.float()
        query = self.answer_proj(answer_states.to(self.answer_proj.weight.dtype)).float()
        scores = torch.einsum('nd,njd->nj', query, keys.float()) / math.sqrt(self.key_dim)
        scores = scores.masked_fill(~valid, float('-inf'))
        top = scores.amax(-1, keepdim=True)
        weights = (scores - top).exp()  # 0 where invalid
        ids = value_ids.clamp_min(0)
        summed = logits.new_zeros(logits.shape).scatter_add(1, ids, weights)
        touched = logits.new_zeros(logits.shape).scatter_add(1, ids, valid.float()) > 0
        pointer = torch.where(touched, summed.clamp_min(1e-30).log() + top, 0.0)
        return logits + pointer
