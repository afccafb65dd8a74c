"""When a decoded frame is shown: its index over the fps, or its presentation time.

A constant-frame-rate video shows frame ``i`` at ``i / fps`` seconds. A
variable-frame-rate one (phone recordings, screen captures) does not: its
container stores each frame's presentation time, and ``i / fps`` with the
*average* fps can be seconds off (a frame shown at 4.0 s read as 6.54 s).

Which time a sample's frames get (``GroundingDecordInit(frame_times=...)``):

- ``'index'``: ``i / fps``. The time axis of annotations that count frames
  (HC-STVG, VidSTG, TACoS): their ``gt_span_seconds`` are ``frames / fps``
  too, so the prompt and the target agree whatever the container says.
- ``'presentation'``: the container's presentation times (decord's
  ``VideoReader.get_frame_timestamp``), relative to the first frame. The time
  axis of a raw video at inference and of annotations in wall-clock seconds
  (Charades-STA, DiDeMo). Where every frame's presentation time lies within
  :data:`CONSTANT_RATE_TOLERANCE_S` of ``i / fps`` the video has a constant
  frame rate and ``i / fps`` is kept (the same figures as before, bit for
  bit); otherwise the presentation times are used. A video whose times
  cannot be read (none, not finite, not increasing) is refused.
- ``'auto'`` (the default): ``'presentation'`` for a sample whose data info
  says ``time_axis='seconds'``, ``'index'`` otherwise.
"""
from typing import Optional

import numpy as np

__all__ = ['FRAME_TIME_SOURCES', 'CONSTANT_RATE_TOLERANCE_S', 'FrameTimesError',
           'frame_boundaries', 'is_constant_rate', 'time_source_of']

FRAME_TIME_SOURCES = ('auto', 'index', 'presentation')

#: A video whose every frame is presented within this many seconds of
#: ``index / fps`` has a constant frame rate (timestamps are rounded to the
#: container's time base, and decord returns them as float32).
CONSTANT_RATE_TOLERANCE_S = 1e-3


class FrameTimesError(ValueError):
    """A video's presentation times cannot be had (the message says why)."""


def time_source_of(frame_times: str, results: dict) -> str:
    """``'index'`` or ``'presentation'`` for one sample (see the module docstring)."""
    if frame_times != 'auto':
        return frame_times
    return 'presentation' if results.get('time_axis') == 'seconds' else 'index'


def frame_boundaries(reader, num_frames: int) -> Optional[np.ndarray]:
    """The frames' presentation times as boundaries, relative to frame 0.

    Args:
        reader: a ``decord.VideoReader`` (or anything with
            ``get_frame_timestamp``); a reader without it (an image, a frame
            array given with its fps) has no presentation times.
        num_frames: the frames to read the times of, ``0 .. num_frames - 1``.

    Returns:
        float64 ``(num_frames + 1,)``: the start of each frame, then the end of
        the last one, in seconds after the start of frame 0; None for a reader
        without timestamps.

    Raises:
        FrameTimesError: when the container gives no usable times (the reader
            fails, a time is not finite, or the starts do not increase).
    """
    read = getattr(reader, 'get_frame_timestamp', None)
    if read is None:
        return None
    try:
        stamps = np.asarray(read(np.arange(num_frames)), dtype=np.float64)
    except Exception as error:  # decord raises DECORDError / IndexError
        raise FrameTimesError(f'the presentation times cannot be read '
                              f'({type(error).__name__}: {error})') from None
    stamps = stamps.reshape(-1, 2) if stamps.size == 2 * num_frames else stamps
    if stamps.shape != (num_frames, 2):
        raise FrameTimesError(f'the container gave presentation times of shape '
                              f'{stamps.shape} for {num_frames} frames')
    if not np.isfinite(stamps).all():
        raise FrameTimesError('the container gives frames without a presentation time')
    starts = stamps[:, 0]
    if num_frames > 1 and (np.diff(starts) <= 0).any():
        bad = int(np.flatnonzero(np.diff(starts) <= 0)[0]) + 1
        raise FrameTimesError(f'the presentation times do not increase: frame {bad} '
                              f'at {starts[bad]:.6f} s, frame {bad - 1} at '
                              f'{starts[bad - 1]:.6f} s')
    end = max(float(stamps[-1, 1]), float(starts[-1]))
    if end <= starts[-1]:  # a last frame without duration: one average period
        end = starts[-1] + ((starts[-1] - starts[0]) / (num_frames - 1)
                            if num_frames > 1 else 0.0)
    return np.append(starts, end) - starts[0]


def is_constant_rate(boundaries: np.ndarray, fps: float,
                     tolerance: float = CONSTANT_RATE_TOLERANCE_S) -> bool:
    """Whether every frame starts within ``tolerance`` seconds of ``i / fps``."""
    starts = np.asarray(boundaries, dtype=np.float64)[:-1]
    index_times = np.arange(len(starts), dtype=np.float64) / float(fps)
    return bool(np.abs(starts - index_times).max(initial=0.0) <= tolerance)
