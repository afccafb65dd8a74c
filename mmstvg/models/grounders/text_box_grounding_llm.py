"""The text-box baseline: the LLM writes every box as text (LLaVA-ST / Shikra style)."""
from typing import Optional

from mmstvg.registry import MODELS

from .text_parts import default_of
from .video_grounding_llm import VideoGroundingLLM

__all__ = ['TextBoxGroundingLLM']


@MODELS.register_module()
class TextBoxGroundingLLM(VideoGroundingLLM):
    """:class:`VideoGroundingLLM` without queries or space decoder, boxes as text.

    A preset of the same grounder: ``answer=dict(type='SpanAndBoxesAnswer')``
    (see it for the answer format and the boxes' counts in the samples),
    ``NoQueries`` and a generation budget that covers the boxes (every box costs ~12-25 tokens,
    which is why this baseline is much slower than a space decoder).

    Args:
        box_precision: digits of the box coordinates in the text.
        box_coordinates: how they are written (``'normalized'``,
            ``'resized_pixels'`` or ``'grid_1000'``, see
            :class:`SpanAndBoxesAnswer`).
        span: config of the span answer the boxes follow.
        max_new_tokens: generation budget (it must cover the boxes).
        **kwargs: the other arguments of :class:`VideoGroundingLLM` (no
            ``space_decoder``, no ``answer``).
    """

    def __init__(self, *args, box_precision: int = 2, box_coordinates: str = 'normalized',
                 span: dict = dict(type='SpanAnswer'), max_new_tokens: int = 512,
                 space_decoder: Optional[dict] = None, **kwargs):
        if space_decoder is not None:
            raise ValueError('TextBoxGroundingLLM writes boxes as text: it has no '
                             'space_decoder')
        if 'answer' in kwargs:
            raise ValueError('TextBoxGroundingLLM writes SpanAndBoxesAnswer; set its '
                             'box_precision and span instead of answer')
        answer = self._span_and_boxes(span, box_precision, box_coordinates)
        super().__init__(*args, max_new_tokens=max_new_tokens, space_decoder=None,
                         answer=answer, **kwargs)

    @staticmethod
    def _span_and_boxes(span: dict, box_precision: int, box_coordinates: str) -> dict:
        return dict(type='SpanAndBoxesAnswer', span=span, box_precision=box_precision,
                    coordinates=box_coordinates)

    @classmethod
    def answer_config(cls, cfg: dict) -> dict:
        """The ``SpanAndBoxesAnswer`` the config ``cfg`` builds."""
        return cls._span_and_boxes(*(cfg.get(name, default_of(cls, name))
                             for name in ('span', 'box_precision', 'box_coordinates')))
