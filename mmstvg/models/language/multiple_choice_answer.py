"""The answer part of multiple-choice video QA, beside a grounding answer part.

Ours, not the paper's: SpaceVLLM reports general video QA benchmarks
(MVBench, Video-MME, EgoSchema, TempCompass) but publishes no code for them.
A QA sample (task :data:`QA_TASK`) is answered with its option letter, as
lmms-eval's prompts ask of LLaVA-Video ("Respond with only the letter");
every other sample goes to the grounding answer part this one wraps.
"""
import logging
from typing import Optional, Sequence

import torch
from mmengine.logging import print_log

from mmstvg.registry import MODELS
from mmstvg.structures import GroundingDataSample

from .choice_text import OPTION_LETTERS, parse_choice

__all__ = ['MultipleChoiceAnswer', 'QA_TASK', 'is_qa_sample']

#: The task name of a multiple-choice QA sample.
QA_TASK = 'mcqa'


def is_qa_sample(sample: GroundingDataSample) -> bool:
    """Whether a data sample is a multiple-choice question."""
    return sample.metainfo.get('task') == QA_TASK


@MODELS.register_module()
class MultipleChoiceAnswer:
    """Option letters for QA samples; a grounding answer part for the rest.

    Ours, not the paper's. A QA sample's metainfo holds ``options`` (the
    option texts) and, for training and scoring, ``gt_choice`` (the right
    option's index). Its training answer is ``answer_template`` filled with
    the letter and the option text (default: the letter alone). A generated
    reply is read by :func:`parse_choice`; one it cannot read is counted in
    :attr:`num_qa_parse_failures`, logged (the first ten, then every 100th)
    and gets ``pred_choice = -1``, which the metric scores wrong.

    Args:
        tokenizer: the LLM's tokenizer (filled in by the grounder; handed on
            to the grounding part).
        grounding: config of the answer part of the grounding samples
            (default: the paper's ``SpanAnswer``).
        answer_template: the training answer of a QA sample, with fields
            ``{letter}`` and ``{option}``.
        precision: the grounding part's ``precision`` when its config has
            none (where a config's ``prompt.span_precision`` lands).
    """

    def __init__(self, tokenizer=None, grounding: dict = dict(type='SpanAnswer'),
                 answer_template: str = '{letter}', precision: Optional[int] = None):
        if '{letter}' not in answer_template and '{option}' not in answer_template:
            raise ValueError(f'answer_template {answer_template!r} names neither '
                             '{letter} nor {option}')
        self.tokenizer = tokenizer
        grounding = dict(grounding, tokenizer=tokenizer)
        if precision is not None:
            grounding.setdefault('precision', precision)
        self.grounding = MODELS.build(grounding)
        self.answer_template = answer_template
        self.num_qa_predictions = 0
        self.num_qa_parse_failures = 0

    def __getattr__(self, name: str):
        # Whatever else a grounder asks of its answer part (the time
        # pointer's boundary_time_ids, precision ...) is the grounding part's.
        if name == 'grounding':
            raise AttributeError(name)
        return getattr(self.grounding, name)

    @property
    def num_predictions(self) -> int:
        """Predictions made so far, QA and grounding."""
        return self.num_qa_predictions + self.grounding.num_predictions

    @property
    def num_parse_failures(self) -> int:
        """Replies that could not be parsed so far, QA and grounding."""
        return self.num_qa_parse_failures + self.grounding.num_parse_failures

    # ------------------------------------------------------------ writing
    @staticmethod
    def _options(sample: GroundingDataSample) -> list:
        meta = sample.metainfo
        options = meta.get('options')
        if not options or len(options) < 2:
            raise KeyError(f"QA sample {meta.get('sample_id', meta.get('video_id'))!r} "
                           f'needs at least 2 options in its metainfo, got {options!r}')
        return list(options)

    def text(self, sample: GroundingDataSample, frame_times: Sequence[float],
             duration: float) -> str:
        """The training answer: the right option's letter for a QA sample."""
        if not is_qa_sample(sample):
            return self.grounding.text(sample, frame_times, duration)
        options = self._options(sample)
        choice = sample.metainfo.get('gt_choice')
        if choice is None or not 0 <= int(choice) < len(options):
            raise KeyError(f"QA sample {sample.metainfo.get('sample_id')!r} has no valid "
                           f'gt_choice for {len(options)} options: {choice!r}')
        choice = int(choice)
        return self.answer_template.format(letter=OPTION_LETTERS[choice],
                                           option=options[choice])

    # ------------------------------------------------------------ reading
    def generates_text(self, sample: GroundingDataSample) -> bool:
        """Whether ``predict`` decodes text for a sample (always for QA)."""
        return is_qa_sample(sample) or self.grounding.generates_text(sample)

    def parse_choice(self, sample: GroundingDataSample, text: str) -> Optional[int]:
        """The chosen option's index, or None (counted and logged)."""
        self.num_qa_predictions += 1
        choice = parse_choice(text, self._options(sample))
        if choice is None:
            self.num_qa_parse_failures += 1
            if self.num_qa_parse_failures <= 10 or self.num_qa_parse_failures % 100 == 0:
                print_log(f"unparsable choice for {sample.metainfo.get('sample_id')!r}: "
                          f'{text[:80]!r} ({self.num_qa_parse_failures} failures in '
                          f'{self.num_qa_predictions} QA predictions so far)',
                          logger='current', level=logging.WARNING)
        return choice

    def parse(self, sample: GroundingDataSample, text: str):
        """A grounding sample's span (the grounding part's ``parse``)."""
        if is_qa_sample(sample):
            raise ValueError('a QA sample has no span; the grounder packs it with '
                             'pack_choice')
        return self.grounding.parse(sample, text)

    def pack_choice(self, sample: GroundingDataSample, text: str) -> None:
        """Set a QA sample's ``pred_text``, ``pred_parse_ok``, ``pred_choice``
        (``-1`` when unparsable) and ``pred_letter`` (``''`` then)."""
        choice = self.parse_choice(sample, text)
        sample.pred_text = text
        sample.pred_parse_ok = choice is not None
        sample.pred_choice = -1 if choice is None else choice
        sample.pred_letter = '' if choice is None else OPTION_LETTERS[choice]

    def boxes_from_text(self, sample: GroundingDataSample,
                        text: str) -> Optional[torch.Tensor]:
        """Boxes read from a grounding sample's text (none for QA)."""
        return None if is_qa_sample(sample) else self.grounding.boxes_from_text(sample, text)

    def box_scores_from_text(self, boxes: torch.Tensor) -> Optional[torch.Tensor]:
        return self.grounding.box_scores_from_text(boxes)

    def update_counters(self, sample: GroundingDataSample) -> None:
        if not is_qa_sample(sample):
            self.grounding.update_counters(sample)
