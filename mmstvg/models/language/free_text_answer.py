"""The answer part of free-text conversations (captions, open QA) about a video.

What LLaVA-Video's own training data asks of the base model: a conversation
sample (task ``'caption'`` or ``'open_qa'``, :data:`CONVERSATION_TASKS`)
carries its user turns in ``questions`` and its assistant turns in
``answers``. Trained, every assistant turn is an answer (LM loss on its tokens
and its end token); predicted, the last question is answered in text. Other
samples go to the grounding answer part this one may wrap.
"""
from typing import List, Optional, Sequence, Tuple

import torch

from mmstvg.registry import MODELS
from mmstvg.structures import CONVERSATION_TASKS, GroundingDataSample, check_conversation

__all__ = ['FreeTextAnswer', 'is_conversation_sample']


def is_conversation_sample(sample: GroundingDataSample) -> bool:
    """Whether a data sample is a free-text conversation (caption, open QA)."""
    return sample.metainfo.get('task') in CONVERSATION_TASKS


@MODELS.register_module()
class FreeTextAnswer:
    """Free-text answers for conversations; a grounding answer part for the rest.

    Ours (the paper trains no base model). A conversation's rounds are its
    ``(question, answer)`` pairs (:meth:`rounds`); ``predict`` writes the
    generated reply to the last question into ``pred_text`` as it is, so
    nothing can fail to parse.

    Args:
        tokenizer: the LLM's tokenizer (filled in by the grounder).
        grounding: config of the answer part of grounding samples; None: a
            grounding sample is an error (a language-only model).
    """

    def __init__(self, tokenizer=None, grounding: Optional[dict] = None):
        self.tokenizer = tokenizer
        self.grounding = (MODELS.build(dict(grounding, tokenizer=tokenizer))
                          if grounding is not None else None)
        self.num_text_predictions = 0

    def _grounding_part(self, sample: GroundingDataSample):
        if self.grounding is None:
            raise ValueError(
                f"FreeTextAnswer got a {sample.metainfo.get('task')!r} sample "
                f"({sample.metainfo.get('sample_id', sample.metainfo.get('video_id'))!r}) "
                "but has no grounding part: give grounding=dict(type='SpanAnswer')")
        return self.grounding

    def __getattr__(self, name: str):
        # What else a grounder asks of its answer part is the grounding part's.
        if name == 'grounding':
            raise AttributeError(name)
        if self.grounding is None:
            raise AttributeError(f'FreeTextAnswer has no {name!r} (and no grounding part)')
        return getattr(self.grounding, name)

    @property
    def num_predictions(self) -> int:
        """Predictions made so far, conversations and grounding."""
        return self.num_text_predictions + (self.grounding.num_predictions
                                            if self.grounding is not None else 0)

    @property
    def num_parse_failures(self) -> int:
        """Grounding answers that could not be parsed (free text always parses)."""
        return self.grounding.num_parse_failures if self.grounding is not None else 0

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

    def text(self, sample: GroundingDataSample, frame_times: Sequence[float],
             duration: float) -> str:
        """The training answer: a conversation's first answer, else the grounding part's."""
        if is_conversation_sample(sample):
            return self.rounds(sample, with_answer=True)[0][1]
        return self._grounding_part(sample).text(sample, frame_times, duration)

    # ------------------------------------------------------------ reading
    def generates_text(self, sample: GroundingDataSample) -> bool:
        """Every conversation sample is answered in text."""
        if is_conversation_sample(sample):
            return True
        return self._grounding_part(sample).generates_text(sample)

    def pack_text(self, sample: GroundingDataSample, text: str) -> None:
        """Write a conversation's generated reply into ``pred_text``."""
        self.num_text_predictions += 1
        sample.pred_text = text.strip()

    def parse(self, sample: GroundingDataSample, text: str):
        return self._grounding_part(sample).parse(sample, text)

    def boxes_from_text(self, sample: GroundingDataSample,
                        text: str) -> Optional[torch.Tensor]:
        return self._grounding_part(sample).boxes_from_text(sample, text)

    def box_scores_from_text(self, boxes: torch.Tensor) -> Optional[torch.Tensor]:
        return None if self.grounding is None else self.grounding.box_scores_from_text(boxes)

    def update_counters(self, sample: GroundingDataSample) -> None:
        if self.grounding is not None and not is_conversation_sample(sample):
            self.grounding.update_counters(sample)
