"""Drawing primitives of the grounding visualizer: box outlines and text bands.

Plain numpy slicing and ``cv2.putText`` on uint8 RGB arrays: exact pixels for
boxes (no anti-aliasing, no matplotlib), and a few microseconds a call, so 64
frames of 384 px draw in tens of milliseconds.
"""
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch

from mmstvg.structures import GroundingDataSample

Color = Tuple[int, int, int]

FONT = cv2.FONT_HERSHEY_SIMPLEX
BACKGROUND: Color = (32, 32, 32)
BAR_BASE: Color = (90, 90, 90)
TEXT_COLOR: Color = (255, 255, 255)
OFF_COLOR: Color = (120, 120, 120)

__all__ = [
    'Color', 'draw_box_outline', 'render_caption', 'text_metrics', 'wrap_text',
    'sample_name', 'to_numpy', 'to_even'
]


def sample_name(data_sample: Optional[GroundingDataSample]) -> str:
    """A name of the sample for error messages (``sample_id=...`` first)."""
    if data_sample is None:
        return '<no data sample>'
    meta = data_sample.metainfo
    for key in ('sample_id', 'video_id', 'video_path'):
        if meta.get(key) is not None:
            return f'{key}={meta[key]!r}'
    return '<unnamed sample>'


def to_numpy(value) -> np.ndarray:
    """Tensor or array-like -> numpy array on the CPU."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def to_even(value: int) -> int:
    """Round a size up to an even number (video codecs want even sizes)."""
    return value + (value % 2)


def draw_box_outline(frame: np.ndarray, box: Sequence[float], color: Color,
                     line_width: int) -> None:
    """Draw one ``xyxy`` box outline, inward, in place.

    A box ``[x1, x2) x [y1, y2)`` colours columns ``x1 .. x1 + w - 1`` and
    ``x2 - w .. x2 - 1`` over its rows, and rows ``y1 .. y1 + w - 1`` and
    ``y2 - w .. y2 - 1`` over its columns (``w`` the line width): the outline
    never leaves the box. Coordinates are rounded to whole pixels and clipped
    to the frame; a box without area or with a non-finite coordinate draws
    nothing.

    Args:
        frame: uint8 array ``(H, W, 3)``, modified in place.
        box: ``(x1, y1, x2, y2)`` in pixels of ``frame``.
        color: RGB colour.
        line_width: outline width in pixels (at least 1).
    """
    if not np.all(np.isfinite(box)):
        return
    height, width = frame.shape[:2]
    x1, x2 = (int(np.clip(round(float(v)), 0, width)) for v in box[0::2])
    y1, y2 = (int(np.clip(round(float(v)), 0, height)) for v in box[1::2])
    if x2 <= x1 or y2 <= y1:
        return
    lw = max(1, int(line_width))
    frame[y1:min(y1 + lw, y2), x1:x2] = color
    frame[max(y2 - lw, y1):y2, x1:x2] = color
    frame[y1:y2, x1:min(x1 + lw, x2)] = color
    frame[y1:y2, max(x2 - lw, x1):x2] = color


def text_metrics(width: int,
                 font_scale: Optional[float] = None) -> Tuple[float, int, int, int]:
    """Font scale, line height, baseline depth and padding for a band width.

    Args:
        width: width in pixels of the band the text goes into.
        font_scale: a fixed cv2 font scale; None picks
            ``clip(width / 800, 0.3, 1.0)``.

    Returns:
        ``(scale, line_h, baseline, pad)`` in pixels (``line_h`` includes the
        baseline depth).
    """
    scale = float(font_scale) if font_scale is not None else float(
        np.clip(width / 800.0, 0.3, 1.0))
    (_, text_h), baseline = cv2.getTextSize('0.00s GT Pred', FONT, scale, 1)
    pad = max(2, text_h // 3)
    return scale, text_h + baseline, baseline, pad


def _split_to_width(word: str, width: int, scale: float) -> List[str]:
    """Cut a word wider than ``width`` pixels into pieces that fit (>= 1 char)."""
    pieces: List[str] = []
    current = ''
    for char in word:
        if current and cv2.getTextSize(current + char, FONT, scale, 1)[0][0] > width:
            pieces.append(current)
            current = char
        else:
            current += char
    return pieces + [current] if current else pieces


def wrap_text(text: str, width: int, scale: float,
              max_lines: Optional[int] = None) -> List[str]:
    """Greedy word wrap of ``text`` into lines no wider than ``width`` pixels.

    A word wider than ``width`` is cut between characters, so every character
    lands inside the band however narrow it is. Beyond ``max_lines`` lines
    (None: no limit), the last kept line ends with ``...``.
    """
    lines: List[str] = []
    current = ''
    for word in text.split():
        candidate = f'{current} {word}'.strip()
        if cv2.getTextSize(candidate, FONT, scale, 1)[0][0] <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        *full, current = _split_to_width(word, width, scale)
        lines.extend(full)
    if current:
        lines.append(current)
    if max_lines is not None and len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1] + ' ...'
    return lines or ['']


def render_caption(text: str,
                   width: int,
                   font_scale: Optional[float] = None,
                   max_lines: int = 3) -> np.ndarray:
    """Render ``text``, wrapped, as a band ``(h, width, 3)`` to put on top.

    The first line of ``text`` (the sentence) is wrapped to at most
    ``max_lines`` lines; every further line (``\n``-separated, e.g. the
    predicted span) is wrapped and always shown in full, so it survives any
    frame width and sentence length.

    Args:
        text: the sentence, optionally followed by ``\n`` and lines that
            must stay visible.
        width: width of the band in pixels.
        font_scale: see :func:`text_metrics`.
        max_lines: most lines of the sentence.

    Returns:
        uint8 RGB array with white text on a dark background; ``h`` is even
        and grows by one line height (plus padding) per line.
    """
    scale, line_h, baseline, pad = text_metrics(width, font_scale)
    text_width = max(1, width - 2 * pad)
    sentence, *kept = text.split('\n')
    lines = wrap_text(sentence, text_width, scale, max_lines) if (
        sentence.strip() or not kept) else []
    for line in kept:
        lines.extend(wrap_text(line, text_width, scale))
    height = to_even(len(lines) * (line_h + pad) + pad)
    band = np.empty((height, width, 3), dtype=np.uint8)
    band[:] = BACKGROUND
    for row, line in enumerate(lines):
        baseline_y = pad + row * (line_h + pad) + line_h - baseline
        cv2.putText(band, line, (pad, baseline_y), FONT, scale, TEXT_COLOR, 1,
                    cv2.LINE_AA)
    return band
