"""Scoring of mmstvg's lmms-eval grounding tasks with ``STVGMetric`` / ``TemporalGroundingMetric``.

lmms-eval calls :func:`process_results` once per document with the model's
reply, and each metric's aggregation (:func:`aggregate`) with the records of
every document. A record is the sample dict mmstvg's metrics read (the same
fields ``tools/test.py`` hands them), made from the document's ground truth
and one of two kinds of reply:

- **text** in the task format (:mod:`.answer_format`), from any lmms-eval
  model: scored on the frames the prompt listed;
- **an mmstvg prediction** (:data:`PREDICTION_TAG` + JSON), written by the
  ``mmstvg`` lmms-eval model from its one-pass heads (the ``pred_*`` fields
  of ``tools/test.py``'s samples and the frames it sampled): scored on those
  frames, so the figures equal ``tools/test.py``'s.

Every figure comes from one metric run over all records: STVG tasks use
``STVGMetric(protocol='tubedetr')`` (TubeDETR's evaluator), ``charades_sta``
``TemporalGroundingMetric`` (2D-TAN's R1@m, strict ``>``). Unparsable
answers are counted in ``num_failed_parse`` and scored 0.
"""
import json
from typing import Any, Dict, List

import numpy as np

from mmstvg.datasets.transforms.grounding_targets import tube_boxes_at
from mmstvg.structures import seconds_to_frames
from .answer_format import parse_answer

__all__ = ['PREDICTION_TAG', 'PREDICTION_FIELDS', 'process_results', 'aggregate',
           'record_of', 'score_records', 'STVG_METRICS', 'TVG_METRICS']

#: How a reply carrying an mmstvg prediction starts (the JSON follows).
PREDICTION_TAG = 'mmstvg-prediction:'
#: The fields of an mmstvg prediction reply besides ``frame_inds`` and ``num_frames``.
PREDICTION_FIELDS = ('pred_span_frames', 'pred_span_seconds', 'pred_boxes',
                     'pred_box_scores', 'pred_box_mask', 'pred_parse_ok', 'pred_text',
                     'pred_num_malformed_boxes', 'pred_num_missing_boxes')
#: The figures an STVG task reports (``STVGMetric``'s keys).
STVG_METRICS = ('m_tIoU', 'm_vIoU', 'vIoU@0.3', 'vIoU@0.5', 'gt_vIoU',
                'num_failed_parse', 'num_malformed_boxes', 'num_missing_boxes')
#: The figures ``charades_sta`` reports (``TemporalGroundingMetric``'s keys).
TVG_METRICS = ('R1@0.3', 'R1@0.5', 'R1@0.7', 'mIoU', 'num_failed_parse')
#: Per-sample box counts a record may carry.
_COUNT_FIELDS = ('pred_num_malformed_boxes', 'pred_num_missing_boxes')


def _ground_truth(doc: Dict[str, Any], frame_inds: np.ndarray) -> Dict[str, Any]:
    """The ground-truth fields of a document, on the scored frames."""
    fields = dict(
        sample_id=doc['sample_id'], video_id=doc['video_id'], task=doc['task'],
        dataset_name=doc['dataset_name'], qtype=doc['qtype'],
        num_frames=int(doc['num_frames']), fps=float(doc['fps']),
        frame_inds=frame_inds.tolist(),
        gt_span_frames=list(doc['gt_span_frames']),
        gt_span_seconds=list(doc['gt_span_seconds']))
    if doc['task'] == 'stvg':
        boxes, mask = tube_boxes_at(frame_inds, doc['gt_span_frames'],
                                    np.asarray(doc['gt_tube_frame_inds'], np.int64),
                                    np.asarray(doc['gt_tube_boxes'], np.float64))
        fields.update(gt_boxes=boxes.tolist(), gt_box_mask=mask.tolist())
    return fields


def _from_prediction(doc: Dict[str, Any], reply: str) -> Dict[str, Any]:
    """A record of an mmstvg prediction reply."""
    try:
        prediction = json.loads(reply[len(PREDICTION_TAG):])
        frame_inds = np.asarray(prediction['frame_inds'], dtype=np.int64)
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f'document {doc["sample_id"]!r}: a malformed mmstvg '
                         f'prediction reply ({error}): {reply[:200]!r}') from None
    record = _ground_truth(doc, frame_inds)
    if 'num_frames' in prediction:  # the frames the model's loader could use
        record['num_frames'] = int(prediction['num_frames'])
    record.update({k: prediction[k] for k in PREDICTION_FIELDS if k in prediction})
    return record


def _from_text(doc: Dict[str, Any], reply: Any) -> Dict[str, Any]:
    """A record of a text answer in the task format, on the asked frames."""
    frame_inds = np.asarray(doc['frame_inds'], dtype=np.int64)
    record = _ground_truth(doc, frame_inds)
    answer = parse_answer(reply, doc['frame_times'])
    record.update(pred_text=reply if isinstance(reply, str) else repr(reply),
                  pred_parse_ok=answer.ok)
    span = answer.span if answer.ok else (0.0, 0.0)
    span_frames = seconds_to_frames(span, float(doc['fps']), int(doc['num_frames'])) \
        if answer.ok else (0, 0)
    record.update(pred_span_seconds=list(span), pred_span_frames=list(span_frames))
    if doc['task'] != 'stvg':
        return record
    inside = (frame_inds >= span_frames[0]) & (frame_inds < span_frames[1])
    boxes = np.zeros((len(frame_inds), 4), dtype=np.float64)
    for index, box in answer.boxes.items():
        boxes[index] = box
    has_box = np.zeros(len(frame_inds), dtype=bool)
    has_box[list(answer.boxes)] = True
    record.update(pred_boxes=boxes.tolist(),
                  pred_num_malformed_boxes=answer.num_malformed,
                  pred_num_missing_boxes=int((inside & ~has_box).sum()))
    return record


def record_of(doc: Dict[str, Any], reply: Any) -> Dict[str, Any]:
    """The metric's sample dict for one document and the model's reply."""
    if isinstance(reply, str) and reply.startswith(PREDICTION_TAG):
        return _from_prediction(doc, reply)
    return _from_text(doc, reply)


def process_results(doc: Dict[str, Any], results: List[Any]) -> Dict[str, Any]:
    """lmms-eval's ``process_results``: the record under every metric's key."""
    record = record_of(doc, results[0] if results else None)
    keys = STVG_METRICS if doc['task'] == 'stvg' else TVG_METRICS
    return {key: record for key in keys}


def _as_sample(record: Dict[str, Any]) -> Dict[str, Any]:
    """A record's lists as the arrays a metric reads."""
    sample = dict(record)
    for key, dtype in (('frame_inds', np.int64), ('gt_span_frames', np.int64),
                       ('gt_span_seconds', np.float64), ('gt_boxes', np.float32),
                       ('gt_box_mask', bool), ('pred_span_frames', np.int64),
                       ('pred_span_seconds', np.float64), ('pred_boxes', np.float32),
                       ('pred_box_scores', np.float32), ('pred_box_mask', bool)):
        if sample.get(key) is not None:
            sample[key] = np.asarray(sample[key], dtype=dtype)
    if sample.get('gt_boxes') is not None:
        sample['gt_boxes'] = sample['gt_boxes'].reshape(-1, 4)
    if sample.get('pred_boxes') is not None:
        sample['pred_boxes'] = sample['pred_boxes'].reshape(-1, 4)
    return sample


def score_records(records: List[Dict[str, Any]]) -> Dict[str, float]:
    """All figures of a task's records, from one metric run.

    STVG records go through ``STVGMetric(protocol='tubedetr')``, temporal
    ones through ``TemporalGroundingMetric``; the box counts (text answers)
    are summed as ``num_malformed_boxes`` / ``num_missing_boxes`` (0 when no
    record carries them).

    Raises:
        ValueError: for no records, or records of both kinds.
    """
    from mmstvg.evaluation.metrics import STVGMetric, TemporalGroundingMetric
    tasks = {r['task'] for r in records}
    if not records or len(tasks) != 1:
        raise ValueError(f'one task\'s records are scored together, got '
                         f'{len(records)} records of tasks {sorted(tasks)}')
    metric = STVGMetric(protocol='tubedetr') if tasks == {'stvg'} \
        else TemporalGroundingMetric()
    metric.process(None, [_as_sample(r) for r in records])
    figures = metric.compute_metrics(metric.results)
    for field in _COUNT_FIELDS:
        name = field.replace('pred_', '')
        figures.setdefault(name, sum(int(r.get(field) or 0) for r in records))
    return figures


def aggregate(records: List[Dict[str, Any]], key: str) -> float:
    """One figure of a task, from all its records (see :func:`score_records`)."""
    figures = score_records(records)
    if key not in figures:
        raise KeyError(f'no figure {key!r}; the metric reports {sorted(figures)}')
    return float(figures[key])
