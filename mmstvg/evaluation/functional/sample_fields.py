"""Read the fields of one evaluated sample into compact numpy.

The metrics receive ``GroundingDataSample.to_dict()`` dicts: meta information
(``frame_inds``, ``num_frames``, ``qtype`` ...) and data fields (``gt_*``,
``pred_*``) side by side, as tensors, numpy arrays or plain Python values.
Everything a metric keeps goes through :func:`to_numpy` here, so tensors,
arrays and lists are handled in one place, and every malformed field raises a
:class:`ValueError` that names the sample and the field.

:func:`classify_prediction` decides, per sample, which part of a prediction is
usable; the metrics score an unusable part as 0 and count it (never a crash,
never a sample dropped from the mean).
"""
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np
import torch

__all__ = [
    'PRED_KEYS', 'STATUS_FLAGS', 'SampleName', 'box_row_status',
    'classify_prediction', 'host_value', 'off_host', 'read_array',
    'read_boxes', 'read_frame_field', 'read_frame_value', 'read_parse_ok',
    'read_span', 'read_span_pair', 'read_span_value', 'sample_name',
    'to_numpy', 'valid_box_rows'
]

#: Data fields a model's ``predict`` fills; a sample without any is "missing".
PRED_KEYS = ('pred_span_frames', 'pred_span_seconds', 'pred_boxes')

#: Per-sample failure flags the metrics count and report (``num_<flag>``).
STATUS_FLAGS = ('missing_pred', 'failed_parse', 'invalid_span', 'no_boxes',
                'nan_boxes')


def to_numpy(value: Any, dtype: Optional[np.dtype] = None) -> np.ndarray:
    """Convert a tensor, array, list or scalar to a numpy array.

    Args:
        value: a ``torch.Tensor`` (any device), ``np.ndarray``, sequence or
            scalar.
        dtype: the dtype of the result; kept as is when None.

    Returns:
        A numpy array (a copy only where a conversion needs one).
    """
    if type(value) is np.ndarray:  # the cheapest case first
        if dtype is None or value.dtype == dtype:
            return value
    elif isinstance(value, torch.Tensor):
        try:  # the common case, a CPU tensor without grad, is the cheapest
            value = value.numpy()
        except (RuntimeError, TypeError):  # grad, another device, bfloat16
            value = value.detach().cpu()
            value = (value.float() if value.dtype == torch.bfloat16 else
                     value).numpy()
        if dtype is None or value.dtype == dtype:
            return value
    return np.asarray(value, dtype=dtype)


class SampleName:
    """The name of a sample in messages, built only when a message is.

    ``process`` runs for every sample; formatting a name for each one would
    cost more than reading its fields, so errors format this lazily
    (``f'{name}: ...'``).
    """
    __slots__ = ('sample', 'index')

    def __init__(self, sample: Dict[str, Any], index: Optional[int] = None):
        self.sample = sample
        self.index = index

    def __str__(self) -> str:
        return sample_name(self.sample, self.index)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


def sample_name(sample: Dict[str, Any], index: Optional[int] = None) -> str:
    """A readable name of a sample for error messages and logs."""
    sample_id = sample.get('sample_id')
    if sample_id is not None:
        return f'sample {sample_id!r}'
    video_id = sample.get('video_id')
    if video_id is not None:
        return f'sample of video {video_id!r}'
    return f'sample #{index}' if index is not None else 'sample'


def read_array(sample: Dict[str, Any], key: str, dtype: np.dtype,
               shape_tail: Sequence[int] = (), ndim: Optional[int] = None,
               name: str = 'sample') -> Optional[np.ndarray]:
    """Read ``sample[key]`` as a numpy array and check its shape.

    Args:
        sample: the sample dict.
        key: the field.
        dtype: dtype of the result.
        shape_tail: the required trailing dimensions, e.g. ``(4,)`` for boxes.
        ndim: the required number of dimensions (None: any).
        name: how errors name the sample.

    Returns:
        The array, or None when the field is absent or None.

    Raises:
        ValueError: naming the sample and the field when the shape is wrong
            or the values cannot be converted.
    """
    value = sample.get(key)
    if value is None:
        return None
    try:
        array = to_numpy(value, dtype)
    except (TypeError, ValueError) as err:
        raise ValueError(f'{name}: field {key!r} cannot be read as '
                         f'{np.dtype(dtype).name}: {err}') from err
    tail = tuple(shape_tail)
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f'{name}: field {key!r} must have {ndim} dimensions, '
                         f'got shape {array.shape}')
    if tail and tuple(array.shape[-len(tail):]) != tail:
        if array.size == 0:
            return np.zeros((0, ) + tail, dtype=dtype)
        raise ValueError(f'{name}: field {key!r} must have shape (..., '
                         f'{", ".join(map(str, tail))}), got {array.shape}')
    return array


def read_span(sample: Dict[str, Any], key: str,
              name: str = 'sample') -> Optional[np.ndarray]:
    """Read a ``(start, end)`` span field as a float64 array of shape (2,)."""
    span = read_array(sample, key, np.float64, name=name)
    if span is None:
        return None
    if span.shape != (2, ):
        raise ValueError(f'{name}: field {key!r} must have shape (2,), got '
                         f'{span.shape}')
    return span


def read_span_pair(sample: Dict[str, Any], key: str,
                   name: str = 'sample') -> Optional[list]:
    """Read a ``(start, end)`` span field as a list of 2 Python numbers.

    The cheap path of :func:`read_span` for per-sample ``process`` calls.
    """
    return read_span_value(sample.get(key), key, name)


def read_span_value(value: Any, key: str,
                    name: str = 'sample') -> Optional[list]:
    """:func:`read_span_pair` on the field's value itself."""
    if value is None:
        return None
    span = value.tolist() if hasattr(value, 'tolist') else list(value)
    if len(span) != 2 or isinstance(span[0], list):
        raise ValueError(f'{name}: field {key!r} must have shape (2,), got '
                         f'{to_numpy(value).shape}')
    return span


def read_parse_ok(sample: Dict[str, Any]) -> bool:
    """``pred_parse_ok`` as a bool (True when absent or None)."""
    parse_ok = sample.get('pred_parse_ok')
    if parse_ok is None:
        return True
    if hasattr(parse_ok, 'reshape'):
        array = to_numpy(parse_ok).reshape(-1)
        return bool(array[0]) if array.size else True
    return bool(parse_ok)


def read_boxes(sample: Dict[str, Any], key: str, num_rows: Optional[int],
               name: str = 'sample') -> Optional[np.ndarray]:
    """Read an ``(N, 4)`` box field and check its row count.

    float32 input stays float32 (half the memory of the per-sample results;
    scoring widens it to float64 exactly); anything else becomes float64.

    Args:
        sample: the sample dict.
        key: ``'gt_boxes'``, ``'pred_boxes'`` or ``'gt_tube_boxes'``.
        num_rows: the required number of rows (None: any). An empty field
            (0 rows) is accepted whatever ``num_rows`` is: it means "no box".
        name: how errors name the sample.

    Returns:
        The boxes, or None when the field is absent.
    """
    value = sample.get(key)
    if value is None:
        return None
    try:
        boxes = to_numpy(value)
        if boxes.dtype.kind != 'f' or boxes.dtype.itemsize < 4:
            boxes = boxes.astype(np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f'{name}: field {key!r} cannot be read as boxes: '
                         f'{err}') from err
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        if boxes.size == 0:
            return np.zeros((0, 4))
        raise ValueError(f'{name}: field {key!r} must have shape (N, 4), got '
                         f'{boxes.shape}')
    if num_rows is not None and len(boxes) != num_rows and len(boxes):
        raise ValueError(f'{name}: field {key!r} has {len(boxes)} rows for '
                         f'{num_rows} sampled frames (frame_inds)')
    return boxes


def box_row_status(boxes: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Which rows hold a real box, and which are finite.

    Args:
        boxes: ``(..., 4)`` xyxy, any float dtype (compared as is, no copy).

    Returns:
        ``(valid, finite)`` bool arrays ``(...)``: ``valid`` = finite with
        positive width and height; ``finite`` = no NaN / inf coordinate.
    """
    boxes = np.asarray(boxes)
    x1, y1, x2, y2 = (boxes[..., k] for k in range(4))
    with np.errstate(invalid='ignore', over='ignore'):
        # The sum is NaN / inf exactly when a coordinate is (or overflows).
        finite = np.isfinite(x1 + y1 + x2 + y2)
        return (x2 > x1) & (y2 > y1) & finite, finite


def read_frame_field(sample: Dict[str, Any], key: str, num_rows: int,
                     boxes: bool, name: str = 'sample') -> Optional[np.ndarray]:
    """Read a per-sampled-frame field (``(T, 4)`` boxes or a ``(T,)`` mask).

    The lean reader for one sample: one conversion and a few shape checks
    (see :func:`read_frame_value`).

    Args:
        sample: the sample dict.
        key: the field, e.g. ``'pred_boxes'`` or ``'gt_box_mask'``.
        num_rows: ``T``, the number of sampled frames.
        boxes: True for ``(T, 4)`` boxes (float32 kept, else float64), False
            for a ``(T,)`` bool mask.
        name: how errors name the sample.

    Returns:
        The array; None when the field is absent or empty.
    """
    return read_frame_value(sample.get(key), key, num_rows, boxes, name)


def read_frame_value(value: Any, key: str, num_rows: int, boxes: bool,
                     name: str = 'sample') -> Optional[np.ndarray]:
    """:func:`read_frame_field` on the field's value itself.

    Args:
        value: the field's value (tensor, array, list or None).
        key: the field, for messages.
        num_rows: ``T``, the number of sampled frames.
        boxes: True for ``(T, 4)`` boxes, False for a ``(T,)`` mask.
        name: how errors name the sample.

    Returns:
        The array; None when the value is None or empty.

    Raises:
        ValueError: naming the sample and the field when the shape is wrong.
    """
    if value is None:
        return None
    array = to_numpy(value)
    if array.size == 0:
        return None
    if boxes:
        if array.ndim != 2 or array.shape[1] != 4:
            raise ValueError(f'{name}: field {key!r} must have shape (T, 4), '
                             f'got {array.shape}')
        if array.dtype != np.float32 and array.dtype != np.float64:
            array = array.astype(np.float64)
    else:
        if array.ndim != 1:
            raise ValueError(f'{name}: field {key!r} must have shape (T,), got '
                             f'{array.shape}')
        if array.dtype != np.bool_:
            array = array.astype(bool)
    if len(array) != num_rows:
        raise ValueError(f'{name}: field {key!r} has {len(array)} rows for '
                         f'{num_rows} sampled frames (frame_inds)')
    return array


def off_host(value: Any) -> bool:
    """Whether a value is a tensor on another device than the CPU, or one
    that requires grad (what :func:`host_value` converts)."""
    return isinstance(value, torch.Tensor) and (not value.is_cpu
                                                or value.requires_grad)


def host_value(value: Any) -> Any:
    """A field's value as it can be kept until ``compute_metrics``.

    CPU tensors without grad, arrays and lists are kept as they are (no
    conversion per sample); a tensor on another device or one that requires
    grad becomes a numpy array now, so that the kept records hold neither GPU
    memory nor autograd graphs and gather across ranks as plain CPU data.
    """
    return to_numpy(value) if off_host(value) else value


def valid_box_rows(boxes: np.ndarray) -> np.ndarray:
    """Rows that hold a real box: finite coordinates and positive area.

    A zero row (how data samples fill frames without a box), a reversed box or
    a NaN coordinate is no box.

    Args:
        boxes: ``(..., 4)`` xyxy.

    Returns:
        Bool array ``(...)``.
    """
    return box_row_status(boxes)[0]


def classify_prediction(sample: Dict[str, Any],
                        span: Optional[np.ndarray],
                        span_limit: Optional[float],
                        boxes: Optional[np.ndarray],
                        needs_boxes: bool = True,
                        needs_span: bool = True) -> Dict[str, bool]:
    """Flag what is unusable in one sample's prediction.

    Args:
        sample: the sample dict (reads ``pred_parse_ok`` and which ``pred_*``
            fields exist).
        span: the predicted span already read (frames or seconds), or None.
        span_limit: the end of the video in the span's unit; a span that
            starts before 0 or ends after it is invalid. None: no limit.
        boxes: the predicted boxes already read, or None.
        needs_boxes: whether the task predicts boxes (False for TVG, whose
            ``no_boxes`` / ``nan_boxes`` flags then stay False).
        needs_span: whether the task predicts a span (False for REC, whose
            ``invalid_span`` flag then stays False).

    Returns:
        A dict with the :data:`STATUS_FLAGS` as keys. ``missing_pred``
        excludes the other flags: a sample without any ``pred_*`` field is
        only missing.
    """
    flags = dict.fromkeys(STATUS_FLAGS, False)
    if all(sample.get(key) is None for key in PRED_KEYS):
        flags['missing_pred'] = True
        return flags
    flags['failed_parse'] = not read_parse_ok(sample)
    if not needs_span:
        pass
    elif span is None or not np.isfinite(span).all() or span[1] <= span[0]:
        flags['invalid_span'] = True
    elif span_limit is not None and (span[0] < 0 or span[1] > span_limit):
        flags['invalid_span'] = True
    if needs_boxes:
        if boxes is None or len(boxes) == 0 or not valid_box_rows(boxes).any():
            flags['no_boxes'] = True
        if boxes is not None and len(boxes) and not np.isfinite(boxes).all():
            flags['nan_boxes'] = True
    return flags
