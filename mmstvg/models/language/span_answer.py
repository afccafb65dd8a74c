"""The span answer coder: a sample's span in text, and a reply's span read back.

:class:`SpanAnswer` is the paper's temporal answer ("The event happens from
3.2 to 7.9 seconds."). A subclass may state another span for the same ground
truth (:meth:`SpanAnswer.span_to_write`), e.g. SpaceVLLM's ``SnappedSpanAnswer``
on the shown frame times
(``projects/spacevllm/spacevllm/addons/snapped_span_answer.py``). The grounder
builds its answer with ``tokenizer`` filled in (:class:`AnswerCoderTable`).
"""
from typing import Sequence, Tuple

from mmstvg.registry import TASK_UTILS
from mmstvg.structures import GroundingDataSample

from .base_answer_coder import AnswerResult, BaseAnswerCoder
from .span_text import format_span, parse_span
from .whole_image_answer import WholeImageAnswer

__all__ = ['SpanAnswer', 'check_has_span']


@TASK_UTILS.register_module()
class SpanAnswer(BaseAnswerCoder):
    """The temporal answer in text: "The event happens from X to Y seconds."

    The coder of STVG and TVG samples; a REC sample's answer is
    :class:`WholeImageAnswer`'s (:meth:`role_coders`). A reply without
    ``from X to Y``, or with an end before the start, is a parse failure
    (``ok=False``), scored as an empty span.

    Args:
        tokenizer: the LLM's tokenizer (filled in by the grounder).
        precision: digits of the times in the answer.
    """

    def __init__(self, tokenizer=None, precision: int = 1):
        if precision < 0:
            raise ValueError(f'{type(self).__name__}: precision must be >= 0, got {precision}')
        super().__init__(tokenizer)
        self.precision = precision

    def role_coders(self) -> dict:
        """This coder for STVG and TVG, :class:`WholeImageAnswer` for REC."""
        return dict(spatio_temporal=self, temporal=self,
                    spatial=WholeImageAnswer(self.tokenizer))

    # ------------------------------------------------------------ writing
    def span_to_write(self, span_seconds: Sequence[float], frame_times: Sequence[float],
                      duration: float) -> Tuple[float, float]:
        """The span the answer states for a ground-truth span (as it is here)."""
        return float(span_seconds[0]), float(span_seconds[1])

    def digits(self, sample: GroundingDataSample) -> int:
        """Decimals of the times in the sample's answer: ``precision``."""
        return self.precision

    def encode(self, sample: GroundingDataSample, times: Sequence[float],
               duration: float) -> str:
        """The span sentence of a sample's ground-truth span (``gt_span_seconds``)."""
        check_has_span(sample)
        return self.write_span(sample, sample.gt_span_seconds.tolist(), times, duration)

    def write_span(self, sample: GroundingDataSample, span_seconds: Sequence[float],
                   times: Sequence[float], duration: float) -> str:
        """The span sentence this coder writes for any span in seconds (a
        prediction's, e.g. a ``FrameScoreSpanWriter``'s), as :meth:`encode`
        writes the ground truth's."""
        start, end = self.span_to_write(span_seconds, times, duration)
        return format_span(start, end, self.digits(sample))

    # ------------------------------------------------------------ reading
    def decode(self, sample: GroundingDataSample, text: str) -> AnswerResult:
        """The reply's span in seconds, clipped to the video (``ok=False``: malformed)."""
        span = parse_span(text)
        if span is None or span[1] < span[0]:
            return AnswerResult(ok=False)
        duration = float(sample.metainfo.get('duration', span[1]))
        return AnswerResult(span=(min(max(span[0], 0.0), duration),
                                  min(max(span[1], 0.0), duration)))


def check_has_span(sample: GroundingDataSample) -> None:
    """Raise a KeyError naming the sample when it has no ``gt_span_seconds``."""
    if 'gt_span_seconds' not in sample:
        meta = sample.metainfo
        raise KeyError(f"data sample {meta.get('video_id')!r} "
                       f"(task {meta.get('task')}) has no gt_span_seconds")
