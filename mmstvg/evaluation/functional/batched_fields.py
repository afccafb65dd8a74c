"""Read one field of many records at once: spans and per-frame fields.

:class:`~mmstvg.evaluation.STVGMetric` keeps the spans (``gt_span_frames``,
``pred_span_frames``) and the per-frame fields (``gt_boxes``,
``gt_box_mask``, ``pred_boxes``) of a sample as the sample gave them (CPU
tensors, numpy arrays or lists), so that ``process`` converts nothing per
sample: a ``Tensor.numpy()`` or ``Tensor.tolist()`` per field and sample
costs more than everything else ``process`` does. Here the field of many
records becomes one numpy array instead (:func:`stack_spans`,
:func:`concat_frame_field`):

- CPU tensors go through a single ``torch.stack`` (``torch.cat`` for
  per-frame fields whose lengths differ), when they have one dtype (or, for
  spans, promote to int64 / float64, which is exact);
- anything else, and anything that fast path cannot vouch for (another
  dtype, mixed types, a wrong or empty shape), is read record by record with
  :func:`read_span_value` / :func:`read_frame_value`, exactly as a single
  sample is read.

Both paths give the same values, and the same ``ValueError`` naming the
sample and the field for a malformed value.
"""
from typing import Any, Callable, Optional, Sequence, Tuple

import numpy as np
import torch

from .sample_fields import read_frame_value, read_span_value, to_numpy

__all__ = ['concat_frame_field', 'stack_spans']

#: Tensor dtypes the fast paths take: boxes, masks, spans.
_BOX_DTYPES = (torch.float32, torch.float64)
_MASK_DTYPES = (torch.bool, )
_SPAN_DTYPES = (torch.int64, torch.int32, torch.float32, torch.float64)
#: Span dtypes any mix of tensors promotes into without loss (the values a
#: record-by-record read gives as Python numbers).
_EXACT_SPAN_DTYPES = (torch.int64, torch.float64)


def _stack_span_tensors(values: Sequence[Any]
                        ) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """The ``torch.stack`` path of :func:`stack_spans`; None where it does
    not apply."""
    tensors = [v for v in values if type(v) is torch.Tensor]
    if not tensors:
        return None
    present = np.ones(len(values), dtype=bool)
    if len(tensors) < len(values):
        present = np.fromiter((v is not None for v in values), bool,
                              len(values))
        if present.sum() != len(tensors):
            return None  # an array / list among them
    if tensors[0].dtype not in _SPAN_DTYPES:
        return None
    try:
        with torch.inference_mode():  # no autograd bookkeeping
            spans = torch.stack(tensors)  # checks that all have one shape
    except (RuntimeError, TypeError, ValueError):
        return None
    # `stack` promotes mixed dtypes: exact into int64 / float64; into any
    # other dtype, each value must have had it.
    if spans.shape != (len(tensors), 2) or (
            spans.dtype not in _EXACT_SPAN_DTYPES
            and not all(t.dtype is spans.dtype for t in tensors)):
        return None
    return to_numpy(spans).astype(np.float64), present


def stack_spans(values: Sequence[Any], key: str,
                name_of: Callable[[int], Any]
                ) -> Tuple[np.ndarray, np.ndarray]:
    """A ``(start, end)`` span field of many records as one float64 array.

    Args:
        values: the field's value per record (tensor, array, list or None).
        key: the field, for messages.
        name_of: record index -> how errors name the sample (called for
            every record on the record-by-record path: return something
            cheap that formats lazily, like ``SampleName``).

    Returns:
        ``(spans, present)``: float64 ``(B, 2)`` (NaN rows where a record has
        no span) and ``(B,)`` whether a record has one.

    Raises:
        ValueError: naming the sample and the field when a value does not
            hold two numbers.
    """
    spans = np.full((len(values), 2), np.nan)
    fast = _stack_span_tensors(values)
    if fast is not None:
        spans[fast[1]] = fast[0]
        return spans, fast[1]
    present = np.zeros(len(values), dtype=bool)
    pairs = []
    for index, value in enumerate(values):
        pair = read_span_value(value, key, name_of(index))
        if pair is not None:
            present[index] = True
            pairs.append(pair)
    if pairs:
        spans[present] = np.array(pairs, dtype=np.float64)
    return spans, present


def _concat_tensors(values: Sequence[Any], lengths: np.ndarray, boxes: bool,
                    fill: float) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """The ``torch.stack`` / ``torch.cat`` path; None where it does not
    apply."""
    tensors = [v for v in values if type(v) is torch.Tensor]
    num_absent = len(values) - len(tensors)
    if not tensors or (num_absent and sum(v is None for v in values)
                       < num_absent):
        return None  # no tensor, or an array / list among them
    dtype = tensors[0].dtype
    if dtype not in (_BOX_DTYPES if boxes else _MASK_DTYPES):
        return None
    parts, present = values, np.ones(len(values), dtype=bool)
    if num_absent:  # absent values: filler rows of the dtype
        present = np.fromiter((v is not None for v in values), bool,
                              len(values))
        parts = [
            v if v is not None else torch.full(
                (int(n), 4) if boxes else (int(n), ), fill, dtype=dtype)
            for v, n in zip(values, lengths)
        ]
    tail = (4, ) if boxes else ()
    num_rows = int(lengths[0])
    try:
        with torch.inference_mode():  # no autograd bookkeeping
            flat = _join(parts, tensors, lengths, present, num_rows, tail)
    except (RuntimeError, TypeError, ValueError):
        return None
    # `stack` / `cat` promote mixed dtypes. Masks must all have been bool
    # (anything else promotes away from bool); boxes promoted to float64 are
    # exact (as reading each record is); float32 boxes must all have been
    # float32 (an integer one would have lost precision).
    if flat is None:
        return None
    if flat.dtype is not (torch.float64 if boxes else torch.bool) and not (
            boxes and flat.dtype is torch.float32
            and all(t.dtype is dtype for t in tensors)):
        return None
    return to_numpy(flat), present


def _join(parts: Sequence[torch.Tensor], tensors: Sequence[torch.Tensor],
          lengths: np.ndarray, present: np.ndarray, num_rows: int,
          tail: Tuple[int, ...]) -> Optional[torch.Tensor]:
    """``parts`` (the values, with filler rows) in one tensor; None when
    some value has not exactly its sample's rows."""
    if num_rows > 0 and (lengths == num_rows).all():
        # One length for all: `stack` checks every shape.
        flat = torch.stack(parts)
        if flat.shape != (len(parts), num_rows) + tail:
            return None
        return flat.reshape((-1, ) + tail)
    # `cat` checks the trailing dimensions only, so each value must have
    # exactly its sample's rows (a 1-D empty tensor, which `cat` skips, has 0
    # rows: it is read record by record, as empty).
    flat = torch.cat(parts)
    rows = np.fromiter((t.shape[0] for t in tensors), np.int64, len(tensors))
    expected = lengths[present]
    if (flat.shape[1:] != tail or not (rows == expected).all()
            or not (expected > 0).all()):
        return None
    return flat


def concat_frame_field(values: Sequence[Any], lengths: np.ndarray, key: str,
                       boxes: bool, fill: float, fill_dtype: type,
                       name_of: Callable[[int], Any]
                       ) -> Tuple[np.ndarray, np.ndarray]:
    """One per-frame field of many records, concatenated.

    Args:
        values: the field's value per record (tensor, array, list or None).
        lengths: ``(B,)`` sampled frames per record (``T``).
        key: the field, for messages.
        boxes: True for ``(T, 4)`` boxes, False for a ``(T,)`` mask.
        fill: the value of the rows of a record without the field (NaN for
            predicted boxes, 0 / False for the ground truth).
        fill_dtype: the dtype of those rows on the record-by-record path.
        name_of: record index -> how errors name the sample (called for
            every record on the record-by-record path: return something
            cheap that formats lazily, like ``SampleName``).

    Returns:
        ``(flat, present)``: the rows of all records one after the other,
        ``(sum(lengths), 4)`` or ``(sum(lengths),)``, and ``(B,)`` whether a
        record has the field (not None, not empty).

    Raises:
        ValueError: naming the sample and the field when a value is
            malformed.
    """
    fast = _concat_tensors(values, lengths, boxes, fill)
    if fast is not None:
        return fast
    present = np.zeros(len(values), dtype=bool)
    arrays = []
    for index, (value, num_rows) in enumerate(zip(values, lengths)):
        array = read_frame_value(value, key, int(num_rows), boxes,
                                 name_of(index))
        if array is None:
            array = np.full((num_rows, 4) if boxes else num_rows, fill,
                            dtype=fill_dtype)
        else:
            present[index] = True
        arrays.append(array)
    if not arrays:
        return np.zeros((0, 4) if boxes else 0, dtype=fill_dtype), present
    return np.concatenate(arrays), present
