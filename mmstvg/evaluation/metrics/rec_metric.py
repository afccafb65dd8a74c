"""Referring expression comprehension metric: Acc@0.5, overall and per split."""
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from mmstvg.registry import METRICS
from mmstvg.structures import paired_box_iou
from ..functional.sample_fields import (classify_prediction, read_array,
                                        read_boxes)
from .base_grounding_metric import BaseGroundingMetric

__all__ = ['RECMetric']


@METRICS.register_module()
class RECMetric(BaseGroundingMetric):
    """REC (RefCOCO / RefCOCO+ / RefCOCOg): accuracy at box IoU >= 0.5.

    An image is a one-frame sample: the ground-truth box is the first row of
    ``gt_boxes`` that ``gt_box_mask`` marks (else the first row of
    ``gt_tube_boxes``), the predicted box is the first row of ``pred_boxes``;
    IoU in pixels, xyxy, no ``+1``. Reported in percent:

    - ``Acc@0.5``: share of samples with IoU **>=** 0.5 (REC's convention,
      unlike the strict ``>`` of the video metrics);
    - ``<dataset_name>_Acc@0.5`` for every ``dataset_name`` (e.g.
      ``refcoco_testA_Acc@0.5``), as the papers report per split;
    - ``mIoU`` and ``num_samples``, plus the failure counts.

    Example: GT ``[0, 0, 10, 10]`` and prediction ``[5, 0, 15, 10]`` have
    IoU 50 / 150 = 1/3: a miss; the prediction ``[0, 0, 10, 20]`` has IoU 1/2:
    a hit.

    Failures score IoU 0 and stay in the means: no prediction, a failed parse
    (``pred_parse_ok=False``; a model whose box does not come from parsed
    text should leave it True), no box, a NaN box.

    Args:
        iou_threshold: the accuracy threshold (``>=``).
        outfile_prefix: dump per-sample predictions and scores to
            ``<outfile_prefix>.rec.json``; None: no dump.
        collect_device: see MMEngine's ``BaseMetric``.
        prefix: prefix of the reported keys (default ``'rec'``).
    """

    default_prefix = 'rec'
    dump_name = 'rec'

    def __init__(self,
                 iou_threshold: float = 0.5,
                 outfile_prefix: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(outfile_prefix=outfile_prefix,
                         collect_device=collect_device, prefix=prefix)
        self.iou_threshold = float(iou_threshold)

    def make_record(self, sample: Dict[str, Any], name: str) -> dict:
        """Read the ground-truth box, the predicted box and the flags."""
        record = self.common_record(sample, name)
        gt_box = None
        gt_boxes = read_boxes(sample, 'gt_boxes', None, name)
        if gt_boxes is not None and len(gt_boxes):
            mask = read_array(sample, 'gt_box_mask', bool, ndim=1, name=name)
            rows = np.flatnonzero(mask) if mask is not None else np.arange(1)
            if len(rows):
                gt_box = gt_boxes[rows[0]]
        if gt_box is None:
            tube = read_boxes(sample, 'gt_tube_boxes', None, name)
            if tube is not None and len(tube):
                gt_box = tube[0]
        if gt_box is None:
            raise ValueError(f'{name}: no ground-truth box: fields "gt_boxes" '
                             '(with "gt_box_mask") and "gt_tube_boxes" are '
                             'missing or empty')
        pred_boxes = read_boxes(sample, 'pred_boxes', None, name)
        flags = classify_prediction(sample, None, None, pred_boxes,
                                    needs_span=False)
        failed = flags['missing_pred'] or flags['failed_parse']
        pred_box = (pred_boxes[0] if pred_boxes is not None and len(pred_boxes)
                    and not failed else np.full(4, np.nan))
        record.update(gt_box=np.asarray(gt_box, np.float64),
                      pred_box=np.asarray(pred_box, np.float64), flags=flags)
        return record

    def score_records(self, records: List[dict]
                      ) -> Tuple[Dict[str, np.ndarray], Dict[str, np.ndarray]]:
        """Per-sample box ``IoU`` in [0, 1] (0 for a NaN / absent box)."""
        if not records:
            return dict(IoU=np.zeros(0)), self.stack_flags(records)
        gt = np.stack([r['gt_box'] for r in records])
        pred = np.stack([r['pred_box'] for r in records])
        return dict(IoU=paired_box_iou(pred, gt)), self.stack_flags(records)

    def summarize(self, records: List[dict],
                  scores: Dict[str, np.ndarray]) -> Dict[str, float]:
        """Overall and per-``dataset_name`` accuracy, and mIoU."""
        iou = scores['IoU']
        hit = (iou >= self.iou_threshold).astype(np.float64)
        key = f'Acc@{self.iou_threshold:g}'
        metrics = {key: self.mean_percent(hit)}
        names = np.array([r['dataset_name'] for r in records], dtype=object)
        for dataset in sorted({n for n in names if n}):
            metrics[f'{dataset}_{key}'] = self.mean_percent(hit[names == dataset])
        metrics['mIoU'] = self.mean_percent(iou)
        return metrics

    def dump_config(self) -> dict:
        return dict(type=type(self).__name__, iou_threshold=self.iou_threshold)
