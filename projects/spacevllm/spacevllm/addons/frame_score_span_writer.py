"""The answer's span read from the per-frame scores, written in the answer's words.

Ours, not the paper's: on the small base the LLM does not learn to write *when*
(m_tIoU stays near the trivial answer's), while a per-frame "inside the span"
score on sentence-aware frame states does. This logits processor makes the
generated answer state the span those scores give. Rationale and figures:
``docs/en/model_core.md`` ("Our additions") and ``docs/en/base_pretraining.md``.
"""
from typing import Callable, List, Optional, Sequence, Tuple

import torch
from torch import nn

from mmstvg.registry import MODELS
from mmstvg.structures import frame_times_and_duration

__all__ = ['FrameScoreSpanWriter', 'best_scoring_run', 'run_to_seconds']


def best_scoring_run(logits: Sequence[float]) -> Tuple[int, int]:
    """The run of consecutive frames with the largest sum of logits.

    With independent per-frame probabilities ``sigmoid(logit)``, the most
    likely contiguous span is the run maximising the sum of its frames'
    logits (the frames outside contribute ``log(1 - p)``, which differs from
    the inside's ``log p`` by the logit). At least one frame is kept: with
    every logit negative, the single highest frame. Ties go to the earliest,
    then the shortest run.

    Args:
        logits: the frames' "inside the span" logits, in time order (at least one).

    Returns:
        ``(first, last)``: frame indices, both inside the run.
    """
    values = [float(v) for v in logits]
    if not values:
        raise ValueError('best_scoring_run needs at least one frame')
    best, best_run = values[0], (0, 0)
    running, start = 0.0, 0
    for index, value in enumerate(values):
        if running <= 0.0:  # a run ending here is best started afresh
            running, start = value, index
        else:
            running += value
        if running > best:
            best, best_run = running, (start, index)
    return best_run


def run_to_seconds(first: int, last: int, frame_times: Sequence[float],
                   duration: float) -> Tuple[float, float]:
    """A run of sampled frames as a span in seconds.

    Each end lies halfway between the run's outer frame and the sampled frame
    beyond it (0 before the first frame, the duration after the last), so the
    span holds exactly the run's sampled frames and splits each gap evenly.

    Args:
        first: the run's first frame.
        last: its last frame (``>= first``).
        frame_times: ascending times in seconds of the sampled frames.
        duration: the video's duration in seconds.

    Returns:
        ``(start, end)`` in seconds.
    """
    times = [float(t) for t in frame_times]
    if not 0 <= first <= last < len(times):
        raise ValueError(f'run ({first}, {last}) does not fit {len(times)} frames')
    start = 0.0 if first == 0 else 0.5 * (times[first - 1] + times[first])
    end = float(duration) if last == len(times) - 1 else 0.5 * (times[last] + times[last + 1])
    return start, max(end, start)


@MODELS.register_module()
class FrameScoreSpanWriter(nn.Module):
    """Writes the span of the frame score head into the generated answer.

    Ours, not the paper's (see the module docstring). A logits processor (an
    entry of the grounder's ``logits_processors``) without weights. In
    generation it forces the answer of each sample whose coder states a span
    (STVG, TVG) to be the coder's own sentence for the span the score head
    gives: the run of frames with the largest sum of logits
    (:func:`best_scoring_run`), its ends halfway to the neighbouring frames
    (:func:`run_to_seconds`). In training it changes nothing: the LM still
    learns the ground truth's sentence and the score head its own loss. Other
    answers (an image's, a letter, a conversation) are left as the LM writes
    them. Once the sentence is written the LM continues freely (it has
    learnt to stop there; a reader takes the first span written).

    Args:
        score_head: the grounder's name of the head whose ``(B, T)`` logits
            are read (a :class:`QuerySpanScoreHead`'s ``frame_score_head``).
        hidden_dim: unused (the grounder fills it in for every processor).
    """

    #: The grounder's attribute of this part (it holds no weights).
    module_name = 'span_writer'

    def __init__(self, score_head: str = 'frame_score_head',
                 hidden_dim: Optional[int] = None):
        super().__init__()
        self.score_head = score_head

    def check_answer(self, answer) -> None:
        """Raise unless the temporal coder can write a given span.

        Args:
            answer: the grounder's :class:`AnswerCoderTable`.
        """
        coder = answer.time_coder
        if coder is None or not hasattr(coder, 'write_span'):
            raise ValueError(f'{type(self).__name__} writes a span in the answer\'s words: '
                             'give an answer whose temporal coder has write_span '
                             '(SpanAnswer, SnappedSpanAnswer)')

    def check_heads(self, head_names: Sequence[str]) -> None:
        """Raise unless the grounder has the score head this processor reads.

        Args:
            head_names: the names of the grounder's ``heads``.
        """
        if self.score_head not in head_names:
            raise ValueError(f'{type(self).__name__} reads the scores of the grounder\'s '
                             f'{self.score_head!r}, which its heads {list(head_names)} '
                             "do not give: add heads=[dict(type='QuerySpanScoreHead')]")

    def forced_answers(self, logits: torch.Tensor, data_samples: Sequence,
                       counts: Sequence[int], answer) -> List[Optional[List[int]]]:
        """Each sample's answer ids for the span its logits give (None: the
        sample's answer states no span and is left to the LM).

        Args:
            logits: ``(B, T_max)`` the score head's logits.
            data_samples: the batch's samples (``frame_times``, ``duration``).
            counts: each sample's number of sampled frames.
            answer: the grounder's :class:`AnswerCoderTable`.
        """
        forced: List[Optional[List[int]]] = []
        for row, sample, count in zip(logits, data_samples, counts):
            if not answer.time_pointed(sample) or answer.whole_span(sample):
                forced.append(None)
                continue
            times, duration = frame_times_and_duration(sample, count)
            first, last = best_scoring_run(row[:count].tolist())
            span = run_to_seconds(first, last, times[:count], duration)
            coder = answer.coder(sample)
            text = coder.write_span(sample, span, times[:count], duration)
            forced.append(list(coder.tokenizer(text, add_special_tokens=False)['input_ids']))
        return forced

    def bind(self, frames, data_samples: Sequence, answer) -> Callable:
        """The logits processor of one batch (see ``grounders/decoding.py``).

        Args:
            frames: the batch's :class:`FrameOutputs` (``head_outs`` holds the
                score head's logits, ``num_frames`` each sample's frames).
            data_samples: the batch's samples (``frame_times``, ``duration``).
            answer: the grounder's :class:`AnswerCoderTable`.

        Returns:
            ``(logits (N, V), states (N, D), rows) -> logits``.
        """
        if self.score_head not in frames.head_outs:
            raise ValueError(f'{type(self).__name__}: no {self.score_head!r} output in '
                             'this pass (is the head set to None?)')
        logits = frames.head_outs[self.score_head].detach().float()
        forced = self.forced_answers(logits, data_samples, frames.num_frames, answer)
        step = [0]

        def write(lm_logits, states, rows):
            if rows is not None:  # training: the LM's own loss, unchanged
                return lm_logits
            position = step[0]
            step[0] += 1
            out = lm_logits
            for b, ids in enumerate(forced):
                if ids is not None and position < len(ids):
                    if out is lm_logits:
                        out = lm_logits.clone()
                    out[b] = float('-inf')
                    out[b, ids[position]] = 0.0
            return out

        return write
