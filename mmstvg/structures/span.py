"""Span helpers: time intervals in frames and in seconds.

Conventions (see the README's "Conventions" section):

- A span in frames is a **half-open** interval ``[start, end)`` of frame indices
  of the original video (0-based). Its length is ``end - start``.
- A span in seconds is a float pair ``(start_s, end_s)``; frame ``i`` is at
  ``i / fps`` seconds. ``frames_to_seconds`` maps ``[s, e)`` to
  ``(s / fps, e / fps)`` and ``seconds_to_frames`` is its inverse, rounding to
  the nearest frame and clipping to the video. A variable-frame-rate video's
  frames are not at ``i / fps``: ``seconds_to_frames_at`` rounds to the
  nearest of its frames' presentation times instead.

Datasets convert their source's convention to these at the dataset boundary;
nothing downstream converts again.
"""
from typing import List, Tuple

import numpy as np

__all__ = ['span_iou', 'frames_to_seconds', 'seconds_to_frames', 'seconds_to_frames_at',
           'frames_in_span']


def span_iou(spans1: np.ndarray, spans2: np.ndarray) -> np.ndarray:
    """IoU of matching 1-D spans, broadcast over leading dimensions.

    Works for half-open frame spans and for spans in seconds alike (both are
    measured as ``end - start``). A reversed or empty span has length 0; two
    empty spans have IoU 0.

    Args:
        spans1: array ``(..., 2)`` of ``(start, end)``.
        spans2: array ``(..., 2)``, broadcastable with ``spans1``.

    Returns:
        Array ``(...)`` of IoUs in [0, 1].
    """
    spans1 = np.asarray(spans1, dtype=np.float64)
    spans2 = np.asarray(spans2, dtype=np.float64)
    len1 = np.clip(spans1[..., 1] - spans1[..., 0], 0, None)
    len2 = np.clip(spans2[..., 1] - spans2[..., 0], 0, None)
    inter = np.clip(
        np.minimum(spans1[..., 1], spans2[..., 1]) -
        np.maximum(spans1[..., 0], spans2[..., 0]), 0, None)
    union = len1 + len2 - inter
    with np.errstate(invalid='ignore', divide='ignore'):
        iou = np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)
    return np.nan_to_num(iou, nan=0.0)


def frames_to_seconds(span_frames: Tuple[int, int], fps: float) -> Tuple[float, float]:
    """Half-open frame span ``[s, e)`` -> seconds ``(s / fps, e / fps)``."""
    start, end = span_frames
    return float(start) / fps, float(end) / fps


def seconds_to_frames(span_seconds: Tuple[float, float], fps: float,
                      num_frames: int) -> Tuple[int, int]:
    """Span in seconds -> half-open frame span, clipped to ``[0, num_frames]``.

    Rounds both ends to the nearest frame boundary: the inverse of
    :func:`frames_to_seconds` on spans that came from frames.
    """
    start_s, end_s = span_seconds
    start = int(np.clip(round(start_s * fps), 0, num_frames))
    end = int(np.clip(round(end_s * fps), 0, num_frames))
    return start, end


def seconds_to_frames_at(span_seconds: Tuple[float, float],
                         boundaries: np.ndarray) -> Tuple[int, int]:
    """Span in seconds -> half-open frame span, on a video's own frame times.

    The :func:`seconds_to_frames` of a variable-frame-rate video: each end is
    rounded to the nearest frame boundary, where boundary ``i < N`` is the
    presentation time of frame ``i`` and boundary ``N`` the end of the last
    frame.

    Args:
        span_seconds: ``(start_s, end_s)``.
        boundaries: ascending ``(N + 1,)`` seconds.

    Returns:
        ``(start, end)`` in ``[0, N]``.
    """
    boundaries = np.asarray(boundaries, dtype=np.float64)

    def nearest(seconds: float) -> int:
        right = int(np.clip(np.searchsorted(boundaries, seconds), 0, len(boundaries) - 1))
        left = max(right - 1, 0)
        closer_left = abs(seconds - boundaries[left]) <= abs(boundaries[right] - seconds)
        return left if closer_left else right

    return nearest(float(span_seconds[0])), nearest(float(span_seconds[1]))


def frames_in_span(frame_inds: np.ndarray, span_frames: Tuple[int, int]) -> np.ndarray:
    """Boolean mask of the frame indices inside a half-open span ``[s, e)``."""
    frame_inds = np.asarray(frame_inds)
    return (frame_inds >= span_frames[0]) & (frame_inds < span_frames[1])


def frame_times_and_duration(sample, num_frames: int) -> Tuple[List[float], float]:
    """The sampled frames' times in seconds (zeros when unknown) and the video's
    duration, from a data sample's metainfo (``frame_times``, ``duration``)."""
    times = sample.metainfo.get('frame_times')
    if times is None:
        times = np.zeros(num_frames)
    times = list(times)
    duration = float(sample.metainfo.get('duration', times[-1] if times else 0.0))
    return times, duration
