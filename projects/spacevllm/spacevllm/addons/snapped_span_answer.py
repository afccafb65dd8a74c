"""Answers that state the span on the shown frame times (ours, not the paper's).

:class:`SnappedSpanAnswer` writes the span's start and end as time stamps of
sampled frames, so the toy LLM copies a time it was shown; it also gives the
frame boundaries' time tokens to a ``TimeStampPointer``
(:mod:`.time_stamp_pointer`). Rationale: ``docs/en/model_core.md``.
"""
import math
from typing import Optional, Sequence, Tuple

import numpy as np

from mmstvg.models.language.span_answer import SpanAnswer, check_has_span
from mmstvg.models.language.span_text import format_seconds, format_span
from mmstvg.registry import TASK_UTILS
from mmstvg.structures import GroundingDataSample

__all__ = ['SnappedSpanAnswer', 'snap_span_to_frames', 'sampled_frames_in_span',
           'digits_for_fps', 'one_token_time_limit']


def _first_at_or_after(times: np.ndarray, value: float) -> int:
    """Index of the first time ``>= value``, with a tolerance of float32 rounding
    (a span stored as float32 seconds still keeps a frame on its boundary)."""
    eps = 1e-6 * max(1.0, abs(value))
    return int(np.searchsorted(times, value - eps, side='left'))


def snap_span_to_frames(span_seconds: Sequence[float], frame_times: Sequence[float],
                        duration: float) -> Tuple[float, float]:
    """Snap a span in seconds onto the sampled frames' time stamps.

    The span is read as half-open ``[start, end)``. The snapped start is the
    time of the first sampled frame with ``time >= start``; the snapped end is
    the time of the first sampled frame with ``time >= end``, or ``duration``
    when no sampled frame comes after the span. A span that holds no sampled
    frame is returned unchanged (there is no frame to snap to).

    Args:
        span_seconds: ``(start, end)`` in seconds.
        frame_times: ascending times in seconds of the sampled frames.
        duration: the video's duration in seconds.

    Returns:
        The snapped ``(start, end)`` in seconds.
    """
    start, end = float(span_seconds[0]), float(span_seconds[1])
    times = np.asarray(frame_times, dtype=np.float64)
    first_in, first_after = _first_at_or_after(times, start), _first_at_or_after(times, end)
    if first_in >= first_after:
        return start, end
    snapped_end = float(times[first_after]) if first_after < len(times) else float(duration)
    return float(times[first_in]), snapped_end


def sampled_frames_in_span(span_frames: Sequence[int],
                           frame_inds: Sequence[int]) -> Tuple[int, int]:
    """Which sampled frames a half-open frame span ``[start, end)`` holds.

    Args:
        span_frames: ``(start, end)`` frame indices of the video.
        frame_inds: ascending indices of the sampled frames.

    Returns:
        ``(j0, j1)``: sampled frames ``j0 .. j1 - 1`` lie inside (``j0 == j1``:
        none does); ``j1 == len(frame_inds)`` when none comes after the span.
    """
    inds = np.asarray(frame_inds, dtype=np.int64)
    return (int(np.searchsorted(inds, int(span_frames[0]), side='left')),
            int(np.searchsorted(inds, int(span_frames[1]), side='left')))


def digits_for_fps(fps: float) -> int:
    """The fewest decimals that keep every frame's time on its frame.

    A time written with ``p`` decimals is off by at most ``0.5 * 10**-p`` s,
    i.e. ``0.5 * 10**-p * fps`` frames; it rounds back to its own frame when
    that is below half a frame: ``10**p > fps`` (1 decimal up to 9.99 fps,
    2 up to 99.9 fps).
    """
    if fps <= 0:
        raise ValueError(f'fps must be positive, got {fps}')
    digits = 0
    while 10**digits <= fps:
        digits += 1
    return digits


def one_token_time_limit(tokenizer, precision: int = 1) -> Optional[float]:
    """The last time of the unbroken run of one-token times from 0 s.

    Args:
        tokenizer: a Hugging Face tokenizer (its ``get_vocab``).
        precision: decimals of the times (one step is ``10 ** -precision`` s).

    Returns:
        The largest ``t`` such that every time ``0, step, ..., t`` written with
        ``precision`` decimals is a token of the vocabulary (60.0 for the
        default toy tokenizer), or None when ``"0.0"`` is not one.
    """
    vocab = tokenizer.get_vocab()
    step = 10.0**-precision
    count = 0
    while format_seconds(count * step, precision) in vocab:
        count += 1
    return None if count == 0 else round((count - 1) * step, precision)


@TASK_UTILS.register_module()
class SnappedSpanAnswer(SpanAnswer):
    """The span stated on the shown frame times, exact at any frame rate.

    Ours, not the paper's: the answer's start is the time stamp of the first
    sampled frame inside the span, its end that of the first one after it
    (the duration when none), so the toy LLM copies a time it was shown
    instead of computing one it never saw (see ``docs/en/model_core.md``).
    The frames are found on the ground truth's frame indices
    (``gt_span_frames`` and ``frame_inds``; seconds only when a sample has
    none, :func:`snap_span_to_frames`), and the times are written with
    enough decimals for the video's frame rate (:func:`digits_for_fps`), so
    the answer read back at that frame rate holds exactly the ground truth's
    sampled frames. It also gives each frame boundary's time token to a
    :class:`TimeStampPointer` (:meth:`boundary_time_ids`).

    Args:
        tokenizer: the LLM's tokenizer (filled in by the grounder).
        precision: the fewest digits of the times in the answer (more when
            the frame rate needs them: 2 from 10 fps).
    """

    def span_to_write(self, span_seconds: Sequence[float], frame_times: Sequence[float],
                      duration: float) -> Tuple[float, float]:
        return snap_span_to_frames(span_seconds, frame_times, duration)

    def digits(self, sample: GroundingDataSample) -> int:
        """Decimals of the sample's answer times: ``precision``, or more for its fps."""
        fps = sample.metainfo.get('fps')
        return self.precision if fps is None else max(self.precision,
                                                      digits_for_fps(float(fps)))

    def snapped_span(self, sample: GroundingDataSample, frame_times: Sequence[float],
                     duration: float) -> Tuple[float, float]:
        """The span the answer states for the sample's ground truth, in seconds."""
        meta = sample.metainfo
        if 'gt_span_frames' not in sample or 'frame_inds' not in meta:
            return self.span_to_write(sample.gt_span_seconds.tolist(), frame_times,
                                      duration)
        inds = np.asarray(meta['frame_inds'])[:len(frame_times)]
        first_in, first_after = sampled_frames_in_span(sample.gt_span_frames.tolist(), inds)
        if first_in >= first_after:  # no sampled frame inside: the span as it is
            return tuple(float(t) for t in sample.gt_span_seconds.tolist())
        end = (float(frame_times[first_after]) if first_after < len(frame_times) else
               float(duration))
        return float(frame_times[first_in]), end

    def encode(self, sample: GroundingDataSample, times: Sequence[float],
               duration: float) -> str:
        check_has_span(sample)
        start, end = self.snapped_span(sample, times, duration)
        return format_span(start, end, self.digits(sample))

    def boundary_time_ids(self, frame_times: Sequence[float], duration: float) -> list:
        """The token an answer writes for each of the ``T + 1`` frame boundaries.

        Boundary ``j < T`` is written as frame ``j``'s time, boundary ``T`` as
        the duration: exactly the times of snapped answers.

        Raises:
            ValueError: a time is not one token of the tokenizer, or is not
                the same token inside an answer.
        """
        times = [*frame_times, duration]
        longest = max(float(t) for t in times)
        return [self._time_token_id(t, longest) for t in times]

    def check_time_tokens(self) -> None:
        """Raise now if the tokenizer cannot write a time as one token."""
        self.boundary_time_ids([1.0], 2.0)

    def _encode(self, text: str) -> list:
        return list(self.tokenizer(text, add_special_tokens=False)['input_ids'])

    def _time_token_id(self, seconds: float, longest: Optional[float] = None) -> int:
        if not hasattr(self, '_time_ids'):
            self._time_ids = {}
        text = format_seconds(seconds, self.precision)
        if text not in self._time_ids:
            ids = self._encode(text)
            answer = format_span(seconds, seconds, self.precision)
            answer_ids = self._encode(answer)
            unknown = ids == [self.tokenizer.unk_token_id]
            if len(ids) != 1 or unknown or answer_ids.count(ids[0]) != 2:
                raise ValueError(self._time_token_error(text, ids, answer, answer_ids,
                                                        max(seconds, longest or 0.0)))
            self._time_ids[text] = ids[0]
        return self._time_ids[text]

    def _time_token_error(self, text: str, ids: list, answer: str, answer_ids: list,
                          longest: float) -> str:
        """Why the time ``text`` cannot be pointed at, the tokenizer's limit and the
        way out (``longest``: the last time the video needs, its duration)."""
        said = (f'pointing at time stamps needs each time to be one known token, alone '
                f'and inside an answer, but {type(self.tokenizer).__name__} writes the '
                f'time {text!r} s as {ids} (unknown-token id {self.tokenizer.unk_token_id}) '
                f'and the answer {answer!r} as {answer_ids}. ')
        # The toy tokenizer's times have 1 decimal (its 2-decimal tokens are box
        # coordinates 0.00 .. 1.00, not times).
        limit = one_token_time_limit(self.tokenizer, 1) if self.precision == 1 else None
        if limit is None or float(text) <= limit:
            return said + ('Use the toy tokenizer (one token per 0.1 s from 0.0 to 60.0 s, '
                           'build_toy_tokenizer; times with precision=1) or add time '
                           'tokens to this tokenizer.')
        longer = f'{10 * math.ceil(longest / 10):.1f}'
        return said + (
            f'Its time tokens go from 0.0 to {limit:.1f} s, one per 0.1 s (the toy '
            f'tokenizer has one token per 0.1 s up to 60.0 s by default), and {text} s is '
            f'past that limit (this video needs times up to {longest:.1f} s). Cut the '
            f'video to at most {limit:.1f} s, or build the toy tokenizer with a longer '
            f'range: build_toy_tokenizer(max_seconds={longer}), or '
            f'`python tools/misc/create_toy_pretrained.py OUT_DIR --max-seconds {longer}` '
            '(its vocabulary grows: the LLM gets new embedding rows, so train anew).')

