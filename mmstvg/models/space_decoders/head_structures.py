"""What the per-frame heads read from the LLM and what they give back, typed.

:class:`HeadInputs` is the per-frame view of the LLM's last-layer states that
every head reads (gathered by the grounder from the sequence layouts);
:class:`FrameOutputs` is what the heads made of it in one pass, which the
logits processors, the losses and the predictions then read.
"""
from dataclasses import dataclass, field
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import torch

__all__ = ['HeadInputs', 'FrameOutputs']


class HeadInputs(NamedTuple):
    """Everything a per-frame head may read of a batch, padded to its most
    frames / sentence tokens.

    Every head's ``forward`` takes one (a space decoder's
    ``forward(head_inputs, return_states=False)``, a head of the grounder's
    ``heads`` ``forward(head_inputs)``) and reads the fields it needs; a head
    that ignores a field just does not read it. A named tuple, so that
    ``inputs._replace(query=...)`` gives the same inputs with another state
    per frame.

    Attributes:
        query: ``(B, T, D)`` the per-frame state the head reads: each sampled
            frame's query state, or, for the grounder's ``heads`` with
            ``frame_state_source='space_decoder'``, the states the space
            decoder decoded its boxes from.
        frames: ``(B, T, P, D)`` each sampled frame's visual-token states.
        text: ``(B, S, D)`` the sentence tokens' states, right-padded.
        text_mask: ``(B, S)`` bool, True on real sentence tokens.
        frame_grids: ``B`` ``(rows, cols)``, each video's token grid
            (``rows * cols == P``, row-major) when the vision encoder knows
            every video's (Qwen-VL's per-video grids), else None (a head that
            needs a grid reads it from ``P``).
        frame_mask: ``(B, T)`` bool, True on each sample's real frames (the
            rows past a sample's frames are padding), or None: all real.
    """
    query: torch.Tensor
    frames: torch.Tensor
    text: torch.Tensor
    text_mask: torch.Tensor
    frame_grids: Optional[Sequence[Tuple[int, int]]] = None
    frame_mask: Optional[torch.Tensor] = None


@dataclass
class FrameOutputs:
    """The heads' per-frame outputs of one batch.

    Attributes:
        num_frames: each sample's sampled frames (its real rows of ``T``).
        boxes: ``(B, T, 4)`` normalised ``cxcywh`` of the space decoder, or
            None (no space decoder).
        states: ``(B, T, D)`` the one state per frame that the grounder's
            ``heads`` and ``logits_processors`` read (the LLM's query states
            or the space decoder's, ``frame_state_source``), or None when
            nothing reads them.
        head_outs: each of the grounder's ``heads`` (by its name) -> its
            ``forward`` on the :class:`HeadInputs` whose ``query`` is
            ``states`` (e.g. ``(B, T)`` logits of the frame score head).
    """
    num_frames: List[int]
    boxes: Optional[torch.Tensor] = None
    states: Optional[torch.Tensor] = None
    head_outs: Dict[str, torch.Tensor] = field(default_factory=dict)
