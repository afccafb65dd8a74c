"""The answer coder's contract: a sample's target answer in text, and a reply read back.

As mmdet's box coders (``BaseBBoxCoder`` in ``TASK_UTILS``) turn boxes into
regression targets and back, an answer coder turns a sample's ground truth
into the text the LLM is trained to write (:meth:`BaseAnswerCoder.encode`) and
a generated reply into a typed :class:`AnswerResult`
(:meth:`BaseAnswerCoder.decode`). Decoding never writes to the sample: the
grounder packs the result (``prediction_packing.py``). Which coder answers
which task is one table (:mod:`.answer_coder_table`).
"""
from abc import ABCMeta, abstractmethod
from typing import Dict, NamedTuple, Optional, Sequence, Tuple

import torch

from mmstvg.structures import GroundingDataSample

__all__ = ['AnswerResult', 'BaseAnswerCoder']


class AnswerResult(NamedTuple):
    """What a reply says, read by :meth:`BaseAnswerCoder.decode`.

    Attributes:
        span: ``(start, end)`` in seconds, clipped to the video; None when the
            answer states no span or could not be read.
        boxes: ``(T, 4)`` normalised ``cxcywh`` per sampled frame read from the
            text (zeros where none), or None: the boxes are the heads'.
        choice: the chosen option's index (``-1``: unreadable) of a
            multiple-choice answer; None for other answers.
        ok: whether the reply was read (False: a parse failure).
        box_scores: ``(T,)`` confidence of ``boxes``, or None.
        num_malformed_boxes: malformed box entries in the text, for answers
            that write boxes; None for the others.
    """

    span: Optional[Tuple[float, float]] = None
    boxes: Optional[torch.Tensor] = None
    choice: Optional[int] = None
    ok: bool = True
    box_scores: Optional[torch.Tensor] = None
    num_malformed_boxes: Optional[int] = None


class BaseAnswerCoder(metaclass=ABCMeta):
    """Base answer coder: ``encode`` the target answer, ``decode`` a reply.

    Subclasses register in ``TASK_UTILS``. A configured answer (the grounder's
    ``answer=dict(type=...)``) also says which coder plays each role of the
    task table (:meth:`role_coders`).

    Args:
        tokenizer: the LLM's tokenizer (filled in by the grounder).
    """

    #: Whether the LLM generates a reply to decode (False: ``decode`` reads '').
    generates_text = True
    #: Whether a time pointer runs on this answer's logits (not on a letter).
    time_pointed = True
    #: What the prediction holds: ``'grounding'`` (a span, boxes),
    #: ``'choice'`` (an option) or ``'text'`` (the reply itself).
    prediction = 'grounding'

    def __init__(self, tokenizer=None):
        self.tokenizer = tokenizer

    @abstractmethod
    def encode(self, sample: GroundingDataSample, times: Sequence[float],
               duration: float) -> str:
        """The answer the LLM is trained to write for one sample.

        Args:
            sample: the data sample (its ground truth).
            times: times in seconds of its sampled frames.
            duration: the video's duration in seconds.
        """

    @abstractmethod
    def decode(self, sample: GroundingDataSample, text: str) -> AnswerResult:
        """What a generated reply says (the sample is only read)."""

    def role_coders(self) -> Dict[str, 'BaseAnswerCoder']:
        """The coder of each role of the task table this configured answer fills
        (:data:`.answer_coder_table.TASK_ANSWERS`); none by default."""
        return {}
