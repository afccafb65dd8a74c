"""Boxes written as text (the LLaVA-ST / Shikra-style baseline): format and parse.

A frame's box is written ``"frame 3: [0.12, 0.30, 0.45, 0.80]"``: the index of
the *sampled* frame (0-based) and its box as normalised ``xyxy`` in [0, 1]
(relative to the original frame size). Several frames are joined by ``"; "``.
With an ``extent`` ``(W, H)`` the coordinates are integers on a ``W x H``
grid instead, as a base model's own grounding data writes them (see
:data:`BOX_COORDINATES`): Qwen2.5-VL's absolute pixels of the frame it sees
(``"frame 3: [10, 17, 38, 45]"`` on a 84 x 56 frame), Qwen3-VL's 0-1000 grid.
The parser is lenient about spacing (word-level tokenizers decode
``"[ 0.12 , 0.30 ... ]"``) and strict about content: an entry whose frame index
is out of range, whose box does not hold exactly four numbers in [0, 1], or
whose corners are reversed is *malformed* and counted, never raised.
"""
import re
from typing import Dict, List, Optional, Sequence, Tuple

__all__ = ['format_frame_boxes', 'parse_frame_boxes', 'BOX_COORDINATES', 'box_extent']

#: How box coordinates are written: ``'normalized'`` (floats in [0, 1], the
#: LLaVA-ST / Shikra style), ``'resized_pixels'`` (integer pixels of the
#: resized frame the model sees, ``img_shape``: Qwen2.5-VL's grounding
#: convention), ``'grid_1000'`` (integers on a 0-1000 grid: Qwen2-VL's and
#: Qwen3-VL's).
BOX_COORDINATES = ('normalized', 'resized_pixels', 'grid_1000')


def box_extent(coordinates: str, metainfo: dict) -> Optional[Tuple[float, float]]:
    """The ``(W, H)`` grid of ``coordinates`` for a sample; None: normalised."""
    if coordinates not in BOX_COORDINATES:
        raise ValueError(f'box coordinates must be one of {BOX_COORDINATES}, got '
                         f'{coordinates!r}')
    if coordinates == 'normalized':
        return None
    if coordinates == 'grid_1000':
        return 1000.0, 1000.0
    if 'img_shape' not in metainfo:
        raise KeyError(f"sample {metainfo.get('video_id')!r} has no img_shape for boxes in "
                       'resized pixels')
    height, width = metainfo['img_shape'][:2]
    return float(width), float(height)

_ENTRY = re.compile(r'frame\s*(\d+)\s*:\s*\[([^\]]*)\]?', flags=re.IGNORECASE)
_NUMBER = re.compile(r'^\s*(\d+(?:\s*\.\s*\d+)?)\s*$')


def format_frame_boxes(frame_indices: Sequence[int],
                       boxes_xyxy: Sequence[Sequence[float]],
                       precision: int = 2,
                       extent: Optional[Tuple[float, float]] = None) -> str:
    """Write per-frame normalised ``xyxy`` boxes as text.

    Args:
        frame_indices: sampled-frame indices ``t``.
        boxes_xyxy: one normalised ``(x1, y1, x2, y2)`` per index.
        precision: digits after the decimal point (normalised coordinates).
        extent: ``(W, H)``: write rounded integers on that grid instead.

    Returns:
        e.g. ``"frame 3: [0.12, 0.30, 0.45, 0.80]; frame 4: [...]"``.
    """
    if len(frame_indices) != len(boxes_xyxy):
        raise ValueError(f'{len(frame_indices)} frame indices for {len(boxes_xyxy)} boxes')
    fmt = f'{{:.{precision}f}}'
    entries = []
    for t, box in zip(frame_indices, boxes_xyxy):
        clipped = [min(max(float(v), 0.0), 1.0) for v in box]
        if extent is None:
            values = ', '.join(fmt.format(v) for v in clipped)
        else:
            sides = (extent[0], extent[1]) * 2
            values = ', '.join(str(int(round(v * side))) for v, side in zip(clipped, sides))
        entries.append(f'frame {int(t)}: [{values}]')
    return '; '.join(entries)


def parse_frame_boxes(text: str, num_frames: int,
                      extent: Optional[Tuple[float, float]] = None
                      ) -> Tuple[Dict[int, List[float]], int]:
    """Read per-frame boxes back from generated text.

    Args:
        text: the generated answer.
        num_frames: number of sampled frames (valid indices are ``0..T-1``).
        extent: ``(W, H)`` of the grid the coordinates are written on (they
            are normalised back); None: normalised coordinates.

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
        if extent is not None:
            sides = (extent[0], extent[1]) * 2
            if any(v > side for v, side in zip(values, sides)):
                malformed += 1
                continue
            values = [v / side for v, side in zip(values, sides)]
        if (any(v > 1.0 for v in values) or values[2] < values[0]
                or values[3] < values[1]):
            malformed += 1
            continue
        boxes.setdefault(index, values)
    return boxes, malformed
