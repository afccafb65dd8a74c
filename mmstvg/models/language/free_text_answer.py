"""The answer coder of free-text conversations (captions, open QA) about a video.

What LLaVA-Video's own training data asks of the base model: a conversation
sample (task ``'caption'`` or ``'open_qa'``, :data:`CONVERSATION_TASKS`)
carries its user turns in ``questions`` and its assistant turns in
``answers``. Trained, every assistant turn is an answer (LM loss on its tokens
and its end token); predicted, the last question is answered in text. Other
samples are the grounding answer's this one may be configured with.
"""
from typing import List, Optional, Sequence, Tuple

from mmstvg.registry import TASK_UTILS
from mmstvg.structures import CONVERSATION_TASKS, GroundingDataSample, check_conversation

from .base_answer_coder import AnswerResult, BaseAnswerCoder

__all__ = ['FreeTextAnswer', 'is_conversation_sample']


def is_conversation_sample(sample: GroundingDataSample) -> bool:
    """Whether a data sample is a free-text conversation (caption, open QA)."""
    return sample.metainfo.get('task') in CONVERSATION_TASKS


@TASK_UTILS.register_module()
class FreeTextAnswer(BaseAnswerCoder):
    """Free-text answers for conversations, beside a grounding answer for the rest.

    Ours (the paper trains no base model). A conversation's rounds are its
    ``(question, answer)`` pairs (:meth:`rounds`); ``predict`` writes the
    generated reply to the last question into ``pred_text``, stripped, so
    nothing can fail to parse. No time pointer runs on a conversation's
    answer.

    Args:
        tokenizer: the LLM's tokenizer (filled in by the grounder).
        grounding: config of the answer of grounding samples; None: a
            grounding sample is an error (a language-only model).
    """

    time_pointed = False
    prediction = 'text'

    def __init__(self, tokenizer=None, grounding: Optional[dict] = None):
        super().__init__(tokenizer)
        self.grounding = (TASK_UTILS.build(dict(grounding, tokenizer=tokenizer))
                          if grounding is not None else None)

    def role_coders(self) -> dict:
        """The grounding answer's coders (if any), and this one for conversations."""
        roles = {} if self.grounding is None else self.grounding.role_coders()
        return dict(roles, conversation=self)

    # ------------------------------------------------------------ writing
    def rounds(self, sample: GroundingDataSample,
               with_answer: bool) -> List[Tuple[str, Optional[str]]]:
        """A conversation's ``(question, answer)`` rounds.

        Args:
            sample: a conversation sample (``questions``, ``answers``).
            with_answer: training: every round has its answer. Otherwise the
                last question's answer is None (to be generated) and the
                earlier answers are the context.

        Raises:
            ValueError: the sample's questions / answers are malformed, or
                an answer is missing for training.
        """
        meta = sample.metainfo
        check_conversation(meta)
        questions, answers = list(meta['questions']), list(meta.get('answers', []))
        if with_answer and len(answers) != len(questions):
            raise ValueError(f"conversation {meta.get('sample_id')!r}: {len(answers)} "
                             f'answers for {len(questions)} questions; training needs one '
                             'a question')
        replies: List[Optional[str]] = answers[:len(questions) - 1]
        replies.append(answers[-1] if with_answer else None)
        return list(zip(questions, replies))

    def encode(self, sample: GroundingDataSample, times: Sequence[float],
               duration: float) -> str:
        """The target answer: a conversation's first answer."""
        return self.rounds(sample, with_answer=True)[0][1]

    def decode(self, sample: GroundingDataSample, text: str) -> AnswerResult:
        """The reply as it is (the grounder writes it, stripped, to ``pred_text``)."""
        return AnswerResult()
