"""A copy head for time stamps: the answer writes a shown time by pointing at a frame boundary.

Ours, not the paper's: the random toy LLM cannot learn to copy a time stamp
from far back in its context in a few thousand steps, which a pretrained LLM
brings; this pointer is its stand-in. Rationale and equations:
``docs/en/model_core.md`` ("Our additions").
"""
import math
from typing import Callable, Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModule
from torch import nn

from mmstvg.registry import MODELS
from mmstvg.structures import frame_times_and_duration

__all__ = ['TimeStampPointer']


@MODELS.register_module()
class TimeStampPointer(BaseModule):
    """Points from answer states at frame boundaries, adding to their time tokens' logits.

    Ours, not the paper's (see the module docstring). A logits processor (an
    entry of the grounder's ``logits_processors``): :meth:`bind` gives the
    grounder a callable over one batch's frame states, which calls this
    module (a module call, so ZeRO-3 gathers its weights) on the LM logits of
    every answer position, in training and generation alike.
    Each time an answer writes must be one token (the toy tokenizer has one
    per 0.1 s); :class:`SnappedSpanAnswer` gives the token of every boundary.

    Args:
        hidden_dim: the LLM's hidden size (filled in by the grounder).
        key_dim: size of the pointer's keys; default ``hidden_dim``.
        init_cfg: MMEngine init config.
    """

    #: The grounder's attribute (and state-dict prefix) of this part.
    module_name = 'time_pointer'

    def __init__(self, hidden_dim: int, key_dim: Optional[int] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        key_dim = key_dim or hidden_dim
        self.key_dim = key_dim
        self.answer_proj = nn.Linear(hidden_dim, key_dim)
        self.current_proj = nn.Linear(hidden_dim, key_dim)
        self.previous_proj = nn.Linear(hidden_dim, key_dim, bias=False)

    def check_answer(self, answer) -> None:
        """Raise unless the answer gives each frame boundary's time token.

        Args:
            answer: the grounder's :class:`AnswerCoderTable`.
        """
        if not hasattr(answer.time_coder, 'boundary_time_ids'):
            raise ValueError('a time_pointer points at the shown frame times: use '
                             "answer=dict(type='SnappedSpanAnswer')")
        answer.time_coder.check_time_tokens()

    def bind(self, frames, data_samples: Sequence, answer) -> Callable:
        """The logits processor of one batch (see ``grounders/decoding.py``).

        An answer whose coder is not ``time_pointed`` (a multiple-choice
        letter, a conversation) is left as the LM wrote it (the pointer still
        runs on it, so that every rank calls the same modules, and its result
        is dropped).

        Args:
            frames: the batch's :class:`FrameOutputs` (``states``, one per
                sampled frame, and ``num_frames``).
            data_samples: the batch's samples (``frame_times``, ``duration``).
            answer: the grounder's :class:`AnswerCoderTable`.

        Returns:
            ``(logits (N, V), answer_states (N, D), rows) -> logits``.
        """
        counts, states = frames.num_frames, frames.states
        ids = torch.full((len(counts), states.shape[1] + 1), -1, dtype=torch.long)
        for b, (sample, count) in enumerate(zip(data_samples, counts)):
            times, duration = frame_times_and_duration(sample, count)
            if len(times) != count:
                raise ValueError(f"sample {sample.metainfo.get('video_id')!r} has "
                                 f'{len(times)} frame_times for {count} queries')
            try:
                boundary_ids = answer.time_coder.boundary_time_ids(times, duration)
            except ValueError as error:
                raise ValueError(f"sample {sample.metainfo.get('video_id')!r} "
                                 f'({float(duration):.1f} s long): {error}') from error
            ids[b, :count + 1] = torch.tensor(boundary_ids)
        ids = ids.to(states.device)
        pointed = torch.tensor([answer.time_pointed(s) for s in data_samples],
                               device=states.device)

        def point(logits, answer_states, rows):
            out = self(logits, answer_states, states, counts, ids, rows)
            keep = pointed if rows is None else pointed[rows]
            if bool(keep.all()):
                return out
            return torch.where(keep[:, None], out, logits.to(out.dtype))

        return point

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
                frame_states: torch.Tensor, num_frames: Sequence[int],
                value_ids: torch.Tensor,
                rows: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Add each boundary's score to the logit of its time token.

        Args:
            logits: ``(N, V)`` LM logits at ``N`` answer positions.
            answer_states: ``(N, D)`` the LLM states that gave those logits.
            frame_states: ``(B, T_max, D)`` one state per sampled frame.
            num_frames: each sample's number of sampled frames ``T_b``.
            value_ids: ``(B, T_max + 1)`` token id each boundary's time is
                written as (-1 past a sample's last boundary).
            rows: ``(N,)`` the sample of each answer position; None: ``N == B``,
                position ``b`` belongs to sample ``b`` (generation).

        Returns:
            ``(N, V)`` float32 logits.
        """
        keys, valid = self.boundary_keys(frame_states, num_frames)
        if rows is not None:
            keys, value_ids, valid = keys[rows], value_ids[rows], valid[rows]
        return self.point(logits, answer_states, keys, value_ids, valid)

    def point(self, logits: torch.Tensor, answer_states: torch.Tensor,
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
            ``(N, V)`` float32 logits (computed in float32 also under autocast).
        """
        if not bool(valid.any(-1).all()):
            raise ValueError('every answer position needs at least one valid frame boundary')
        query = self.answer_proj(answer_states.to(self.answer_proj.weight.dtype))
        # Under autocast the einsum would run in bf16 and scatter_add would
        # mix bf16 scores into float32 logits: the pointer's sums stay float32.
        with torch.autocast(device_type=logits.device.type, enabled=False):
            logits = logits.float()
            scores = torch.einsum('nd,njd->nj', query.float(),
                                  keys.float()) / math.sqrt(self.key_dim)
            scores = scores.masked_fill(~valid, float('-inf'))
            top = scores.amax(-1, keepdim=True)
            weights = (scores - top).exp()  # 0 where invalid
            ids = value_ids.clamp_min(0)
            summed = logits.new_zeros(logits.shape).scatter_add(1, ids, weights)
            touched = logits.new_zeros(logits.shape).scatter_add(1, ids, valid.float()) > 0
            pointer = torch.where(touched, summed.clamp_min(1e-30).log() + top, 0.0)
            return logits + pointer
