"""The text form of a temporal answer: formatted and parsed here, used by the answer parts.

``"The event happens from 3.2 to 7.9 seconds."``; :func:`parse_span` is lenient
about spacing and an ``s`` unit, strict about the numbers (None when malformed).
"""
import re
from typing import Optional, Tuple

__all__ = ['format_seconds', 'format_span', 'parse_span', 'SPAN_TEMPLATE', 'REC_ANSWER']

#: The sentence a temporal answer is written in.
SPAN_TEMPLATE = 'The event happens from {start} to {end} seconds.'

#: The fixed answer of a REC sample (an image has no span to state).
REC_ANSWER = 'The object is here.'

_NUMBER = r'(\d+(?:\s*\.\s*\d+)?)'
_SPAN_PATTERN = re.compile(
    r'from\s*' + _NUMBER + r'\s*(?:s\b|sec\w*\b)?\s*(?:to|-|until)\s*' + _NUMBER,
    flags=re.IGNORECASE)


def format_seconds(seconds: float, precision: int = 1) -> str:
    """One time as an answer writes it, e.g. ``"3.2"`` (no unit)."""
    if precision < 0:
        raise ValueError(f'precision must be >= 0, got {precision}')
    return f'{float(seconds):.{precision}f}'


def format_span(start_s: float, end_s: float, precision: int = 1) -> str:
    """Write a span in seconds as the answer sentence.

    Args:
        start_s: start time in seconds.
        end_s: end time in seconds.
        precision: digits after the decimal point.

    Returns:
        e.g. ``"The event happens from 3.2 to 7.9 seconds."``.
    """
    return SPAN_TEMPLATE.format(start=format_seconds(start_s, precision),
                                end=format_seconds(end_s, precision))


def _to_float(text: str) -> float:
    return float(re.sub(r'\s+', '', text))


def parse_span(text: str) -> Optional[Tuple[float, float]]:
    """Read the span back from a generated answer.

    Args:
        text: the decoded answer, e.g. ``"The event happens from 3.2 to 7.9
            seconds."`` (spacing around ``.`` and an ``s`` unit are tolerated).

    Returns:
        ``(start_s, end_s)`` as written (not reordered), or None when the text
        holds no ``from <number> to <number>``.
    """
    if not isinstance(text, str):
        return None
    match = _SPAN_PATTERN.search(text)
    if match is None:
        return None
    return _to_float(match.group(1)), _to_float(match.group(2))
