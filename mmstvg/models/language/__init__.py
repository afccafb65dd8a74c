from .box_text import format_frame_boxes, parse_frame_boxes
from .prompt_builder import DEFAULT_PROMPTS, PromptBuilder, PromptPieces, prompt_words
from .span_text import REC_ANSWER, SPAN_TEMPLATE, format_span, parse_span

__all__ = [
    'format_frame_boxes', 'parse_frame_boxes',
    'DEFAULT_PROMPTS', 'PromptBuilder', 'PromptPieces', 'prompt_words', 'REC_ANSWER',
    'SPAN_TEMPLATE', 'format_span', 'parse_span'
]
