"""Spatio-temporal video grounding metric: m_tIoU, m_vIoU, vIoU@0.3/0.5."""
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmstvg.registry import METRICS
from ..functional.sample_fields import (host_value, off_host, read_array,
                                        read_boxes, read_parse_ok)
from ..functional.stvg_scoring import PROTOCOLS, score_stvg
from .base_grounding_metric import BaseGroundingMetric

__all__ = ['STVGMetric']

#: The fields a record keeps as the sample gives them, and their keys there.
_HELD_KEYS = ('gt_span_frames', 'gt_boxes', 'gt_box_mask', 'pred_span_frames',
              'pred_boxes')
_HELD_FIELDS = ('gt_span', 'gt_boxes', 'gt_box_mask', 'pred_span',
                'pred_boxes')


def _batch_on_host(samples: Sequence[dict]) -> bool:
    """Whether the records of a batch may keep its tensors as they are.

    A batch comes from one device: for each kept field, its first sample
    that has the field says whether that field's tensors are CPU tensors
    without grad (see ``off_host``). Checking every value would cost as much
    as converting it; a mixed batch is still scored exactly (its tensors are
    converted in ``compute_metrics``).
    """
    first = samples[0] if samples else {}
    for key in _HELD_KEYS:
        value = first.get(key)
        if value is None:  # the first sample lacks it: the next that has it
            value = next((s[key] for s in samples if s.get(key) is not None),
                         None)
        if off_host(value):
            return False
    return True


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
        #: Whether records keep the tensors as they are (a CPU batch) or
        #: through ``host_value`` (set per batch by ``prepare_batch``).
        self._keep_tensors = False

    def prepare_batch(self, samples: List[dict]) -> None:
        """Decide whether this batch's records keep its tensors as they are."""
        self._keep_tensors = _batch_on_host(samples)

    def make_record(self, sample: Dict[str, Any], name: str) -> dict:
        """Read one sample into the record :func:`score_stvg` consumes.

        Only cheap reads and checks run here (``process`` stays cheap): the
        spans and the per-frame fields (``pred_boxes``, and for
        ``'tubedetr'``, the only protocol that reads them, ``gt_boxes`` /
        ``gt_box_mask``) are kept as given, CPU tensors included (a batch on
        a GPU, or with grad, becomes numpy here, see ``host_value``), and
        are converted and checked for many samples at once in
        ``score_stvg``, which also classifies the failures.

        Raises:
            ValueError: naming the sample and the field when a ground-truth
                field the protocol needs is absent, or a field is malformed
                (malformed spans and per-frame fields raise in
                ``compute_metrics``).
        """
        record = self.common_record(sample, name)
        get = sample.get
        gt_span = get('gt_span_frames')
        if gt_span is None:
            raise ValueError(f'{name}: field "gt_span_frames" is missing; '
                             'STVGMetric needs the ground-truth span')
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
            record['tube_frame_inds'] = tube_inds
            record['tube_boxes'] = tube_boxes
        else:
            record['gt_boxes'] = get('gt_boxes')
            record['gt_box_mask'] = get('gt_box_mask')
        pred_span = get('pred_span_frames')
        pred_boxes = get('pred_boxes')
        parse_ok = get('pred_parse_ok')
        record['gt_span'] = gt_span
        record['has_pred'] = (pred_span is not None or pred_boxes is not None
                              or get('pred_span_seconds') is not None)
        record['pred_span'] = pred_span
        record['pred_boxes'] = pred_boxes
        record['parse_ok'] = (parse_ok if type(parse_ok) is bool else
                              read_parse_ok(sample))
        if not self._keep_tensors:
            for key in _HELD_FIELDS:
                if key in record:
                    record[key] = host_value(record[key])
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
