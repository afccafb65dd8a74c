"""Temporal video grounding metric: R1@{0.3, 0.5, 0.7} and mIoU on seconds."""
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmstvg.registry import METRICS
from mmstvg.structures import span_iou
from ..functional.sample_fields import classify_prediction, read_span
from .base_grounding_metric import BaseGroundingMetric

__all__ = ['TemporalGroundingMetric', 'DiDeMoMetric']


def _span_seconds(sample: Dict[str, Any], prefix: str,
                  name: str) -> Optional[np.ndarray]:
    """``<prefix>_span_seconds``, else ``<prefix>_span_frames / fps``."""
    span = read_span(sample, f'{prefix}_span_seconds', name)
    if span is not None:
        return span
    frames = read_span(sample, f'{prefix}_span_frames', name)
    fps = sample.get('fps')
    if frames is None or not fps:
        return None
    return frames / float(fps)


@METRICS.register_module()
class TemporalGroundingMetric(BaseGroundingMetric):
    """Temporal grounding (Charades-STA, DiDeMo, TACoS): R1@m and mIoU.

    Per sample, the IoU of the predicted and ground-truth spans **in
    seconds** (``pred_span_seconds`` / ``gt_span_seconds``; when a sample has
    only the frame spans, they are divided by ``fps``). Reported in percent:

    - ``R1@0.3``, ``R1@0.5``, ``R1@0.7``: share of samples whose IoU is
      **strictly** greater than the threshold (the convention of the
      Charades-STA evaluators);
    - ``mIoU``: mean IoU;
    - per ``dataset_name`` when the samples come from more than one dataset:
      ``<dataset_name>_R1@0.5`` ...;
    - ``num_samples`` and the failure counts (``num_missing_pred``,
      ``num_failed_parse``, ``num_invalid_span``).

    Example: GT ``(2.0, 6.0)`` s and prediction ``(4.0, 8.0)`` s have IoU
    2 / 6 = 1/3: a hit for R1@0.3 only.

    Failures score IoU 0 and stay in the means: no prediction, a failed parse
    (``pred_parse_ok=False``), and a reversed, empty or non-finite span. A
    span reaching past the video's end is *not* a failure here (Charades-STA's
    own annotations do that); its IoU is computed as is.

    Args:
        iou_thresholds: thresholds of ``R1@m``.
        outfile_prefix: dump per-sample predictions and scores to
            ``<outfile_prefix>.tvg.json``; None: no dump.
        collect_device: see MMEngine's ``BaseMetric``.
        prefix: prefix of the reported keys (default ``'tvg'``).
    """

    default_prefix = 'tvg'
    dump_name = 'tvg'

    def __init__(self,
                 iou_thresholds: Sequence[float] = (0.3, 0.5, 0.7),
                 outfile_prefix: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(outfile_prefix=outfile_prefix,
                         collect_device=collect_device, prefix=prefix)
        self.iou_thresholds = tuple(float(t) for t in iou_thresholds)

    def make_record(self, sample: Dict[str, Any], name: str) -> dict:
        """Read the two spans in seconds and the failure flags."""
        record = self.common_record(sample, name)
        gt_span = _span_seconds(sample, 'gt', name)
        if gt_span is None:
            raise ValueError(f'{name}: field "gt_span_seconds" is missing (and '
                             'no "gt_span_frames" with "fps" to derive it)')
        pred_span = _span_seconds(sample, 'pred', name)
        flags = classify_prediction(sample, pred_span, None, None,
                                    needs_boxes=False)
        span_ok = not (flags['missing_pred'] or flags['failed_parse']
                       or flags['invalid_span'])
        record.update(gt_span=gt_span,
                      pred_span=pred_span if span_ok else None,
                      span_ok=span_ok, flags=flags)
        return record

    def score_records(self, records: List[dict]
                      ) -> Tuple[Dict[str, np.ndarray], Dict[str, np.ndarray]]:
        """Per-sample ``IoU`` in [0, 1]."""
        if not records:
            return dict(IoU=np.zeros(0)), self.stack_flags(records)
        gt = np.stack([r['gt_span'] for r in records])
        ok = np.array([r['span_ok'] for r in records], dtype=bool)
        pred = np.stack([
            r['pred_span'] if r['pred_span'] is not None else np.zeros(2)
            for r in records
        ])
        return (dict(IoU=np.where(ok, span_iou(gt, pred), 0.0)),
                self.stack_flags(records))

    def _summary_of(self, iou: np.ndarray) -> Dict[str, float]:
        out = {
            f'R1@{thr:g}': self.mean_percent((iou > thr).astype(np.float64))
            for thr in self.iou_thresholds
        }
        out['mIoU'] = self.mean_percent(iou)
        return out

    def summarize(self, records: List[dict],
                  scores: Dict[str, np.ndarray]) -> Dict[str, float]:
        """Overall R1@m / mIoU and, with several datasets, per dataset."""
        metrics = self._summary_of(scores['IoU'])
        names = np.array([r['dataset_name'] for r in records], dtype=object)
        distinct = sorted({n for n in names if n})
        if len(distinct) > 1:
            for dataset in distinct:
                for key, value in self._summary_of(
                        scores['IoU'][names == dataset]).items():
                    metrics[f'{dataset}_{key}'] = value
        return metrics

    def dump_config(self) -> dict:
        return dict(type=type(self).__name__,
                    iou_thresholds=list(self.iou_thresholds))


@METRICS.register_module()
class DiDeMoMetric(TemporalGroundingMetric):
    """DiDeMo: R1@{0.5, 0.7} and mIoU against every annotator's moment.

    DiDeMo gives each sentence the moments of several annotators (usually
    four). Its evaluator (``eval.py`` of Hendricks et al.'s LocalizingMoments)
    scores a prediction by its IoU with each annotator's moment and keeps
    the mean of the **three best** (it drops the most disagreeing
    annotator); the IoU is on 5-second segments, which on seconds
    ``[5 s, 5 (e + 1))`` is the same value. Here the per-sample IoU is that
    top-3 mean (the mean of all where fewer than 3 annotators), read from
    the sample's ``gt_spans_seconds_all`` (``(K, 2)`` seconds, set by
    :class:`mmstvg.datasets.DiDeMoDataset`); a sample without it falls back
    to ``gt_span_seconds``. ``R1@m`` is the share of samples whose per-sample
    IoU is **strictly** greater than ``m`` (as :class:`TemporalGroundingMetric`);
    ``mIoU`` its mean, in percent.

    Example: annotators ``[0, 5], [0, 5], [0, 10], [25, 30]`` s and the
    prediction ``[0, 5]`` s: IoUs 1, 1, 0.5, 0; top-3 mean 0.833: a hit at
    0.5 and 0.7.

    Args:
        iou_thresholds: thresholds of ``R1@m`` (DiDeMo's papers: 0.5, 0.7).
        top_k_annotators: how many of the best annotator IoUs are averaged.
        **kwargs: see :class:`TemporalGroundingMetric`.
    """

    default_prefix = 'didemo'
    dump_name = 'didemo'

    def __init__(self, iou_thresholds: Sequence[float] = (0.5, 0.7),
                 top_k_annotators: int = 3, **kwargs) -> None:
        super().__init__(iou_thresholds=iou_thresholds, **kwargs)
        if top_k_annotators < 1:
            raise ValueError('top_k_annotators must be >= 1, got '
                             f'{top_k_annotators}')
        self.top_k_annotators = int(top_k_annotators)

    def make_record(self, sample: Dict[str, Any], name: str) -> dict:
        """As :class:`TemporalGroundingMetric`, plus every annotator's span."""
        record = super().make_record(sample, name)
        spans = sample.get('gt_spans_seconds_all')
        if spans is None:
            spans = record['gt_span'][None]
        spans = np.asarray(getattr(spans, 'numpy', lambda: spans)(),
                           dtype=np.float64)
        if spans.ndim != 2 or spans.shape[1] != 2 or not len(spans):
            raise ValueError(f'{name}: field "gt_spans_seconds_all" must be '
                             f'(K, 2) seconds, got shape {spans.shape}')
        record['gt_spans_all'] = spans
        return record

    def score_records(self, records: List[dict]
                      ) -> Tuple[Dict[str, np.ndarray], Dict[str, np.ndarray]]:
        """Per-sample ``IoU``: the mean of the best annotator IoUs."""
        flags = self.stack_flags(records)
        iou = np.zeros(len(records))
        for i, record in enumerate(records):
            if not record['span_ok']:
                continue
            ious = np.sort(span_iou(record['gt_spans_all'],
                                    record['pred_span'][None]))
            iou[i] = ious[-self.top_k_annotators:].mean()
        return dict(IoU=iou), flags

    def dump_config(self) -> dict:
        config = super().dump_config()
        config['top_k_annotators'] = self.top_k_annotators
        return config
