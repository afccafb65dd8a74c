"""What the three grounding metrics share: records, failure counts, dumps."""
import os.path as osp
from abc import abstractmethod
from typing import Any, Dict, List, Optional, Sequence, Tuple

import mmengine
import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from ..functional.fingerprint import query_fingerprint, video_meta_of
from ..functional.sample_fields import (STATUS_FLAGS, SampleName, read_boxes,
                                        read_parse_ok, read_span, to_numpy)

__all__ = ['BaseGroundingMetric', 'write_metric_dump']

#: How many failing sample ids a log line names before it says "...".
_MAX_NAMED = 5
#: How the log names each failure flag.
_FLAG_TEXT = dict(
    missing_pred='no prediction at all',
    failed_parse='an answer that failed to parse (pred_parse_ok=False)',
    invalid_span='an invalid predicted span (absent, reversed, empty, '
    'non-finite or outside the video)',
    no_boxes='no usable predicted box',
    nan_boxes='NaN predicted boxes')
#: Per-sample counts an answer part may set (the text-box baseline's), summed
#: into ``num_<name>`` when any sample carries them.
_ANSWER_COUNTS = dict(
    malformed_boxes='malformed box entries in the generated text',
    missing_boxes='frames in the predicted span left without a box')


def _jsonable(value: Any) -> Any:
    """numpy / tensor values -> plain Python for ``json``."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    array = to_numpy(value)
    if array.dtype == bool:
        return array.tolist()
    if np.issubdtype(array.dtype, np.integer):
        return array.astype(np.int64).tolist()
    if np.issubdtype(array.dtype, np.floating):
        return array.astype(np.float64).tolist()  # NaN stays NaN in JSON
    return array.tolist()


def write_metric_dump(metric: BaseMetric, samples: List[dict],
                      metrics: Dict[str, Any]) -> str:
    """Write ``<metric.outfile_prefix>.<metric.dump_name>.json``.

    Args:
        metric: the metric (its class name, ``dump_config()``,
            ``outfile_prefix`` and ``dump_name`` are written / used).
        samples: one entry per sample (plain Python values).
        metrics: the reported metrics.

    Returns:
        The path written.
    """
    out = dict(
        metric=type(metric).__name__,
        config=metric.dump_config(),
        metrics={k: _jsonable(v) for k, v in metrics.items()},
        samples=samples)
    path = f'{metric.outfile_prefix}.{metric.dump_name}.json'
    mmengine.mkdir_or_exist(osp.dirname(osp.abspath(path)))
    mmengine.dump(out, path, indent=None)
    MMLogger.get_current_instance().info(
        f'{type(metric).__name__}: per-sample predictions and scores '
        f'written to {path}')
    return path


class BaseGroundingMetric(BaseMetric):
    """Base of :class:`STVGMetric`, :class:`TemporalGroundingMetric` and
    :class:`RECMetric`.

    ``process`` turns each sample dict (``GroundingDataSample.to_dict()``)
    into a compact *record* of numpy arrays and numbers, or of the sample's
    own CPU tensors where converting them all at once later is cheaper
    (subclasses say which, in :meth:`make_record`), plus failure flags;
    ``compute_metrics`` scores all records at once (:meth:`score_records`,
    which also checks what ``process`` kept as given), averages the scores
    (:meth:`summarize`), adds ``num_samples`` and one ``num_<flag>`` count per
    failure flag, logs the failures with MMEngine's ``MMLogger``, and, with
    ``outfile_prefix``, writes ``<outfile_prefix>.<dump_name>.json``.

    The dump holds, per sample, the predictions (``pred_*`` fields,
    ``frame_inds`` and the answer counts), the per-sample scores and the
    failure flags, the query's ``fingerprint`` and the ``video_meta`` (see
    :mod:`mmstvg.evaluation.functional.fingerprint`), so that
    ``tools/analysis_tools/eval_predictions.py`` can re-score it offline
    against a dataset's annotations, and only against the ones it answered
    (see :func:`rescore_dump`).

    Args:
        outfile_prefix: where to dump per-sample predictions and scores;
            None: no dump.
        collect_device: ``'cpu'`` or ``'gpu'``, see MMEngine's ``BaseMetric``.
        prefix: prefix of the reported keys; the class's ``default_prefix``
            when None.
    """

    #: The ``<metric>`` part of the dump's file name.
    dump_name: str = 'grounding'

    def __init__(self,
                 outfile_prefix: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.outfile_prefix = outfile_prefix
        #: Per-sample scores and flags of the last ``compute_metrics`` call.
        self.sample_scores: Dict[str, np.ndarray] = {}
        self.sample_flags: Dict[str, np.ndarray] = {}

    # ------------------------------------------------------------- records
    @abstractmethod
    def make_record(self, sample: Dict[str, Any], name: str) -> dict:
        """Compact numpy record of one sample (scores + flags inputs)."""

    @abstractmethod
    def score_records(self, records: List[dict]
                      ) -> Tuple[Dict[str, np.ndarray], Dict[str, np.ndarray]]:
        """Per-sample scores and failure flags of all records, vectorised.

        Returns:
            ``(scores, flags)``: ``{name: float (B,)}`` and, for every flag of
            ``STATUS_FLAGS``, ``{flag: bool (B,)}``.
        """

    @abstractmethod
    def summarize(self, records: List[dict],
                  scores: Dict[str, np.ndarray]) -> Dict[str, float]:
        """Reported metrics from per-sample scores."""

    @staticmethod
    def stack_flags(records: List[dict]) -> Dict[str, np.ndarray]:
        """Flags of records that carry a per-record ``flags`` dict."""
        return {
            flag: np.array([r['flags'][flag] for r in records], dtype=bool)
            for flag in STATUS_FLAGS
        }

    def common_record(self, sample: Dict[str, Any], name: str) -> dict:
        """The identity fields and dumped predictions every record carries."""
        get = sample.get
        frame_inds = get('frame_inds')
        if frame_inds is None:
            frame_inds = np.zeros(0, dtype=np.int64)
        else:
            if type(frame_inds) is not np.ndarray:
                frame_inds = to_numpy(frame_inds)
            if frame_inds.ndim != 1 or (frame_inds.dtype.kind not in 'iu'
                                        and frame_inds.size):
                raise ValueError(f'{name}: field "frame_inds" must be a 1-D '
                                 f'integer array, got {frame_inds.dtype} '
                                 f'{frame_inds.shape}')
        record = dict(
            sample_id=get('sample_id'),
            video_id=get('video_id'),
            task=get('task'),
            dataset_name=get('dataset_name') or '',
            qtype=get('qtype') or '',
            num_frames=get('num_frames'),
            frame_inds=frame_inds)
        counts = {name: get(f'pred_num_{name}') for name in _ANSWER_COUNTS
                  if get(f'pred_num_{name}') is not None}
        if counts:
            record['answer_counts'] = {name: int(v) for name, v in counts.items()}
        if self.outfile_prefix is not None:
            record['pred'] = dict(
                pred_span_frames=read_span(sample, 'pred_span_frames', name),
                pred_span_seconds=read_span(sample, 'pred_span_seconds', name),
                pred_boxes=read_boxes(sample, 'pred_boxes', None, name),
                pred_parse_ok=(read_parse_ok(sample)
                               if get('pred_parse_ok') is not None else None),
                pred_text=get('pred_text'))
            record['fingerprint'] = query_fingerprint(sample)
            record['video_meta'] = video_meta_of(sample)
        return record

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Keep a compact record of each sample of a batch.

        Args:
            data_batch: the batch from the dataloader (unused).
            data_samples: ``GroundingDataSample.to_dict()`` dicts with the
                model's predictions filled in.
        """
        samples = [
            s.to_dict() if type(s) is not dict and hasattr(s, 'to_dict') else s
            for s in data_samples
        ]
        self.prepare_batch(samples)
        results, make_record = self.results, self.make_record
        for sample in samples:
            name = SampleName(sample, len(results))
            results.append(make_record(sample, name))

    def prepare_batch(self, samples: List[dict]) -> None:
        """Called by :meth:`process` once per batch, before its records are made
        (a subclass reads what the whole batch shares); nothing by default."""

    # --------------------------------------------------------------- compute
    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Score all records, count failures, log them and dump if asked.

        Args:
            results: the records of every sample (gathered from all ranks).

        Raises:
            ValueError: when there is no record: every figure would be a
                0.0 that no sample earned (an empty split, e.g. one that
                ``indices`` cuts to nothing).

        Returns:
            The reported metrics (scores in percent, counts as ints).
        """
        if not results:
            raise ValueError(
                f'{type(self).__name__}: no samples were evaluated, so there '
                'is nothing to score (its figures would all read 0.0): the '
                'split is empty; check the test_dataloader / val_dataloader '
                'dataset (its ann_file, indices and on_bad_sample)')
        scores, flags = self.score_records(results)
        self.sample_scores = scores
        self.sample_flags = flags
        metrics = self.summarize(results, scores)
        metrics['num_samples'] = len(results)
        for flag in STATUS_FLAGS:
            metrics[f'num_{flag}'] = int(flags[flag].sum())
        self._log_failures(results, flags)
        metrics.update(self._answer_counts(results))
        if self.outfile_prefix is not None:
            self.dump(results, scores, flags, metrics)
        return metrics

    @staticmethod
    def mean_percent(values: np.ndarray) -> float:
        """Mean in percent; 0.0 for no values."""
        return float(np.mean(values) * 100) if len(values) else 0.0

    def _log_failures(self, results: List[dict],
                      flags: Dict[str, np.ndarray]) -> None:
        """One warning line per failure flag that any sample raised."""
        logger = MMLogger.get_current_instance()
        for flag in STATUS_FLAGS:
            rows = np.flatnonzero(flags[flag])
            if not len(rows):
                continue
            named = ', '.join(
                repr(results[i]['sample_id']) for i in rows[:_MAX_NAMED])
            more = ', ...' if len(rows) > _MAX_NAMED else ''
            logger.warning(
                f'{type(self).__name__}: {len(rows)} of {len(results)} samples '
                f'have {_FLAG_TEXT[flag]}; scored 0 there and kept in the '
                f'means: {named}{more}')

    @staticmethod
    def _answer_counts(results: List[dict]) -> Dict[str, int]:
        """``num_<count>`` over the records that carry answer counts; logs any."""
        counted = [r['answer_counts'] for r in results if 'answer_counts' in r]
        if not counted:
            return {}
        logger = MMLogger.get_current_instance()
        out = {}
        for name, text in _ANSWER_COUNTS.items():
            out[f'num_{name}'] = total = sum(c.get(name, 0) for c in counted)
            if total:
                logger.warning(f'{total} {text} in {len(counted)} samples')
        return out

    def dump(self, results: List[dict], scores: Dict[str, np.ndarray],
             flags: Dict[str, np.ndarray], metrics: Dict[str, float]) -> str:
        """Write predictions + per-sample scores to ``<prefix>.<name>.json``.

        Returns:
            The path written.
        """
        samples = []
        for i, record in enumerate(results):
            entry = dict(
                sample_id=record['sample_id'],
                video_id=record['video_id'],
                task=record['task'],
                dataset_name=record['dataset_name'],
                qtype=record['qtype'],
                frame_inds=_jsonable(record['frame_inds']))
            for key, value in record.get('pred', {}).items():
                entry[key] = _jsonable(value)
            if 'answer_counts' in record:
                entry['answer_counts'] = record['answer_counts']
            for key in ('fingerprint', 'video_meta'):
                if key in record:
                    entry[key] = record[key]
            entry['scores'] = {k: float(v[i]) for k, v in scores.items()}
            entry['status'] = [f for f in STATUS_FLAGS if flags[f][i]]
            samples.append(entry)
        return write_metric_dump(self, samples, metrics)

    def dump_config(self) -> dict:
        """The arguments that rebuild this metric for offline re-scoring."""
        return dict(type=type(self).__name__)
