"""The footer under each drawn frame: the frame's time, span flags, a time bar.

Layout of a footer (rows from the top; see :func:`footer_layout`):

- a label row: the frame's time (``1.25s``, or ``#idx`` without a frame rate),
  then ``GT`` and ``Pred`` in their colours when the frame lies in that span
  (grey when not), ``Pred`` followed by the frame's box score;
- a time bar over the whole original video: columns ``[margin, W - margin)``
  map original frame indices ``[0, num_frames]`` linearly; the GT span
  ``[start, end)`` fills the upper half, the predicted span the lower half,
  and a white tick marks the frame itself.

An image (task ``rec``) has no time: its footer is the label row alone,
without the time, and no bar.

Spans are the half-open frame spans of the data sample (``*_span_frames``; or
``*_span_seconds`` times ``fps``); a sample without a span falls back to its
box mask for the flags.
"""
from typing import List, Optional, Tuple

import cv2
import numpy as np

from mmstvg.structures import GroundingDataSample, frames_in_span
from .drawing import (BACKGROUND, BAR_BASE, FONT, OFF_COLOR, TEXT_COLOR, Color,
                      text_metrics, to_even, to_numpy)

__all__ = ['footer_layout', 'timeline_x', 'span_in_frames', 'render_footers']


def footer_layout(width: int, font_scale: Optional[float] = None,
                  time_bar: bool = True) -> dict:
    """Geometry of the footer under a frame of a given width.

    Args:
        width: frame width in pixels.
        font_scale: see :func:`~mmstvg.visualization.drawing.text_metrics`.
        time_bar: False (images): the label row alone, ``bar_h`` 0.

    Returns:
        A dict with ``height`` (even), ``label_h`` (the label row),
        ``bar_top``, ``bar_h`` (the time bar rows, relative to the footer),
        ``margin`` (bar columns ``[margin, width - margin)``), ``scale``
        (font scale), ``pad``, ``text_y`` (label baseline row) and ``tick_w``
        (width of the tick at the frame's time).
    """
    scale, line_h, baseline, pad = text_metrics(width, font_scale)
    label_h = line_h + 2 * pad
    bar_h = max(4, to_even(line_h)) if time_bar else 0
    return dict(
        height=to_even(label_h + bar_h + pad) if time_bar else to_even(label_h),
        label_h=label_h,
        bar_top=label_h,
        bar_h=bar_h,
        margin=pad,
        scale=scale,
        pad=pad,
        text_y=pad + line_h - baseline,
        tick_w=max(1, int(round(width / 192))))


def timeline_x(frame_index: float, num_frames: int, width: int, margin: int) -> int:
    """Column of the time bar at an original frame index.

    The bar spans columns ``[margin, width - margin)`` and maps original frame
    indices ``[0, num_frames]`` linearly onto it (index ``num_frames`` -> the
    column just after the bar).
    """
    length = max(1, width - 2 * margin)
    frac = float(np.clip(frame_index / max(num_frames, 1), 0.0, 1.0))
    return margin + int(round(frac * length))


def span_in_frames(data_sample: GroundingDataSample,
                   prefix: str) -> Optional[Tuple[int, int]]:
    """The half-open ``[start, end)`` frame span of ``'gt'`` or ``'pred'``.

    Reads ``<prefix>_span_frames``, else ``<prefix>_span_seconds`` times the
    sample's ``fps``; None when neither is there.
    """
    span = data_sample.get(f'{prefix}_span_frames')
    if span is not None:
        span = to_numpy(span).reshape(-1)
        return int(span[0]), int(span[1])
    seconds = data_sample.get(f'{prefix}_span_seconds')
    fps = data_sample.metainfo.get('fps')
    if seconds is not None and fps:
        seconds = to_numpy(seconds).reshape(-1)
        return int(round(seconds[0] * fps)), int(round(seconds[1] * fps))
    return None


def _time_info(data_sample: GroundingDataSample,
               num_sampled: int) -> Tuple[np.ndarray, List[str], int]:
    """Original frame indices, time labels and the video's frame count."""
    meta = data_sample.metainfo
    if meta.get('frame_inds') is not None:
        frame_inds = to_numpy(meta['frame_inds']).astype(np.int64).reshape(-1)
    else:
        frame_inds = np.arange(num_sampled, dtype=np.int64)
    times = meta.get('frame_times')
    if times is None and meta.get('fps'):
        times = frame_inds / float(meta['fps'])
    if times is not None:
        labels = [f'{float(t):.2f}s' for t in to_numpy(times).reshape(-1)]
    else:
        labels = [f'#{int(i)}' for i in frame_inds]
    num_frames = meta.get('num_frames')
    if not num_frames:
        ends = [int(frame_inds.max()) + 1 if len(frame_inds) else 1]
        for prefix in ('gt', 'pred'):
            span = span_in_frames(data_sample, prefix)
            if span is not None:
                ends.append(span[1])
        num_frames = max(ends)
    return frame_inds, labels, int(num_frames)


def _in_span_flags(data_sample: GroundingDataSample, prefix: str,
                   frame_inds: np.ndarray) -> Optional[np.ndarray]:
    """Which sampled frames lie in the span (the box mask as fallback)."""
    span = span_in_frames(data_sample, prefix)
    if span is not None:
        return frames_in_span(frame_inds, span)
    mask = data_sample.get(f'{prefix}_box_mask')
    if mask is not None:
        return to_numpy(mask).astype(bool).reshape(-1)
    return None


def render_footers(data_sample: GroundingDataSample,
                   width: int,
                   num_sampled: int,
                   gt_color: Optional[Color],
                   pred_color: Optional[Color],
                   font_scale: Optional[float] = None) -> np.ndarray:
    """Render the footers of all sampled frames of a sample.

    A sample of task ``rec`` (an image) gets the label row alone: no time,
    no time bar.

    Args:
        data_sample: the sample (metainfo ``frame_inds``, ``frame_times`` or
            ``fps``, ``num_frames``; GT / predicted spans, ``pred_box_scores``).
        width: frame width in pixels.
        num_sampled: number of sampled frames ``T``.
        gt_color: RGB colour of the GT span; None leaves the GT out.
        pred_color: RGB colour of the predicted span; None leaves it out.
        font_scale: see :func:`footer_layout`.

    Returns:
        uint8 RGB array ``(T, footer_layout(width, font_scale, time_bar)
        ['height'], width, 3)``, ``time_bar`` False for task ``rec``.
    """
    time_bar = data_sample.metainfo.get('task') != 'rec'
    layout = footer_layout(width, font_scale, time_bar)
    frame_inds, labels, num_frames = _time_info(data_sample, num_sampled)
    margin, top, bar_h = layout['margin'], layout['bar_top'], layout['bar_h']
    half = bar_h // 2

    # The bar with both spans is the same for every frame: draw it once.
    base = np.empty((layout['height'], width, 3), dtype=np.uint8)
    base[:] = BACKGROUND
    bar_start = timeline_x(0, num_frames, width, margin)
    bar_end = timeline_x(num_frames, num_frames, width, margin)
    if time_bar:
        base[top:top + bar_h, bar_start:bar_end] = BAR_BASE
    flags = {}
    for prefix, color, rows in (('gt', gt_color, slice(top, top + half)),
                                ('pred', pred_color, slice(top + half, top + bar_h))):
        if color is None:
            flags[prefix] = None
            continue
        flags[prefix] = _in_span_flags(data_sample, prefix, frame_inds)
        span = span_in_frames(data_sample, prefix)
        if not time_bar or span is None or span[1] <= span[0]:
            continue
        start = timeline_x(span[0], num_frames, width, margin)
        end = max(start + 1, timeline_x(span[1], num_frames, width, margin))
        base[rows, start:end] = color

    scores = data_sample.get('pred_box_scores') if pred_color is not None else None
    scores = to_numpy(scores).reshape(-1) if scores is not None else None
    scale, pad, tick_w = layout['scale'], layout['pad'], layout['tick_w']
    footers = np.repeat(base[None], num_sampled, axis=0)
    for k in range(num_sampled):
        footer = footers[k]
        index = frame_inds[k] if k < len(frame_inds) else 0
        tick = min(timeline_x(index, num_frames, width, margin),
                   max(bar_end - tick_w, bar_start))
        parts = []
        if time_bar:
            footer[top:top + bar_h, tick:tick + tick_w] = TEXT_COLOR
            parts.append((labels[k] if k < len(labels) else '', TEXT_COLOR))
        for prefix, name, color in (('gt', 'GT', gt_color),
                                    ('pred', 'Pred', pred_color)):
            if flags[prefix] is None:
                continue
            inside = k < len(flags[prefix]) and bool(flags[prefix][k])
            text = name
            if prefix == 'pred' and inside and scores is not None and k < len(scores):
                text = f'{name} {float(scores[k]):.2f}'
            parts.append((text, color if inside else OFF_COLOR))
        x = pad
        for text, color in parts:
            cv2.putText(footer, text, (x, layout['text_y']), FONT, scale, color, 1,
                        cv2.LINE_AA)
            x += cv2.getTextSize(text + ' ', FONT, scale, 1)[0][0]
    return footers
