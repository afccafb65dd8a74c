"""The answer of an image (REC) sample beside span answers: a fixed phrase.

An image has no time span to state: its target answer is :data:`REC_ANSWER`,
nothing is generated at test time, and its "span" is the whole image (its box
comes from its query).
"""
from typing import Sequence, Tuple

from mmstvg.registry import TASK_UTILS
from mmstvg.structures import GroundingDataSample

from .base_answer_coder import AnswerResult, BaseAnswerCoder
from .span_text import REC_ANSWER

__all__ = ['WholeImageAnswer', 'whole_input_span']


def whole_input_span(sample: GroundingDataSample) -> Tuple[float, float]:
    """The span of a sample's whole input in seconds: ``(0, duration)`` (1 s if absent)."""
    return 0.0, float(sample.metainfo.get('duration', 1.0))


@TASK_UTILS.register_module()
class WholeImageAnswer(BaseAnswerCoder):
    """The fixed phrase :data:`REC_ANSWER`; the whole image is the span.

    Args:
        tokenizer: the LLM's tokenizer (unused).
    """

    generates_text = False

    def encode(self, sample: GroundingDataSample, times: Sequence[float],
               duration: float) -> str:
        return REC_ANSWER

    def decode(self, sample: GroundingDataSample, text: str) -> AnswerResult:
        return AnswerResult(span=whole_input_span(sample))
