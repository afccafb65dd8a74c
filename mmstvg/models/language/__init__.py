from .answer_coder_table import TASK_ANSWERS, AnswerCoderTable, TaskAnswer, spans_whole_input
from .base_answer_coder import AnswerResult, BaseAnswerCoder
from .box_text import format_frame_boxes, parse_frame_boxes
from .free_text_answer import FreeTextAnswer, is_conversation_sample
from .choice_text import (OPTION_LETTERS, format_options, options_in_prompt, parse_choice,
                          strip_option_letter)
from .multiple_choice_answer import QA_TASK, MultipleChoiceAnswer, is_qa_sample
from .prompt_builder import (PROMPT_TEMPLATES, ConversationRound, PromptBuilder, PromptPieces,
                             prompt_words)
from .questions import DEFAULT_QUESTIONS, QUESTION_TEMPLATES
from .span_and_boxes_answer import FrameBoxesAnswer, SpanAndBoxesAnswer
from .span_answer import SpanAnswer, check_has_span
from .span_text import REC_ANSWER, SPAN_TEMPLATE, format_seconds, format_span, parse_span
from .user_text import UnsafeUserTextError, UserTextEncoder
from .whole_image_answer import WholeImageAnswer

__all__ = [
    'AnswerResult', 'BaseAnswerCoder', 'AnswerCoderTable', 'TaskAnswer', 'TASK_ANSWERS',
    'spans_whole_input', 'WholeImageAnswer', 'FrameBoxesAnswer',
    'format_frame_boxes', 'parse_frame_boxes', 'PROMPT_TEMPLATES', 'PromptBuilder',
    'PromptPieces', 'prompt_words', 'SpanAndBoxesAnswer', 'SpanAnswer', 'check_has_span',
    'REC_ANSWER', 'SPAN_TEMPLATE',
    'format_seconds', 'format_span', 'parse_span',
    'OPTION_LETTERS', 'format_options', 'options_in_prompt', 'parse_choice',
    'strip_option_letter', 'QA_TASK',
    'MultipleChoiceAnswer', 'is_qa_sample', 'FreeTextAnswer', 'is_conversation_sample',
    'ConversationRound', 'UnsafeUserTextError', 'UserTextEncoder', 'DEFAULT_QUESTIONS',
    'QUESTION_TEMPLATES'
]
