"""Boxes written as text (the LLaVA-ST / Shikra-style baseline): format and parse.

A frame's box is written ``"frame 3: [0.12, 0.30, 0.45, 0.80]"``: the index of
the *sampled* frame (0-based) and its box as normalised ``xyxy`` in [0, 1]
(relative to the original frame size). Several frames are joined by ``"; "``.
The parser is lenient about spacing (word-level tokenizers decode
``"[ 0.12 , 0.30 ... ]"``) and strict about content: an entry whose frame index
is out of range, whose box does not hold exactly four numbers in [0, 1], or
whose corners are reversed is *malformed* and counted, never raised.
"""
import re
from typing import Dict, List, Sequence, Tuple

__all__ = ['format_frame_boxes', 'parse_frame_boxes']

_ENTRY = re.compile(r'frame\s*(\d+)\s*:\s*\[([^\]]*)\]?', flags=re.IGNORECASE)
_NUMBER = re.compile(r'^\s*(\d+(?:\s*\.\s*\d+)?)\s*$')


def format_frame_boxes(frame_indices: Sequence[int],
                       boxes_xyxy: Sequence[Sequence[float]],
                       precision: int = 2) -> str:
    """Write per-frame normalised ``xyxy`` boxes as text.

    Args:
        frame_indices: sampled-frame indices ``t``.
        boxes_xyxy: one normalised ``(x1, y1, x2, y2)`` per index.
        precision: digits after the decimal point.

    Returns:
        e.g. ``"frame 3: [0.12, 0.30, 0.45, 0.80]; frame 4: [...]"``.
    """
    if len(frame_indices) != len(boxes_xyxy):
        raise ValueError(f'{len(frame_indices)} frame indices for {len(boxes_xyxy)} boxes')
    fmt = f'{{:.{precision}f}}'
    entries = []
    for t, box in zip(frame_indices, boxes_xyxy):
        values = ', '.join(fmt.format(min(max(float(v), 0.0), 1.0)) for v in box)
        entries.append(f'frame {int(t)}: [{values}]')
    return '; '.join(entries)


def parse_frame_boxes(text: str, num_frames: int
                      ) -> Tuple[Dict[int, List[float]], int]:
    """Read per-frame boxes back from generated text.

    Args:
        text: the generated answer.
        num_frames: number of sampled frames (valid indices are ``0..T-1``).

    Returns:
        ``(boxes, num_malformed)``: ``{t: [x1, y1, x2, y2]}`` normalised, for
        every well-formed entry (the first one wins when a frame repeats), and
        the count of malformed entries.
    """
    boxes: Dict[int, List[float]] = {}
    malformed = 0
    if not isinstance(text, str):
        return boxes, 0
    for match in _ENTRY.finditer(text):
        index = int(match.group(1))
        parts = match.group(2).split(',')
        numbers = [_NUMBER.match(part) for part in parts]
        if (index >= num_frames or len(parts) != 4 or not all(numbers)):
            malformed += 1
            continue
        values = [float(re.sub(r'\s+', '', n.group(1))) for n in numbers]
        if (any(v > 1.0 for v in values) or values[2] < values[0]
                or values[3] < values[1]):
            malformed += 1
            continue
        boxes.setdefault(index, values)
    return boxes, malformed
