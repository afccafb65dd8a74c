"""Checks at the data boundary, shared by the datasets, the inferencer and the demo.

Every check either returns the value in its proper Python type or raises a
:class:`GroundingDataError` that names the file, the video and the field, so
that a caller with ``on_bad_sample='skip'`` can count the sample as skipped.
None of them turns a wrong-typed value into text or a number silently
(``str(['a', 'list'])`` as a caption, ``int('forty')`` raising a bare
``ValueError``, ``fps: 0`` replaced by a default).

The functions take a ``where`` dict (``ann_file``, ``video_id``) so the error
names the sample; the inferencer passes ``ann_file=None`` and the video path.
"""
import hashlib
import json
import math
import numbers
from typing import Any, Dict, Optional, Tuple

import numpy as np

__all__ = [
    'GroundingDataError', 'as_int', 'as_float', 'check_fps', 'check_sentence',
    'as_boxes', 'check_frame_inds', 'read_text', 'load_json', 'file_digest',
    'SENTENCE_POLICIES', 'DEFAULT_MAX_SENTENCE_WORDS'
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
