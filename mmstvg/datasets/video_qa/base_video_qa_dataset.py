"""Common base of the multiple-choice video QA benchmarks (MVBench, Video-MME ...).

A QA sample is a dict with the grounding contract's identity keys
(``sample_id``, ``video_id``, ``video_path``, ``task='mcqa'``, ``sentence``,
``dataset_name``) and, instead of a span and boxes, ``options`` (the option
texts), ``gt_choice`` (the right option's index), ``qa_benchmark``,
``qa_category`` (the benchmark's breakdown: MVBench's task, Video-MME's
duration, TempCompass's temporal aspect) and ``question_id``. ``sentence``
is the question with its lettered options as the benchmark's lmms-eval task
writes them; ``prompt_template`` wraps it in the task's instructions.
The video's frame count and fps come from the file
(:class:`GroundingDecordInit`).
"""
from typing import Any, List, Optional, Sequence

from mmstvg.models.language.choice_text import format_options
from mmstvg.models.language.multiple_choice_answer import QA_TASK
from ..base_grounding_dataset import BaseGroundingDataset

__all__ = ['BaseVideoQADataset']


class BaseVideoQADataset(BaseGroundingDataset):
    """Base of the multiple-choice video QA datasets.

    Ours, not the paper's. Subclasses read their benchmark's public files
    (:meth:`load_raw_annotations`) and turn an entry into samples with
    :meth:`qa_info` (via :meth:`parse_data_info`). Bad input (a missing
    field, an answer that is none of the options ...) follows
    ``on_bad_sample`` as in the grounding datasets.

    Args:
        pre_prompt: text before the question (default: the benchmark's
            :attr:`PRE_PROMPT`, lmms-eval's).
        post_prompt: text after the options (default :attr:`POST_PROMPT`).
        **kwargs: see :class:`BaseGroundingDataset` (``ann_file``,
            ``data_root``, ``data_prefix=dict(video=...)``, ``pipeline``,
            ``on_bad_sample`` ...).
    """

    TASK = QA_TASK
    DEFAULT_NAME = 'video_qa'
    #: The benchmark's name, the metric's breakdown key.
    BENCHMARK = 'video_qa'
    #: How the options are lettered (see :func:`format_options`).
    OPTION_STYLE = 'dot'
    PRE_PROMPT = ''
    POST_PROMPT = ''

    def __init__(self, pre_prompt: Optional[str] = None,
                 post_prompt: Optional[str] = None, **kwargs):
        self.pre_prompt = self.PRE_PROMPT if pre_prompt is None else pre_prompt
        self.post_prompt = self.POST_PROMPT if post_prompt is None else post_prompt
        kwargs.setdefault('max_sentence_words', None)
        super().__init__(**kwargs)

    @property
    def prompt_template(self) -> str:
        """The benchmark's instructions around ``{sentence}`` (braces escaped)."""
        escape = lambda text: text.replace('{', '{{').replace('}', '}}')  # noqa: E731
        return f'{escape(self.pre_prompt)}{{sentence}}{escape(self.post_prompt)}'

    def format_question(self, question: str, options: Sequence[str]) -> str:
        """The question and its lettered options (``sentence``)."""
        return f'{question}\n{format_options(options, self.OPTION_STYLE)}'

    def options_field(self, value: Any, key: str, video_id: Any) -> List[str]:
        """A list of at least two non-empty option strings."""
        if not isinstance(value, (list, tuple)) or len(value) < 2 or not all(
                isinstance(o, str) and o.strip() for o in value):
            raise self.bad(f'options must be a list of at least 2 non-empty strings, '
                           f'got {value!r}', video_id, key)
        return [o.strip() for o in value]

    def qa_info(self, *, sample_id: Any, video_id: str, video_file: str, question: str,
                options: Sequence[str], gt_choice: int, category: str = '',
                question_id: Any = None, **extra) -> dict:
        """One QA sample's dict; raises on bad input.

        Args:
            sample_id: unique id of the question.
            video_id: the video's id.
            video_file: the video's path under the video prefix.
            question: the question text (without options).
            options: the option texts, without letters.
            gt_choice: the right option's index.
            category: the benchmark's breakdown key of this question.
            question_id: the benchmark's id of the question (default
                ``sample_id``).
            **extra: more keys for the sample.
        """
        if not isinstance(question, str) or not question.strip():
            raise self.bad(f'question must be a non-empty string, got {question!r}',
                           sample_id, 'question')
        options = list(options)
        if not isinstance(gt_choice, int) or not 0 <= gt_choice < len(options):
            raise self.bad(f'answer {gt_choice!r} is not one of the {len(options)} options',
                           sample_id, 'answer')
        info = dict(
            sample_id=str(sample_id),
            video_id=str(video_id),
            video_path=self.resolve_video_path(video_file, sample_id),
            task=self.TASK,
            sentence=self.format_question(question.strip(), options),
            prompt_template=self.prompt_template,
            dataset_name=self.dataset_name,
            options=options,
            gt_choice=int(gt_choice),
            qa_benchmark=self.BENCHMARK,
            qa_category=str(category),
            question_id=str(sample_id if question_id is None else question_id))
        info.update(extra)
        return info
