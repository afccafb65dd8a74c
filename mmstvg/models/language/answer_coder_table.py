"""The one table from a sample's task to the coder of its answer.

Every task string the models know is here (:data:`TASK_ANSWERS`): each task
names the role its coder plays, whether its prediction has per-frame boxes and
whether its span is the whole input (an image). A configured answer (the
grounder's ``answer=dict(type=...)``, e.g. ``SpanAnswer`` or
``MultipleChoiceAnswer``) fills roles with coders
(:meth:`BaseAnswerCoder.role_coders`); :class:`AnswerCoderTable` joins the two,
and the grounder asks it, never the task.
"""
import logging
from typing import Dict, NamedTuple, Optional, Sequence, Union

from mmengine.logging import print_log

from mmstvg.registry import TASK_UTILS
from mmstvg.structures import GroundingDataSample

from .base_answer_coder import AnswerResult, BaseAnswerCoder

__all__ = ['TaskAnswer', 'TASK_ANSWERS', 'AnswerCoderTable', 'spans_whole_input']


class TaskAnswer(NamedTuple):
    """How a task is answered.

    Attributes:
        role: the role of its coder in a configured answer.
        boxes: whether its prediction has per-frame boxes (the heads' or the
            text's).
        whole_span: whether its span is the whole input (an image), not stated
            by the answer.
    """

    role: str
    boxes: bool = False
    whole_span: bool = False


#: Each task's answer (tasks: ``mmstvg.structures.ALL_TASKS``).
TASK_ANSWERS: Dict[str, TaskAnswer] = dict(
    stvg=TaskAnswer('spatio_temporal', boxes=True),
    tvg=TaskAnswer('temporal'),
    rec=TaskAnswer('spatial', boxes=True, whole_span=True),
    mcqa=TaskAnswer('choice'),
    caption=TaskAnswer('conversation'),
    open_qa=TaskAnswer('conversation'))

#: What a configured answer lacking a role is told.
_ROLE_HINTS = dict(
    choice="answer=dict(type='MultipleChoiceAnswer', grounding=<this answer>)",
    conversation="answer=dict(type='FreeTextAnswer', grounding=<this answer>)")
_GROUNDING_HINT = "a grounding answer part, e.g. grounding=dict(type='SpanAnswer')"


def _task_answer(sample: GroundingDataSample) -> TaskAnswer:
    task = sample.metainfo.get('task')
    if task not in TASK_ANSWERS:
        raise ValueError(f'sample {_name(sample)!r} has task {task!r}; the answer coders '
                         f'know {tuple(TASK_ANSWERS)}')
    return TASK_ANSWERS[task]


def _name(sample: GroundingDataSample):
    meta = sample.metainfo
    return meta.get('sample_id', meta.get('video_id'))


def spans_whole_input(sample: GroundingDataSample) -> bool:
    """Whether a sample's span is its whole input (an image), not a stated span."""
    answer = TASK_ANSWERS.get(sample.metainfo.get('task'))
    return answer is not None and answer.whole_span


@TASK_UTILS.register_module()
class AnswerCoderTable:
    """Each task's answer coder, from a configured answer.

    The grounder's answer part: it encodes each sample's target answer and
    decodes each reply with the coder of the sample's task, and logs the
    replies it cannot read (the first ten, then every 100th); the metrics
    count them from the samples (``pred_parse_ok``).

    Args:
        answer: config of the configured answer (a :class:`BaseAnswerCoder`
            registered in ``TASK_UTILS``; ``tokenizer`` filled in), or one.
        tokenizer: the LLM's tokenizer.
    """

    def __init__(self, answer: Union[dict, BaseAnswerCoder], tokenizer=None):
        if isinstance(answer, dict):
            answer = TASK_UTILS.build(dict(answer, tokenizer=tokenizer))
        if not isinstance(answer, BaseAnswerCoder):
            raise TypeError(f'answer must build a BaseAnswerCoder, got '
                            f'{type(answer).__name__}')
        self.answer = answer
        self.roles = answer.role_coders()
        self.coders: Dict[str, BaseAnswerCoder] = {
            task: self.roles[spec.role]
            for task, spec in TASK_ANSWERS.items() if spec.role in self.roles
        }
        self._num_decoded = 0  # for the log's rate only
        self._num_failed = 0

    def coder(self, sample: GroundingDataSample) -> BaseAnswerCoder:
        """The coder of the sample's task.

        Raises:
            ValueError: the configured answer has no coder for that task.
        """
        spec = _task_answer(sample)
        if spec.role not in self.roles:
            hint = _ROLE_HINTS.get(spec.role, _GROUNDING_HINT)
            raise ValueError(f"{type(self.answer).__name__} answers no "
                             f"{sample.metainfo['task']!r} sample ({_name(sample)!r}): "
                             f'give {hint}')
        return self.roles[spec.role]

    @property
    def time_coder(self) -> Optional[BaseAnswerCoder]:
        """The coder of the temporal answers (whose times a pointer points at)."""
        return self.roles.get(TASK_ANSWERS['tvg'].role)

    # ------------------------------------------------------------ per sample
    def encode(self, sample: GroundingDataSample, times: Sequence[float],
               duration: float) -> str:
        """The sample's target answer (:meth:`BaseAnswerCoder.encode`)."""
        return self.coder(sample).encode(sample, times, duration)

    def decode(self, sample: GroundingDataSample, text: str) -> AnswerResult:
        """The reply read by the sample's coder; a reply it cannot read is logged."""
        coder = self.coder(sample)
        result = coder.decode(sample, text)
        self._num_decoded += 1
        if not result.ok:
            self._num_failed += 1
            # The first failures one by one, then every 100th, so a long
            # evaluation of an untrained model does not flood the log.
            if self._num_failed <= 10 or self._num_failed % 100 == 0:
                print_log(f'unparsable {type(coder).__name__} reply for '
                          f'{_name(sample)!r}: {text[:80]!r} ({self._num_failed} '
                          f'failures in {self._num_decoded} replies so far)',
                          logger='current', level=logging.WARNING)
        return result

    def generates_text(self, sample: GroundingDataSample) -> bool:
        """Whether the LLM writes a reply for the sample."""
        return self.coder(sample).generates_text

    def time_pointed(self, sample: GroundingDataSample) -> bool:
        """Whether a time pointer runs on the sample's answer."""
        return self.coder(sample).time_pointed

    def has_boxes(self, sample: GroundingDataSample) -> bool:
        """Whether the sample's prediction has per-frame boxes."""
        return _task_answer(sample).boxes

    def whole_span(self, sample: GroundingDataSample) -> bool:
        """Whether the sample's span is its whole input (an image)."""
        return _task_answer(sample).whole_span
