"""Scores of free-text answers against the synthetic set's reference text.

Used to report what a base video LLM says before any grounding head exists
(its zero-shot behaviour, ``tools/analysis_tools/base_zero_shot.py``):

- :func:`sentence_recall`: the share of a reference's sentences that the
  answer contains word for word (the synthetic captions are one fact a
  sentence, so this is the share of facts stated exactly);
- :func:`parse_seconds_span`: the first ``"from 1.2s to 3.4s"`` in an answer,
  the form the synthetic QA answers "When does ... move?" in;
- :func:`temporal_iou`: the IoU of two spans in seconds.
"""
import re
from typing import List, Optional, Sequence, Tuple

__all__ = ['split_sentences', 'sentence_recall', 'parse_seconds_span', 'temporal_iou']

_SENTENCE_END = re.compile(r'(?<=[.!?])\s+')
_SPAN = re.compile(r'from\s+(\d+(?:\.\d+)?)\s*s\s+to\s+(\d+(?:\.\d+)?)\s*s', re.IGNORECASE)


def split_sentences(text: str) -> List[str]:
    """Sentences of ``text``, stripped, empty ones dropped."""
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def sentence_recall(answer: str, reference: str) -> float:
    """The share of ``reference``'s sentences found in ``answer`` word for word.

    Returns 0.0 for an empty reference (nothing to state).
    """
    wanted = split_sentences(reference)
    if not wanted:
        return 0.0
    said = set(split_sentences(answer))
    return sum(s in said for s in wanted) / len(wanted)


def parse_seconds_span(text: str) -> Optional[Tuple[float, float]]:
    """The first ``from A s to B s`` span of ``text``; None if there is none."""
    match = _SPAN.search(text)
    if match is None:
        return None
    return float(match.group(1)), float(match.group(2))


def temporal_iou(pred: Sequence[float], gt: Sequence[float]) -> float:
    """IoU of two ``(start, end)`` spans in seconds; an empty or reversed span scores 0."""
    if pred[1] <= pred[0] or gt[1] <= gt[0]:
        return 0.0
    inter = max(0.0, min(pred[1], gt[1]) - max(pred[0], gt[0]))
    union = max(pred[1], gt[1]) - min(pred[0], gt[0])
    return inter / union
