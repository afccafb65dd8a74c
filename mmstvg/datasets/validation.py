"""Checks at the data boundary, shared by the datasets, the inferencer and the demo.

Every check either returns the value in its proper Python type or raises a
:class:`GroundingDataError` that names the file, the video and the field, so
that a caller with ``on_bad_sample='skip'`` can count the sample as skipped.
None of them turns a wrong-typed value into text or a number silently
(``str(['a', 'list'])`` as a caption, ``int('forty')`` raising a bare
``ValueError``, ``fps: 0`` replaced by a default).

The functions take a ``where`` dict (``ann_file``, ``video_id``) so the error
names the sample; the inferencer passes ``ann_file=None`` and the video path.

:func:`build_data_info` assembles a dataset's contract dict (see
:mod:`mmstvg.datasets.base_grounding_dataset`) from a sample's values as read,
with the checks above and those of spans, tubes and boxes.
"""
import hashlib
import json
import math
import numbers
from dataclasses import dataclass
from typing import Any, Dict, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from mmstvg.structures import frames_to_seconds

__all__ = [
    'GroundingDataError', 'check_option', 'as_int', 'as_float', 'check_fps', 'check_sentence',
    'as_boxes', 'check_frame_inds', 'read_text', 'load_json', 'file_digest',
    'SENTENCE_POLICIES', 'DEFAULT_MAX_SENTENCE_WORDS', 'VideoMeta', 'Target',
    'DataInfoChecks', 'build_data_info'
]

#: What to do with a sentence longer than the budget.
SENTENCE_POLICIES = ('error', 'truncate')
#: Default sentence budget in words. The longest public STVG / TVG / REC
#: sentences have ~100 words (HC-STVG v2); a 4,096-token LLM context holds the
#: 64-frame prompt plus a few hundred words at most.
DEFAULT_MAX_SENTENCE_WORDS = 256


class GroundingDataError(ValueError):
    """A bad annotation or video, naming the file, the video and the field.

    Args:
        message: what is wrong.
        ann_file: the annotation file the sample comes from.
        video_id: the video (or image) id of the sample.
        field: the annotation field (or ``'video'``) that is wrong.
    """

    #: What ``video_id`` is called in the message (a subclass for files of
    #: conversations names an entry).
    ID_LABEL = 'video'

    def __init__(self, message: str, ann_file: Optional[str] = None,
                 video_id: Optional[str] = None, field: Optional[str] = None):
        self.ann_file = ann_file
        self.video_id = video_id
        self.field = field
        self.reason = message
        # Only the parts given: a DataLoader worker re-raises the error in the
        # main process from its message alone.
        parts = [] if ann_file is None else [str(ann_file)]
        if video_id is not None:
            parts.append(f'{self.ID_LABEL} {video_id!r}')
        if field is not None:
            parts.append(f'field {field!r}')
        super().__init__(': '.join(parts + [message]))

    def __reduce__(self):
        return (type(self), (self.reason, self.ann_file, self.video_id,
                             self.field))


def check_option(name: str, value: Any, choices: Sequence) -> None:
    """Refuse a setting that is not one of ``choices`` (a ``ValueError``
    naming the setting, the choices and the value)."""
    if value not in choices:
        raise ValueError(f'{name} must be one of {choices}, got {value!r}')


def _error(message: str, field: str, where: Optional[Dict[str, Any]]
           ) -> GroundingDataError:
    where = where or {}
    video_id = where.get('video_id')
    return GroundingDataError(message, ann_file=where.get('ann_file'),
                              video_id=None if video_id is None else
                              str(video_id), field=field)


def _shown(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + '...'


def as_int(value: Any, field: str, where: Optional[dict] = None,
           minimum: Optional[int] = None) -> int:
    """``value`` as an int: an int, or a float with an integral value.

    A bool, a string (``'forty'``, also ``'40'``: json numbers are not
    strings), None, a list or a fractional float is bad input.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _error(f'must be an integer, got {type(value).__name__} '
                     f'{_shown(value)}', field, where)
    if not float(value).is_integer():
        raise _error(f'must be an integer, got {value!r}', field, where)
    value = int(value)
    if minimum is not None and value < minimum:
        raise _error(f'must be >= {minimum}, got {value}', field, where)
    return value


def as_float(value: Any, field: str, where: Optional[dict] = None,
             positive: bool = False) -> float:
    """``value`` as a finite float (strictly positive with ``positive``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _error(f'must be a number, got {type(value).__name__} '
                     f'{_shown(value)}', field, where)
    value = float(value)
    if not math.isfinite(value):
        raise _error(f'must be finite, got {value}', field, where)
    if positive and not value > 0:
        raise _error(f'must be positive, got {value}', field, where)
    return value


def check_fps(value: Any, field: str = 'fps', where: Optional[dict] = None
              ) -> float:
    """A frame rate: a finite number > 0. ``0`` is an error, never a default."""
    return as_float(value, field, where, positive=True)


def check_sentence(value: Any, field: str = 'sentence',
                   where: Optional[dict] = None,
                   max_words: Optional[int] = DEFAULT_MAX_SENTENCE_WORDS,
                   policy: str = 'error') -> Tuple[str, bool]:
    """A sentence: a non-empty ``str`` of at most ``max_words`` words.

    A list, an int, bytes or None is bad input (never ``str(value)``); so is
    text with lone surrogates (undecodable bytes read with
    ``errors='surrogateescape'``). Surrounding white space is stripped.

    Args:
        value: the sentence as read.
        field: the field name quoted in errors.
        where: ``ann_file`` / ``video_id`` quoted in errors.
        max_words: the budget in white-space separated words; None: no
            budget.
        policy: ``'error'``: a longer sentence is bad input; ``'truncate'``:
            it is cut to ``max_words`` words (the caller logs it).

    Returns:
        ``(sentence, truncated)``.
    """
    if policy not in SENTENCE_POLICIES:
        raise ValueError(f'the sentence policy must be one of '
                         f'{SENTENCE_POLICIES}, got {policy!r}')
    if not isinstance(value, str):
        raise _error(f'must be a string, got {type(value).__name__} '
                     f'{_shown(value)}', field, where)
    try:
        value.encode('utf-8')
    except UnicodeEncodeError as error:
        raise _error(f'is not valid UTF-8 text (position {error.start})',
                     field, where) from None
    sentence = value.strip()
    if not sentence:
        raise _error('is empty', field, where)
    if max_words is not None:
        words = sentence.split()
        if len(words) > max_words:
            if policy == 'error':
                raise _error(
                    f'has {len(words)} words, more than the budget of '
                    f'{max_words} (max_sentence_words; or set '
                    "long_sentence='truncate')", field, where)
            return ' '.join(words[:max_words]), True
    return sentence, False


def as_boxes(value: Any, field: str, where: Optional[dict] = None,
             allow_empty: bool = False) -> np.ndarray:
    """``value`` as a float64 ``(N, 4)`` array of finite numbers.

    Strings (``'abc'``), ragged lists, nested strings, None and rows that are
    not 4 numbers are bad input.
    """
    if isinstance(value, (str, bytes)) or value is None:
        raise _error(f'must be a list of 4-number boxes, got '
                     f'{type(value).__name__} {_shown(value)}', field, where)
    try:
        boxes = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise _error(f'must be a list of 4-number boxes, got {_shown(value)}',
                     field, where) from None
    if boxes.ndim == 1 and boxes.size == 4:
        boxes = boxes[None]
    if boxes.size == 0 and allow_empty:
        return boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4 or len(boxes) == 0:
        raise _error(f'expected a non-empty list of 4-number boxes, got shape '
                     f'{boxes.shape}', field, where)
    if not np.isfinite(boxes).all():
        raise _error('box with a non-finite coordinate', field, where)
    return boxes


def check_frame_inds(frame_inds: Any, num_frames: int, field: str = 'frame_inds',
                     where: Optional[dict] = None) -> np.ndarray:
    """Frame indices: integers in ``[0, num_frames)``, ascending (ties
    allowed: a short clip repeats frames)."""
    inds = np.asarray(frame_inds)
    if inds.size and inds.dtype.kind not in 'iu':
        if inds.dtype.kind != 'f' or not np.all(np.mod(inds, 1) == 0):
            raise _error(f'must be integers, got {_shown(inds.tolist())}',
                         field, where)
    inds = inds.astype(np.int64).reshape(-1)
    if inds.size:
        if inds.min() < 0 or inds.max() >= int(num_frames):
            raise _error(f'frames {int(inds.min())}..{int(inds.max())} are '
                         f'outside the video of {int(num_frames)} frames',
                         field, where)
        if (np.diff(inds) < 0).any():
            raise _error('frames are not in ascending order', field, where)
    return inds


def read_text(path: str) -> str:
    """The content of a UTF-8 text file; other bytes are a clear error
    naming the file, the line and the byte offset."""
    with open(path, 'rb') as f:
        data = f.read()
    try:
        return data.decode('utf-8-sig')
    except UnicodeDecodeError as error:
        line = data.count(b'\n', 0, error.start) + 1
        raise GroundingDataError(
            f'is not UTF-8 text: byte {data[error.start]:#04x} at offset '
            f'{error.start} (line {line}); re-encode the file as UTF-8',
            ann_file=path, field='encoding') from None


def file_digest(path: str, length: int = 16) -> str:
    """The first ``length`` hex digits of the SHA-1 of a file's bytes (it
    names an annotation file's content in prediction dumps)."""
    digest = hashlib.sha1()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()[:length]


class _DuplicateKey(Exception):
    """A key repeated in one JSON object with another value."""


def _unique_keys(pairs: list) -> dict:
    """``object_pairs_hook`` of :func:`load_json`: the object as a dict,
    refused when a key repeats with another value (``json`` would keep the
    last one and silently drop the others: an HC-STVG entry keyed by its
    video file, a video of a TVG file's ``videos``)."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        for key, value in pairs:
            if obj[key] != value:
                raise _DuplicateKey(key)
    return obj


def load_json(path: str) -> Any:
    """``json.load`` of a UTF-8 file, with errors naming the file.

    A key that appears twice in one object with different values is an
    error naming the file and the key (``json`` would keep the last value
    and drop the others without a word); an exact repeat is harmless.
    """
    text = read_text(path)
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as error:
        raise GroundingDataError(
            f'is not valid JSON: {error.msg} at line {error.lineno} column '
            f'{error.colno}', ann_file=path, field='json') from None
    except _DuplicateKey as error:
        key = error.args[0]
        raise GroundingDataError(
            f'the key {key!r} appears more than once in one JSON object, with '
            'different values (only the last would be read: the others would '
            'be dropped without a word); make the keys unique',
            ann_file=path, field=str(key)) from None


class VideoMeta(NamedTuple):
    """The original video as its annotations (or the file) describe it, unchecked.

    An image is a one-frame video at 1 fps.
    """
    num_frames: Any
    fps: Any
    height: Any
    width: Any


class Target(NamedTuple):
    """A sample's annotated answer as read, unchecked.

    Args:
        span_frames: the span, half-open ``[start, end)`` 0-based frame indices.
        tube_frame_inds: the annotated frames (integers, strictly increasing);
            empty (the default) for a task without boxes.
        tube_boxes: one xyxy box per annotated frame, pixels of the original
            frame.
        span_seconds: the span in seconds where the annotation gives them
            (default: ``span_frames / fps``).
        clip_span_frames: the part of the video the sample is about,
            half-open (default: the whole video).
        span_field: the annotation field(s) of the span, quoted in errors.
        box_field: the annotation field of the boxes, quoted in errors.
    """
    span_frames: Sequence[int]
    tube_frame_inds: Any = ()
    tube_boxes: Any = ()
    span_seconds: Optional[Sequence[float]] = None
    clip_span_frames: Optional[Sequence[int]] = None
    span_field: str = 'span'
    box_field: str = 'bbox'


@dataclass
class DataInfoChecks:
    """What :func:`build_data_info` checks a file's samples against, and counts.

    A dataset makes one per load (:meth:`BaseGroundingDataset.load_data_list`).

    Args:
        ann_file: the annotation file, named in errors.
        dataset_name: every sample's ``dataset_name``.
        task: every sample's ``task`` (``'stvg'``, ``'tvg'``, ``'rec'``).
        max_sentence_words: the sentence budget in words (None: none).
        long_sentence: ``'error'`` or ``'truncate'`` (see
            :func:`check_sentence`).
        box_tolerance: None: a box may leave the frame (it is kept as
            written). A number: boxes further than this many pixels outside
            the frame are bad input.
        num_truncated: sentences cut to the budget so far (counted here).
    """
    ann_file: Optional[str] = None
    dataset_name: str = 'grounding'
    task: str = 'stvg'
    max_sentence_words: Optional[int] = DEFAULT_MAX_SENTENCE_WORDS
    long_sentence: str = 'error'
    box_tolerance: Optional[float] = None
    num_truncated: int = 0

    def where(self, video_id: Any) -> dict:
        """The ``where`` dict of the checks above for one sample."""
        return dict(ann_file=self.ann_file, video_id=str(video_id))

    def error(self, message: str, video_id: Any, field: str) -> GroundingDataError:
        """The error of a bad sample of this file."""
        return _error(message, field, self.where(video_id))


def build_data_info(checks: DataInfoChecks, *, sample_id: Any, video_id: Any,
                    video_path: str, sentence: Any, video: VideoMeta,
                    target: Target, source_id: Optional[str] = None,
                    **extra) -> dict:
    """One sample's contract dict, checked; raises on bad input.

    Checks: the video's size and frame rate; the sentence (budget, text);
    the span is non-empty and inside ``[0, num_frames]``; every annotated
    frame lies inside the video, in increasing order, with one box each; the
    boxes are finite with positive size, and inside the frame up to
    ``checks.box_tolerance`` pixels; the clip is inside the video. Boxes are
    never changed: the metric scores against the provider's boxes.

    Args:
        checks: the file's settings (and truncation count).
        sample_id: the unique id of the sample (predictions are matched by it).
        video_id: the contract's ``video_id``.
        video_path: the video (image) file.
        sentence: the query as read.
        video: the original video's metadata as read.
        target: the annotated span and tube as read.
        source_id: the sample's id in the annotation file, quoted in errors
            (default: ``video_id``).
        **extra: further keys of the dict (``qtype``, a dataset's own keys);
            they override the defaults (``qtype=''``).

    Returns:
        The contract dict (``CONTRACT_KEYS``) plus ``clip_span_frames`` and
        ``extra``.

    Raises:
        GroundingDataError: naming the file, ``source_id`` and the field.
    """
    error_id = source_id if source_id is not None else video_id
    where = checks.where(error_id)
    num_frames = as_int(video.num_frames, 'num_frames', where, minimum=1)
    fps = check_fps(video.fps, 'fps', where)
    height = as_int(video.height, 'height', where, minimum=1)
    width = as_int(video.width, 'width', where, minimum=1)
    sentence, truncated = check_sentence(sentence, 'sentence', where,
                                         checks.max_sentence_words,
                                         checks.long_sentence)
    checks.num_truncated += int(truncated)
    start, end = _checked_span(checks, target, num_frames, error_id)
    inds, boxes = _checked_tube(checks, target, num_frames, height, width,
                                error_id)
    span_seconds = target.span_seconds
    if span_seconds is None:
        span_seconds = frames_to_seconds((start, end), fps)
    info = dict(
        sample_id=str(sample_id),
        video_id=str(video_id),
        video_path=video_path,
        task=checks.task,
        sentence=sentence,
        dataset_name=checks.dataset_name,
        qtype='',
        num_frames=num_frames,
        fps=fps,
        duration=num_frames / fps,
        height=height,
        width=width,
        gt_span_frames=[start, end],
        gt_span_seconds=(float(span_seconds[0]), float(span_seconds[1])),
        gt_tube_frame_inds=inds,
        gt_tube_boxes=boxes,
        clip_span_frames=_checked_clip(checks, target, num_frames, error_id))
    info.update(extra)
    return info


def _checked_span(checks: DataInfoChecks, target: Target, num_frames: int,
                  error_id: Any) -> Tuple[int, int]:
    """The span as ints, non-empty and inside the video."""
    where, field = checks.where(error_id), target.span_field
    start = as_int(target.span_frames[0], field, where)
    end = as_int(target.span_frames[1], field, where)
    if not 0 <= start < end <= num_frames:
        raise checks.error(f'span [{start}, {end}) is empty or outside the '
                           f'video of {num_frames} frames', error_id, field)
    return start, end


def _checked_tube(checks: DataInfoChecks, target: Target, num_frames: int,
                  height: int, width: int, error_id: Any
                  ) -> Tuple[np.ndarray, np.ndarray]:
    """The annotated frames (int64 ``(N,)``) and boxes (float32 ``(N, 4)``)."""
    field = target.box_field
    inds = np.asarray(target.tube_frame_inds)
    if inds.size and inds.dtype.kind not in 'iu':
        raise checks.error(f'frame indices must be integers, got dtype '
                           f'{inds.dtype}', error_id, field)
    inds = inds.astype(np.int64).reshape(-1)
    boxes = as_boxes(target.tube_boxes, field, checks.where(error_id),
                     allow_empty=True).astype(np.float32)
    if len(inds) != len(boxes):
        raise checks.error(f'{len(boxes)} boxes for {len(inds)} frames',
                           error_id, field)
    if len(inds):
        if inds.min() < 0 or inds.max() >= num_frames:
            raise checks.error(
                f'annotated frames {int(inds.min())}..{int(inds.max())} '
                f'outside the video of {num_frames} frames', error_id, field)
        if (np.diff(inds) <= 0).any():
            raise checks.error('annotated frames are not strictly increasing',
                               error_id, field)
        _check_boxes(checks, boxes, height, width, error_id, field)
    return inds, boxes


def _check_boxes(checks: DataInfoChecks, boxes: np.ndarray, height: int,
                 width: int, error_id: Any, field: str) -> None:
    """Boxes must have positive size; with ``box_tolerance`` they must also
    stay inside the frame up to that many pixels."""
    empty = (boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1])
    if empty.any():
        row = int(np.flatnonzero(empty)[0])
        raise checks.error(f'box {row} {boxes[row].tolist()} (xyxy) has no '
                           'area', error_id, field)
    tol = checks.box_tolerance
    if tol is None:
        return
    outside = ((boxes[:, 0] < -tol) | (boxes[:, 1] < -tol)
               | (boxes[:, 2] > width + tol) | (boxes[:, 3] > height + tol))
    if outside.any():
        row = int(np.flatnonzero(outside)[0])
        raise checks.error(
            f'box {row} {boxes[row].tolist()} (xyxy) is outside the '
            f'{width}x{height} frame by more than box_tolerance={tol} px',
            error_id, field)


def _checked_clip(checks: DataInfoChecks, target: Target, num_frames: int,
                  error_id: Any) -> list:
    """``clip_span_frames`` as ``[start, end]`` inside the video."""
    clip = (0, num_frames) if target.clip_span_frames is None else (
        int(target.clip_span_frames[0]), int(target.clip_span_frames[1]))
    if not 0 <= clip[0] < clip[1] <= num_frames:
        raise checks.error(f'clip [{clip[0]}, {clip[1]}) outside the video of '
                           f'{num_frames} frames', error_id, 'clip_span_frames')
    return list(clip)
