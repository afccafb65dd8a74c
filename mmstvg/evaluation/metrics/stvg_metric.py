"""Spatio-temporal video grounding metric: m_tIoU, m_vIoU, vIoU@0.3/0.5."""
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmstvg.registry import METRICS
from ..functional.sample_fields import (read_array, read_boxes,
                                        read_frame_field, read_parse_ok,
                                        read_span_pair)
from ..functional.stvg_scoring import PROTOCOLS, score_stvg
from .base_grounding_metric import BaseGroundingMetric

__all__ = ['STVGMetric']


@METRICS.register_module()
class STVGMetric(BaseGroundingMetric):
    """STVG metric with the evaluation protocols of the public codebases.

    Per sample it computes the temporal IoU (tIoU), the spatio-temporal
    vIoU, and ``gt_vIoU``: the vIoU the predicted boxes would get if the
    predicted span were the ground-truth span (it isolates the boxes from the
    span). It reports, **in percent** like the papers:

    - ``m_tIoU``, ``m_vIoU``: means over all samples;
    - ``vIoU@0.3``, ``vIoU@0.5``: share of samples with vIoU **strictly**
      greater than the threshold (every public evaluator uses ``>``);
    - ``gt_vIoU``: mean gt-span vIoU;
    - for samples that carry a non-empty ``qtype`` (VidSTG), every key again
      per type: ``declarative_m_tIoU``, ``interrogative_vIoU@0.5`` ...;
    - ``num_samples`` and the failure counts ``num_missing_pred``,
      ``num_failed_parse``, ``num_invalid_span``, ``num_no_boxes``,
      ``num_nan_boxes``.

    **Protocols.** All three use box IoU without ``+1`` and a union that is the
    hull ``[min(starts), max(ends))`` of the two spans (gap frames of disjoint
    spans included).

    - ``'tubedetr'`` (default) reproduces TubeDETR's ``vidstg_eval.py`` /
      ``hcstvg_eval.py`` (the corrected version, whose union ends at
      ``max`` of the ends). Evaluation frames are the *sampled* frames
      (``frame_inds``); spans are half-open ``[start, end)`` in frames.
      tIoU = |GT ∩ pred| / |GT ∪ pred| on the frame spans; vIoU = Σ box IoU
      over sampled frames with a GT box (``gt_box_mask``) inside GT ∩ pred,
      divided by the number of sampled frames inside the hull; gt_vIoU = mean
      box IoU over the sampled frames with a GT box.
    - ``'stcat'`` reproduces STCAT's and CG-STVG's evaluators. Evaluation
      frames are *every annotated frame* (``gt_tube_frame_inds``); the GT span
      is their inclusive ``[first, last]`` = ``[start, end - 1]``, which the
      evaluator then treats as half-open, so the last GT frame falls outside
      the GT span; the predicted span ``[start, end)`` is used as is (STCAT's
      ``[first, last + 1]``). Predicted boxes at unsampled frames are linearly
      interpolated between the nearest sampled frames that hold a box
      (``linear_interp``); before the first / after the last such frame the
      nearest box is held (STCAT samples the whole clip, so it never needs
      that). tIoU = interval IoU of ``[start, end - 1)`` and the prediction;
      vIoU = Σ IoU over annotated frames in ``[max start, min end)`` divided
      by the number of frames in the hull; gt_vIoU = mean IoU over all
      annotated frames. As in STCAT's code, an exact prediction of an
      L-frame span scores tIoU = vIoU = (L - 1) / L.
    - ``'hcstvg'`` reproduces the HC-STVG provider's ``eval_hcvg.py``
      (``tzhhhh123/HC-STVG``). Both spans are inclusive
      ``[st_frame, ed_frame]`` = ``[start, end - 1]``; the predicted tube has a
      box at every frame of its span (interpolated as for ``'stcat'``) and
      the GT tube at every annotated frame. With ``all = max(ed) - min(st) +
      1`` and the annotated frames inside the predicted span: vIoU = Σ their
      box IoU / all and tIoU = their count / all (a prediction without any
      box has tIoU 0, as in the script). The script has no gt_vIoU; here it
      is vIoU with the predicted span set to the GT span: Σ IoU over all
      annotated frames / (end - start).

    **Worked example** (one sample). Sampled frames 0, 2, 4, 6, 8; GT span
    ``[2, 6)`` with the same GT box ``[0, 0, 10, 10]`` at frames 2-5;
    predicted span ``[4, 8)``; predicted boxes ``[0, 0, 10, 10]`` at frames 0,
    2, 4 and ``[10, 0, 20, 10]`` at 6, 8 (so frame 5 interpolates to
    ``[5, 0, 15, 10]``, IoU 1/3).

    ============  ======================  ======================  ========
    protocol      tIoU                    vIoU                    gt_vIoU
    ============  ======================  ======================  ========
    tubedetr      2/6 = 1/3               IoU(4) / |{2,4,6}| =    2/2 = 1
                                          1/3
    stcat         (5-4)/(3+4-1) = 1/6     IoU(4) / |[2,8)| = 1/6  (1+1+1+
                                                                  1/3)/4
    hcstvg        |{4,5}| / (7-2+1) = 1/3 (1 + 1/3) / 6 = 2/9     5/6
    ============  ======================  ======================  ========

    **Failures** are scored, counted and logged, never dropped: a sample with
    no ``pred_*`` field at all scores 0 everywhere (``num_missing_pred``); a
    failed parse (``pred_parse_ok=False``) or a predicted span that is
    reversed, empty, non-finite, or reaches outside ``[0, num_frames]``
    scores tIoU = vIoU = 0 (``num_failed_parse`` / ``num_invalid_span``); a
    frame whose predicted box is NaN, zero or reversed scores box IoU 0 there
    (``num_nan_boxes`` / ``num_no_boxes`` when no frame has a box). gt_vIoU
    reads only the boxes, so a span failure leaves it as it is.
    ``pred_box_mask`` is not read: boxes are read at every sampled frame, as
    TubeDETR predicts one per frame.

    Args:
        protocol: ``'tubedetr'``, ``'stcat'`` or ``'hcstvg'``.
        iou_thresholds: thresholds of ``vIoU@t``.
        outfile_prefix: dump per-sample predictions and scores to
            ``<outfile_prefix>.stvg.json``; None: no dump.
        collect_device: see MMEngine's ``BaseMetric``.
        prefix: prefix of the reported keys (default ``'stvg'``).
    """

    default_prefix = 'stvg'
    dump_name = 'stvg'

    def __init__(self,
                 protocol: str = 'tubedetr',
                 iou_thresholds: Sequence[float] = (0.3, 0.5),
                 outfile_prefix: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        if protocol not in PROTOCOLS:
            raise ValueError(
                f'STVGMetric: protocol must be one of {PROTOCOLS}, got '
                f'{protocol!r}')
        super().__init__(outfile_prefix=outfile_prefix,
                         collect_device=collect_device, prefix=prefix)
        self.protocol = protocol
        self.iou_thresholds = tuple(float(t) for t in iou_thresholds)

    def make_record(self, sample: Dict[str, Any], name: str) -> dict:
        """Read one sample into the record :func:`score_stvg` consumes.

        Only conversions and shape checks run here (``process`` stays cheap);
        failures are classified for all samples at once in ``score_stvg``.

        Raises:
            ValueError: naming the sample and the field when a ground-truth
                field the protocol needs is absent, or a field is malformed.
        """
        record = self.common_record(sample, name)
        num_sampled = len(record['frame_inds'])
        gt_span = read_span_pair(sample, 'gt_span_frames', name)
        if gt_span is None:
            raise ValueError(f'{name}: field "gt_span_frames" is missing; '
                             'STVGMetric needs the ground-truth span')
        if not (math.isfinite(gt_span[0]) and math.isfinite(gt_span[1])):
            raise ValueError(f'{name}: field "gt_span_frames" is not finite: '
                             f'{gt_span}')
        gt_boxes = read_frame_field(sample, 'gt_boxes', num_sampled, True, name)
        gt_mask = None
        if gt_boxes is not None:
            gt_mask = read_frame_field(sample, 'gt_box_mask', num_sampled,
                                       False, name)
            if gt_mask is None:
                raise ValueError(f'{name}: field "gt_box_mask" is missing '
                                 'while "gt_boxes" is present')
        if self.protocol != 'tubedetr':
            tube_inds = read_array(sample, 'gt_tube_frame_inds', np.int64,
                                   ndim=1, name=name)
            tube_boxes = read_boxes(sample, 'gt_tube_boxes', None, name)
            if tube_inds is None or tube_boxes is None:
                raise ValueError(
                    f'{name}: fields "gt_tube_frame_inds" / "gt_tube_boxes" '
                    f'are missing; protocol {self.protocol!r} scores every '
                    'annotated frame')
            if len(tube_inds) != len(tube_boxes):
                raise ValueError(f'{name}: "gt_tube_frame_inds" has '
                                 f'{len(tube_inds)} entries, "gt_tube_boxes" '
                                 f'{len(tube_boxes)} rows')
            record.update(tube_frame_inds=tube_inds, tube_boxes=tube_boxes)
        get = sample.get
        record.update(
            gt_span=gt_span,
            gt_boxes=gt_boxes,
            gt_box_mask=gt_mask,
            has_pred=(get('pred_span_frames') is not None
                      or get('pred_boxes') is not None
                      or get('pred_span_seconds') is not None),
            pred_span=read_span_pair(sample, 'pred_span_frames', name),
            pred_boxes=read_frame_field(sample, 'pred_boxes', num_sampled,
                                        True, name),
            parse_ok=read_parse_ok(sample))
        return record

    def score_records(self, records: List[dict]
                      ) -> Tuple[Dict[str, np.ndarray], Dict[str, np.ndarray]]:
        """Per-sample ``tIoU``, ``vIoU``, ``gt_vIoU`` in [0, 1], and flags."""
        return score_stvg(records, self.protocol)

    def _summary_of(self, scores: Dict[str, np.ndarray],
                    keep: np.ndarray) -> Dict[str, float]:
        viou = scores['vIoU'][keep]
        out = dict(m_tIoU=self.mean_percent(scores['tIoU'][keep]),
                   m_vIoU=self.mean_percent(viou))
        for thr in self.iou_thresholds:
            out[f'vIoU@{thr:g}'] = self.mean_percent(
                (viou > thr).astype(np.float64))
        out['gt_vIoU'] = self.mean_percent(scores['gt_vIoU'][keep])
        return out

    def summarize(self, records: List[dict],
                  scores: Dict[str, np.ndarray]) -> Dict[str, float]:
        """Overall means and, per non-empty ``qtype``, the same keys."""
        metrics = self._summary_of(scores, np.ones(len(records), dtype=bool))
        qtypes = np.array([r['qtype'] for r in records], dtype=object)
        for qtype in sorted({q for q in qtypes if q}):
            for key, value in self._summary_of(scores, qtypes == qtype).items():
                metrics[f'{qtype}_{key}'] = value
        return metrics

    def dump_config(self) -> dict:
        return dict(type=type(self).__name__, protocol=self.protocol,
                    iou_thresholds=list(self.iou_thresholds))
