"""The answer coder of multiple-choice video QA, beside a grounding answer.

Ours, not the paper's: SpaceVLLM reports general video QA benchmarks
(MVBench, Video-MME, EgoSchema, TempCompass) but publishes no code for them.
A QA sample (task :data:`QA_TASK`) is answered with its option letter, as
lmms-eval's prompts ask of LLaVA-Video ("Respond with only the letter");
the other samples are the grounding answer's this one is configured with.
"""
from typing import Optional, Sequence

from mmstvg.registry import TASK_UTILS
from mmstvg.structures import QA_TASKS, GroundingDataSample

from .base_answer_coder import AnswerResult, BaseAnswerCoder
from .choice_text import OPTION_LETTERS, parse_choice

__all__ = ['MultipleChoiceAnswer', 'QA_TASK', 'is_qa_sample']

#: The task name of a multiple-choice QA sample.
QA_TASK = QA_TASKS[0]


def is_qa_sample(sample: GroundingDataSample) -> bool:
    """Whether a data sample is a multiple-choice question."""
    return sample.metainfo.get('task') in QA_TASKS


@TASK_UTILS.register_module()
class MultipleChoiceAnswer(BaseAnswerCoder):
    """Option letters for QA samples, beside a grounding answer for the rest.

    Ours, not the paper's. A QA sample's metainfo holds ``options`` (the
    option texts) and, for training and scoring, ``gt_choice`` (the right
    option's index). Its target answer is ``answer_template`` filled with
    the letter and the option text (default: the letter alone). A reply is
    read by :func:`parse_choice`; one it cannot read decodes to
    ``choice=-1`` (``ok=False``), which the metric scores wrong.

    Args:
        tokenizer: the LLM's tokenizer (filled in by the grounder; handed on
            to the grounding answer).
        grounding: config of the answer of the grounding samples (default:
            the paper's ``SpanAnswer``); its coders fill the table's other
            roles (:meth:`role_coders`).
        answer_template: the target answer of a QA sample, with fields
            ``{letter}`` and ``{option}``.
        precision: the grounding answer's ``precision`` when its config has
            none (where a config's ``prompt.span_precision`` lands).
    """

    time_pointed = False
    prediction = 'choice'

    def __init__(self, tokenizer=None, grounding: dict = dict(type='SpanAnswer'),
                 answer_template: str = '{letter}', precision: Optional[int] = None):
        if '{letter}' not in answer_template and '{option}' not in answer_template:
            raise ValueError(f'answer_template {answer_template!r} names neither '
                             '{letter} nor {option}')
        super().__init__(tokenizer)
        grounding = dict(grounding, tokenizer=tokenizer)
        if precision is not None:
            grounding.setdefault('precision', precision)
        self.grounding = TASK_UTILS.build(grounding)
        self.answer_template = answer_template

    def role_coders(self) -> dict:
        """The grounding answer's coders, and this one for multiple choice."""
        return dict(self.grounding.role_coders(), choice=self)

    # ------------------------------------------------------------ writing
    @staticmethod
    def _options(sample: GroundingDataSample) -> list:
        meta = sample.metainfo
        options = meta.get('options')
        if not options or len(options) < 2:
            raise KeyError(f"QA sample {meta.get('sample_id', meta.get('video_id'))!r} "
                           f'needs at least 2 options in its metainfo, got {options!r}')
        return list(options)

    def encode(self, sample: GroundingDataSample, times: Sequence[float],
               duration: float) -> str:
        """The target answer: the right option's letter."""
        options = self._options(sample)
        choice = sample.metainfo.get('gt_choice')
        if choice is None or not 0 <= int(choice) < len(options):
            raise KeyError(f"QA sample {sample.metainfo.get('sample_id')!r} has no valid "
                           f'gt_choice for {len(options)} options: {choice!r}')
        choice = int(choice)
        return self.answer_template.format(letter=OPTION_LETTERS[choice],
                                           option=options[choice])

    # ------------------------------------------------------------ reading
    def decode(self, sample: GroundingDataSample, text: str) -> AnswerResult:
        """The chosen option's index (``-1``, ``ok=False``: unreadable)."""
        choice = parse_choice(text, self._options(sample))
        return AnswerResult(choice=-1 if choice is None else choice, ok=choice is not None)
