"""Multiple-choice video QA accuracy: overall, per benchmark, per benchmark's category."""
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmstvg.registry import METRICS
from ..functional.fingerprint import query_fingerprint, video_meta_of
from .base_grounding_metric import write_metric_dump

__all__ = ['VideoQAMetric']


@METRICS.register_module()
class VideoQAMetric(BaseMetric):
    """Accuracy of chosen options, in percent.

    Ours, not the paper's. Each sample's metainfo gives ``gt_choice``,
    ``qa_benchmark`` and ``qa_category``; its prediction ``pred_choice``
    (``-1``: the reply could not be parsed). Unparsed and missing
    predictions count as wrong and stay in every denominator (lmms-eval's
    MVBench aggregate drops empty replies from its denominator; here they
    count, as its Video-MME, EgoSchema and TempCompass aggregates do).
    Reported:

    - ``accuracy``: over all samples; ``num_samples``; ``num_unparsed``;
    - ``<benchmark>/accuracy`` for each benchmark present;
    - ``<benchmark>/<category>`` for each of its categories (MVBench's
      tasks, Video-MME's short / medium / long, TempCompass's aspects) and
      ``<benchmark>/category_mean``, the mean over its categories (MVBench
      reports this average of its 20 tasks), when it has more than one.

    Example: Video-MME answers right on 2 of 3 short and 1 of 1 long
    questions: ``videomme/short`` 66.67, ``videomme/long`` 100.0,
    ``videomme/accuracy`` 75.0, ``videomme/category_mean`` 83.33.

    With ``outfile_prefix``, ``<outfile_prefix>.video_qa.json`` holds per
    sample the chosen option (``pred_choice``, ``pred_text``), whether it is
    right, the query's ``fingerprint`` and ``video_meta``, as the grounding
    metrics' dumps do; ``tools/analysis_tools/eval_predictions.py`` re-scores
    it against a QA dataset's annotations.

    Args:
        outfile_prefix: where to dump the per-sample answers; None: no dump.
        collect_device: see MMEngine's ``BaseMetric``.
        prefix: prefix of the reported keys (default ``'video_qa'``).
    """

    default_prefix = 'video_qa'
    dump_name = 'video_qa'

    def __init__(self, outfile_prefix: Optional[str] = None, collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.outfile_prefix = outfile_prefix

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            meta = sample.get('metainfo', sample)
            if 'gt_choice' not in meta:
                raise KeyError(f"VideoQAMetric: sample {meta.get('sample_id')!r} has no "
                               'gt_choice (not a multiple-choice QA sample?)')
            pred = sample.get('pred_choice')
            result = dict(
                benchmark=str(meta.get('qa_benchmark', meta.get('dataset_name', 'video_qa'))),
                category=str(meta.get('qa_category', '')),
                correct=pred is not None and int(pred) == int(meta['gt_choice']),
                unparsed=pred is None or int(pred) < 0)
            if self.outfile_prefix is not None:
                text = sample.get('pred_text')
                result['entry'] = dict(
                    sample_id=meta.get('sample_id'), video_id=meta.get('video_id'),
                    task=meta.get('task'), dataset_name=meta.get('dataset_name') or '',
                    pred_choice=None if pred is None else int(pred),
                    pred_text=text if isinstance(text, str) else None,
                    fingerprint=query_fingerprint(meta), video_meta=video_meta_of(meta))
            self.results.append(result)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        if not results:
            raise ValueError('VideoQAMetric: no samples were evaluated')

        def percent(rows) -> float:
            return 100.0 * sum(r['correct'] for r in rows) / len(rows)

        metrics = dict(accuracy=percent(results), num_samples=len(results),
                       num_unparsed=sum(r['unparsed'] for r in results))
        by_benchmark = defaultdict(list)
        for row in results:
            by_benchmark[row['benchmark']].append(row)
        for benchmark, rows in sorted(by_benchmark.items()):
            metrics[f'{benchmark}/accuracy'] = percent(rows)
            by_category = defaultdict(list)
            for row in rows:
                by_category[row['category']].append(row)
            if len(by_category) > 1 or '' not in by_category:
                scores = {c: percent(r) for c, r in sorted(by_category.items())}
                for category, score in scores.items():
                    metrics[f'{benchmark}/{category}'] = score
                if len(scores) > 1:
                    metrics[f'{benchmark}/category_mean'] = sum(scores.values()) / len(scores)
        if metrics['num_unparsed']:
            MMLogger.get_current_instance().warning(
                f"VideoQAMetric: {metrics['num_unparsed']} of {len(results)} replies could "
                'not be read as an option; they are scored wrong')
        if self.outfile_prefix is not None:
            write_metric_dump(self, [
                dict(row['entry'], correct=row['correct'],
                     status=['missing_pred'] if row['entry']['pred_choice'] is None else [])
                for row in results], metrics)
        return metrics

    def dump_config(self) -> dict:
        """The arguments that rebuild this metric for offline re-scoring."""
        return dict(type=type(self).__name__)
