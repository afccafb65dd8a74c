"""Vectorised per-sample STVG scores (tIoU, vIoU, gt-span vIoU) and failure flags.

Every function here works on many samples at once. The fields of all
records are gathered once (:class:`SampleColumns`; the spans of all samples
in one ``torch.stack``, see :mod:`.batched_fields`) and the per-sample
values (spans, flags, tIoU) are computed for all samples together. The
frames are scored in chunks of samples (``frames_per_chunk``, sized for the
CPU caches): a chunk's per-frame fields are concatenated into flat arrays
(:class:`FlatFrames`), box IoUs are computed on the frames that carry a
ground-truth box only, and per-sample sums are ``np.bincount`` reductions,
which add one frame after the other as the evaluators do. No Python loop
runs over frames; the only loops over samples gather their fields into
lists.

A *record* is the per-sample dict that
:class:`~mmstvg.evaluation.STVGMetric` keeps (see its ``make_record``). Its
spans and per-frame fields are the values the sample gave (CPU tensors,
numpy arrays or lists), read and checked here:

- ``frame_inds`` int ``(T,)``: original indices of the sampled frames,
  ascending.
- ``gt_span``: ground-truth ``[start, end)`` in frames (2 numbers).
- ``gt_boxes`` ``(T, 4)`` and ``gt_box_mask`` bool ``(T,)``, or None: the
  ground-truth box of each sampled frame inside the ground-truth span (read
  by ``'tubedetr'`` only).
- ``tube_frame_inds`` int64 ``(N,)`` / ``tube_boxes`` ``(N, 4)``: the whole
  annotated tube at the original frame rate (read by ``'stcat'`` and
  ``'hcstvg'`` only).
- ``has_pred`` bool: whether the sample carries any ``pred_*`` field.
- ``pred_span``: predicted ``[start, end)`` in frames (2 numbers) or None.
- ``pred_boxes`` ``(T, 4)`` or None: the predicted box of each sampled
  frame (pixels, xyxy); a NaN, zero or reversed row is no box.
- ``parse_ok`` bool and ``num_frames`` (int or None).

The protocols themselves are documented in
:class:`~mmstvg.evaluation.STVGMetric`.
"""
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np

from mmstvg.structures import paired_box_iou, span_iou
from .batched_fields import concat_frame_field, stack_spans
from .sample_fields import SampleName, box_row_status, read_span_value

__all__ = [
    'PROTOCOLS', 'score_stvg', 'interpolate_tube_boxes', 'SampleColumns',
    'FlatFrames'
]

PROTOCOLS = ('tubedetr', 'stcat', 'hcstvg')


def _segment_reduce(ufunc: np.ufunc, values: np.ndarray, offsets: np.ndarray,
                    lengths: np.ndarray, empty) -> np.ndarray:
    """``ufunc.reduceat`` over consecutive per-sample segments.

    Args:
        ufunc: e.g. ``np.logical_or`` or ``np.logical_and``.
        values: flat values, the samples' segments one after the other.
        offsets: ``(B,)`` start of each segment.
        lengths: ``(B,)`` length of each segment (may be 0).
        empty: the result of an empty segment.

    Returns:
        ``(B,)`` reductions.
    """
    out = np.full(len(lengths), empty, dtype=np.result_type(values, type(empty)))
    nonempty = lengths > 0
    if nonempty.any():
        out[nonempty] = ufunc.reduceat(values, offsets[nonempty])
    return out


class SampleColumns:
    """The fields of all records, gathered once, one entry per sample.

    Attributes:
        records: the records.
        num: number of samples ``B``.
        lengths: ``(B,)`` sampled frames per sample.
        gt_span, pred_span: ``(B, 2)`` float64 ``[start, end)`` in frames
            (``pred_span`` NaN where a sample has no predicted span).
        limit: ``(B,)`` ``num_frames`` (inf where unknown).
        has_pred, parse_ok: ``(B,)`` bool.
        frame_inds: per-sample arrays.
        pred_boxes, gt_boxes, gt_box_mask: per-sample values as the records
            hold them (read per chunk by :class:`FlatFrames`); the ``gt_*``
            lists only for ``'tubedetr'``.
        tube_frame_inds, tube_boxes, tube_lengths: the annotated tubes, for
            ``'stcat'`` / ``'hcstvg'`` only (``tube_lengths`` None else).

    Raises:
        ValueError: naming the sample and the field for a malformed or
            non-finite ground-truth span, or a malformed predicted one.
    """

    def __init__(self, records: List[dict], protocol: str) -> None:
        self.records = records
        num = self.num = len(records)
        # Lists of the records' own values (no new object per record).
        self.frame_inds = [r['frame_inds'] for r in records]
        gt_span = [r['gt_span'] for r in records]
        pred_span = [r['pred_span'] for r in records]
        self.pred_boxes = [r['pred_boxes'] for r in records]
        self.lengths = np.fromiter(map(len, self.frame_inds), np.int64, num)
        self.gt_span = stack_spans(gt_span, 'gt_span_frames', self.name_of)[0]
        not_finite = np.flatnonzero(~np.isfinite(self.gt_span).all(1))
        if len(not_finite):
            index = int(not_finite[0])
            span = read_span_value(gt_span[index], 'gt_span_frames')
            raise ValueError(f'{self.name_of(index)}: field "gt_span_frames" '
                             f'is not finite: {span}')
        self.pred_span = stack_spans(pred_span, 'pred_span_frames',
                                     self.name_of)[0]
        self.limit = np.fromiter(
            (np.inf if r['num_frames'] is None else r['num_frames']
             for r in records), np.float64, num)
        self.has_pred = np.fromiter((r['has_pred'] for r in records), bool,
                                    num)
        self.parse_ok = np.fromiter((r['parse_ok'] for r in records), bool,
                                    num)
        if protocol == 'tubedetr':
            self.gt_boxes = [r['gt_boxes'] for r in records]
            self.gt_box_mask = [r['gt_box_mask'] for r in records]
            self.tube_lengths = None
        else:
            self.tube_frame_inds = [r['tube_frame_inds'] for r in records]
            self.tube_boxes = [r['tube_boxes'] for r in records]
            self.tube_lengths = np.fromiter(
                map(len, self.tube_frame_inds), np.int64, num)

    def name_of(self, index: int) -> SampleName:
        """How errors name the ``index``-th sample."""
        return SampleName(self.records[index], index)

    def chunks(self, frames_per_chunk: int) -> Iterator[Tuple[int, int]]:
        """``(start, end)`` sample ranges of about ``frames_per_chunk``
        frames each (sampled frames, plus annotated tube frames for the
        protocols that score those; at least one sample)."""
        frames = self.lengths
        if self.tube_lengths is not None:
            frames = frames + self.tube_lengths
        ends = np.cumsum(frames)
        start = 0
        while start < self.num:
            first = ends[start] - frames[start]
            end = int(np.searchsorted(ends, first + frames_per_chunk)) + 1
            end = min(max(end, start + 1), self.num)
            yield start, end
            start = end


class FlatFrames:
    """The sampled frames of samples ``[start, end)``, concatenated.

    Attributes:
        num: number of samples.
        lengths, offsets: ``(B,)`` frames per sample and where they start.
        sample: ``(F,)`` sample index (from 0) of each flat frame.
        frames: ``(F,)`` original frame index.
        pred_boxes: ``(F, 4)`` predicted boxes (NaN rows where a sample has
            none).
        has_pred_boxes: ``(B,)`` whether a sample has predicted boxes.
        pred_valid, pred_finite: ``(F,)`` rows holding a real box / finite
            rows (see ``box_row_status``), computed when first read.
    """

    def __init__(self, columns: SampleColumns, start: int, end: int) -> None:
        self.columns, self.start, self.end = columns, start, end
        self.num = end - start
        self.lengths = columns.lengths[start:end]
        self.offsets = np.cumsum(self.lengths) - self.lengths
        self.sample = np.repeat(np.arange(self.num), self.lengths)
        self.frames = np.concatenate(columns.frame_inds[start:end]).astype(
            np.int64, copy=False)
        self.pred_boxes, self.has_pred_boxes = self.frame_field(
            'pred_boxes', True, np.nan, np.float32)
        self._status: Optional[Tuple[np.ndarray, np.ndarray]] = None

    @property
    def pred_valid(self) -> np.ndarray:
        """``(F,)`` rows holding a real box (computed on first use)."""
        if self._status is None:
            self._status = box_row_status(self.pred_boxes)
        return self._status[0]

    @property
    def pred_finite(self) -> np.ndarray:
        """``(F,)`` rows without a NaN / inf coordinate."""
        if self._status is None:
            self._status = box_row_status(self.pred_boxes)
        return self._status[1]

    def name_of(self, index: int) -> SampleName:
        """How errors name the chunk's ``index``-th sample."""
        return self.columns.name_of(self.start + index)

    def frame_field(self, key: str, boxes: bool, fill: float, fill_dtype: type,
                    values: Optional[list] = None
                    ) -> Tuple[np.ndarray, np.ndarray]:
        """A per-frame field of the chunk's samples, concatenated and checked
        (see :func:`concat_frame_field`); ``values`` default to the column's.
        """
        if values is None:
            values = getattr(self.columns, key)[self.start:self.end]
        return concat_frame_field(values, self.lengths, key, boxes, fill,
                                  fill_dtype, self.name_of)

    def gt_frame_boxes(self) -> Tuple[np.ndarray, np.ndarray]:
        """``(gt_boxes, gt_box_mask)`` of the chunk's sampled frames.

        A sample without ``gt_boxes`` has zero rows and a False mask (its
        ``gt_box_mask`` is not read); one with ``gt_boxes`` must have a mask.
        """
        gt_boxes, has_boxes = self.frame_field('gt_boxes', True, 0.0,
                                               np.float64)
        masks = self.columns.gt_box_mask[self.start:self.end]
        if not has_boxes.all():
            masks = [m if has else None for m, has in zip(masks, has_boxes)]
        gt_mask, has_mask = self.frame_field('gt_box_mask', False, False, bool,
                                             masks)
        missing = np.flatnonzero(has_boxes & ~has_mask)
        if len(missing):
            raise ValueError(f'{self.name_of(int(missing[0]))}: field '
                             '"gt_box_mask" is missing while "gt_boxes" is '
                             'present')
        return gt_boxes, gt_mask

    def concat(self, field: str) -> np.ndarray:
        """The chunk's entries of a per-sample list of ``columns``,
        concatenated."""
        values = getattr(self.columns, field)[self.start:self.end]
        return np.concatenate(values)

    def any_box(self) -> np.ndarray:
        """``(B,)`` whether a sample has a row holding a real box."""
        return _segment_reduce(np.logical_or, self.pred_valid, self.offsets,
                               self.lengths, False)

    def any_nan(self) -> np.ndarray:
        """``(B,)`` whether a sample has a non-finite row."""
        return ~_segment_reduce(np.logical_and, self.pred_finite, self.offsets,
                                self.lengths, True)

    def count_in(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Per sample, how many of its frames lie in ``[lo, hi)``."""
        if len(self.frames) == 0:
            return np.zeros(self.num, dtype=np.int64)
        stride = int(max(self.frames.max(), 0)) + 2
        keys = self.sample * stride
        keys += self.frames
        if len(keys) > 1 and not (keys[1:] >= keys[:-1]).all():
            keys = np.sort(keys)  # counts do not depend on the order
        # Frames are integers: [lo, hi) holds the frames >= ceil(lo), < ceil(hi).
        # (lo and hi are finite: GT spans are checked when gathered, unusable
        # predicted spans are zeroed before scoring.)
        bounds = np.ceil(np.stack([lo, hi]))
        np.clip(bounds, 0, stride - 1, out=bounds)
        bound_keys = bounds.astype(np.int64)
        bound_keys += np.arange(0, self.num * stride, stride, dtype=np.int64)
        lo_pos, hi_pos = np.searchsorted(keys, bound_keys)
        return np.maximum(hi_pos - lo_pos, 0)


def prediction_flags(columns: SampleColumns) -> Dict[str, np.ndarray]:
    """The failure flags that read no frame (see ``STATUS_FLAGS``).

    ``missing_pred`` excludes the others; ``invalid_span``: a missing,
    non-finite, empty or reversed span, or one outside ``[0, num_frames]``.
    ``no_boxes`` / ``nan_boxes`` are filled in per chunk of frames.
    """
    has_pred, pred = columns.has_pred, columns.pred_span
    with np.errstate(invalid='ignore'):
        span_valid = (np.isfinite(pred).all(1) & (pred[:, 1] > pred[:, 0])
                      & (pred[:, 0] >= 0) & (pred[:, 1] <= columns.limit))
    return dict(
        missing_pred=~has_pred,
        failed_parse=has_pred & ~columns.parse_ok,
        invalid_span=has_pred & ~span_valid,
        no_boxes=np.zeros(columns.num, dtype=bool),
        nan_boxes=np.zeros(columns.num, dtype=bool))


def interpolate_tube_boxes(
        anchor_sample: np.ndarray, anchor_frames: np.ndarray,
        anchor_boxes: np.ndarray, query_sample: np.ndarray,
        query_frames: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Predicted boxes at arbitrary frames, linearly interpolated.

    Within each sample, a query frame between two anchor frames ``a < f < b``
    gets ``box_a + (f - a) / (b - a) * (box_b - box_a)`` (STCAT's
    ``linear_interp``); a query frame before the first anchor or after the
    last one holds the nearest anchor's box; a sample without anchors has no
    box at any query frame.

    Args:
        anchor_sample: int ``(A,)`` sample index of each anchor, ascending.
        anchor_frames: int ``(A,)`` original frame index of each anchor,
            ascending within a sample.
        anchor_boxes: ``(A, 4)`` the anchors' boxes.
        query_sample: int ``(Q,)`` sample index of each query.
        query_frames: int ``(Q,)`` original frame index of each query.

    Returns:
        ``(boxes, has_box)``: float64 ``(Q, 4)`` (NaN where no box) and bool
        ``(Q,)``.
    """
    num_queries = len(query_frames)
    boxes = np.full((num_queries, 4), np.nan)
    if len(anchor_frames) == 0 or num_queries == 0:
        return boxes, np.zeros(num_queries, dtype=bool)
    anchor_boxes = np.asarray(anchor_boxes, dtype=np.float64)
    # One sortable key per (sample, frame): frames never reach `stride`.
    stride = int(max(anchor_frames.max(), query_frames.max())) + 2
    anchor_keys = anchor_sample.astype(np.int64) * stride + anchor_frames
    query_keys = query_sample.astype(np.int64) * stride + query_frames
    pos = np.searchsorted(anchor_keys, query_keys, side='right')
    left = np.maximum(pos - 1, 0)
    right = np.minimum(pos, len(anchor_keys) - 1)
    has_left = (pos > 0) & (anchor_sample.take(left) == query_sample)
    has_right = (pos < len(anchor_keys)) & (
        anchor_sample.take(right) == query_sample)

    frame_left = anchor_frames.take(left).astype(np.float64)
    frame_right = anchor_frames.take(right).astype(np.float64)
    between = has_left & has_right
    gap = np.where(between, frame_right - frame_left, 1.0)
    weight = np.where(between, (query_frames - frame_left) / gap, 0.0)
    box_left = anchor_boxes.take(left, axis=0)
    box_right = anchor_boxes.take(right, axis=0)
    interpolated = box_left + weight[:, None] * (box_right - box_left)

    boxes = np.where(has_left[:, None], interpolated, boxes)
    only_right = has_right & ~has_left
    boxes = np.where(only_right[:, None], box_right, boxes)
    return boxes, has_left | has_right


#: Rows per paired_box_iou call: its temporaries then stay in the cache.
IOU_ROWS_PER_CALL = 1 << 14


def _iou_rows(pred_boxes: np.ndarray, gt_boxes: np.ndarray) -> np.ndarray:
    """``paired_box_iou`` in float64 (float32 inputs widen exactly)."""
    iou = np.empty(len(pred_boxes))
    with np.errstate(invalid='ignore', over='ignore'):
        for start in range(0, len(pred_boxes), IOU_ROWS_PER_CALL):
            end = start + IOU_ROWS_PER_CALL
            # Fortran order: paired_box_iou's coordinate columns are contiguous.
            iou[start:end] = paired_box_iou(
                np.asfortranarray(pred_boxes[start:end], dtype=np.float64),
                np.asfortranarray(gt_boxes[start:end], dtype=np.float64))
    return iou


def _score_tubedetr(flat: FlatFrames, gt: np.ndarray,
                    pred: np.ndarray) -> Dict[str, np.ndarray]:
    """TubeDETR: sampled frames, half-open spans, hull count over frame_inds."""
    num = flat.num
    gt_boxes, gt_mask = flat.gt_frame_boxes()
    rows = np.flatnonzero(gt_mask)
    # `take` gathers rows an order of magnitude faster than fancy indexing.
    sample = flat.sample.take(rows)
    frames = flat.frames.take(rows)
    iou = _iou_rows(flat.pred_boxes.take(rows, axis=0),
                    gt_boxes.take(rows, axis=0))
    in_inter = (frames >= np.maximum(gt[:, 0], pred[:, 0]).take(sample)) & (
        frames < np.minimum(gt[:, 1], pred[:, 1]).take(sample))
    # `bincount` adds the weights one by one in order, as the evaluators do
    # (a zero weight, +0.0 here, leaves a sum as it is).
    viou_sum = np.bincount(sample, weights=np.where(in_inter, iou, 0.0),
                           minlength=num)
    union_count = flat.count_in(np.minimum(gt[:, 0], pred[:, 0]),
                                np.maximum(gt[:, 1], pred[:, 1]))
    gt_sum = np.bincount(sample, weights=iou, minlength=num)
    # `sample` ascends: the rows of each sample are one run.
    gt_count = np.diff(np.searchsorted(sample, np.arange(num + 1)))
    return dict(vIoU=viou_sum / np.maximum(union_count, 1),
                gt_vIoU=gt_sum / np.maximum(gt_count, 1))


def _tube_ious(flat: FlatFrames) -> Tuple[np.ndarray, ...]:
    """IoU of the interpolated prediction at every annotated tube frame.

    Returns:
        ``(sample, frames, iou, has_box)`` flat over all tube frames.
    """
    lengths = flat.columns.tube_lengths[flat.start:flat.end]
    sample = np.repeat(np.arange(flat.num), lengths)
    frames = flat.concat('tube_frame_inds').astype(np.int64, copy=False)
    anchors = np.flatnonzero(flat.pred_valid)
    boxes, has_box = interpolate_tube_boxes(
        flat.sample.take(anchors), flat.frames.take(anchors),
        flat.pred_boxes.take(anchors, axis=0), sample, frames)
    iou = np.where(has_box, _iou_rows(boxes, flat.concat('tube_boxes')), 0.0)
    return sample, frames, iou, has_box


def _score_stcat(flat: FlatFrames, gt: np.ndarray,
                 pred: np.ndarray) -> Dict[str, np.ndarray]:
    """STCAT / CG-STVG: every annotated frame, inclusive GT end used as end."""
    num = flat.num
    sample, frames, iou, _ = _tube_ious(flat)
    gt_start, gt_end = gt[:, 0], gt[:, 1] - 1  # the inclusive last frame
    inter_lo = np.maximum(gt_start, pred[:, 0])
    inter_hi = np.minimum(gt_end, pred[:, 1])
    union_len = np.maximum(gt_end, pred[:, 1]) - np.minimum(gt_start, pred[:, 0])
    in_inter = (frames >= inter_lo.take(sample)) & (
        frames < inter_hi.take(sample))
    viou_sum = np.bincount(sample, weights=iou * in_inter, minlength=num)
    tube_count = np.bincount(sample, minlength=num)
    return dict(
        vIoU=viou_sum / np.maximum(union_len, 1),
        gt_vIoU=np.bincount(sample, weights=iou, minlength=num) /
        np.maximum(tube_count, 1))


def _score_hcstvg(flat: FlatFrames, gt: np.ndarray,
                  pred: np.ndarray) -> Dict[str, np.ndarray]:
    """HC-STVG provider's ``eval_hcvg.py``: inclusive ends, tube frames."""
    num = flat.num
    sample, frames, iou, has_box = _tube_ious(flat)
    pred_first, pred_last = pred[:, 0], pred[:, 1] - 1
    all_frames = np.maximum(
        np.maximum(gt[:, 1] - 1, pred_last) - np.minimum(gt[:, 0], pred_first) +
        1, 1)
    counted = has_box & (frames >= pred_first.take(sample)) & (
        frames <= pred_last.take(sample))
    return dict(
        tIoU=np.bincount(sample, weights=counted, minlength=num) / all_frames,
        vIoU=np.bincount(sample, weights=iou * counted, minlength=num) /
        all_frames,
        gt_vIoU=np.bincount(sample, weights=iou, minlength=num) /
        np.maximum(gt[:, 1] - gt[:, 0], 1))


_SCORERS = dict(tubedetr=_score_tubedetr, stcat=_score_stcat,
                hcstvg=_score_hcstvg)


def score_stvg(records: List[dict], protocol: str = 'tubedetr',
               frames_per_chunk: int = 1 << 15
               ) -> Tuple[Dict[str, np.ndarray], Dict[str, np.ndarray]]:
    """Per-sample tIoU, vIoU, gt-span vIoU in [0, 1], and failure flags.

    A sample whose prediction is missing, failed to parse or has an invalid
    span gets tIoU = vIoU = 0 (its gt_vIoU reads only the boxes; a missing
    prediction has none, so it is 0 too).

    Per-sample values are computed for all samples at once; the frames are
    scored in chunks of about ``frames_per_chunk`` frames (sampled frames,
    plus the annotated tube frames for ``'stcat'`` / ``'hcstvg'``): each
    chunk is fully vectorised, and its temporaries stay in the CPU caches.

    Args:
        records: the per-sample records described in this module's docstring.
        protocol: ``'tubedetr'`` (default), ``'stcat'`` or ``'hcstvg'``.
        frames_per_chunk: frames per chunk.

    Returns:
        ``(scores, flags)``: ``{'tIoU', 'vIoU', 'gt_vIoU'}`` float64 ``(B,)``
        arrays and ``{flag: bool (B,)}`` for every flag of ``STATUS_FLAGS``.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f'protocol must be one of {PROTOCOLS}, got {protocol!r}')
    columns = SampleColumns(records, protocol)
    flags = prediction_flags(columns)
    span_ok = ~(flags['missing_pred'] | flags['failed_parse']
                | flags['invalid_span'])
    gt = columns.gt_span
    pred = np.where(span_ok[:, None], columns.pred_span, 0.0)
    scores = {
        key: np.zeros(columns.num)
        for key in ('tIoU', 'vIoU', 'gt_vIoU')
    }
    any_box = np.zeros(columns.num, dtype=bool)
    any_nan = np.zeros(columns.num, dtype=bool)
    has_pred_boxes = np.zeros(columns.num, dtype=bool)
    scorer = _SCORERS[protocol]
    for start, end in columns.chunks(frames_per_chunk):
        flat = FlatFrames(columns, start, end)
        any_box[start:end] = flat.any_box()
        any_nan[start:end] = flat.any_nan()
        has_pred_boxes[start:end] = flat.has_pred_boxes
        for key, value in scorer(flat, gt[start:end], pred[start:end]).items():
            scores[key][start:end] = value
    if protocol == 'tubedetr':
        scores['tIoU'] = span_iou(gt, pred)
    elif protocol == 'stcat':
        scores['tIoU'] = span_iou(np.stack([gt[:, 0], gt[:, 1] - 1], 1), pred)
    has_pred = columns.has_pred
    flags['no_boxes'] = has_pred & ~any_box
    flags['nan_boxes'] = has_pred & any_nan & has_pred_boxes
    scores['tIoU'] = np.where(span_ok, scores['tIoU'], 0.0)
    scores['vIoU'] = np.where(span_ok, scores['vIoU'], 0.0)
    return scores, flags
