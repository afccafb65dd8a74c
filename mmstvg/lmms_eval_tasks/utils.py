"""The functions mmstvg's lmms-eval task YAMLs name (``!function utils.<name>``).

lmms-eval loads this file by its path, beside the YAMLs; the code lives in
:mod:`mmstvg.lmms_eval_tasks` (``docs``, ``answer_format``, ``scoring``).
"""
from mmstvg.lmms_eval_tasks.answer_format import grounding_prompt
from mmstvg.lmms_eval_tasks.docs import docs_from_specs
from mmstvg.lmms_eval_tasks.scoring import aggregate
from mmstvg.lmms_eval_tasks.scoring import process_results as _process_results


def process_docs(dataset):
    """The task's documents, read from its data spec (:mod:`.docs`)."""
    return docs_from_specs(dataset)


def doc_to_visual(doc):
    """The document's video file."""
    return [doc['video_path']]


def doc_to_text(doc, lmms_eval_specific_kwargs=None):
    """The request: the query and the answer format (:mod:`.answer_format`)."""
    kwargs = lmms_eval_specific_kwargs or {}
    return grounding_prompt(doc, kwargs.get('pre_prompt', ''), kwargs.get('post_prompt', ''))


def doc_to_target(doc):
    """The ground-truth span in seconds, as text (for logged samples)."""
    start, end = doc['gt_span_seconds']
    return f'[{start:.2f}, {end:.2f}]'


def process_results(doc, results):
    """One record per metric key (:func:`mmstvg.lmms_eval_tasks.scoring.process_results`)."""
    return _process_results(doc, results)


def _aggregator(key):
    def aggregation(items):
        return aggregate(items, key)

    aggregation.__name__ = f'aggregate_{key}'
    aggregation.__doc__ = f'The task\'s {key}, from one metric run over all documents.'
    return aggregation


aggregate_m_tIoU = _aggregator('m_tIoU')
aggregate_m_vIoU = _aggregator('m_vIoU')
aggregate_vIoU_03 = _aggregator('vIoU@0.3')
aggregate_vIoU_05 = _aggregator('vIoU@0.5')
aggregate_gt_vIoU = _aggregator('gt_vIoU')
aggregate_num_failed_parse = _aggregator('num_failed_parse')
aggregate_num_malformed_boxes = _aggregator('num_malformed_boxes')
aggregate_num_missing_boxes = _aggregator('num_missing_boxes')
aggregate_R1_03 = _aggregator('R1@0.3')
aggregate_R1_05 = _aggregator('R1@0.5')
aggregate_R1_07 = _aggregator('R1@0.7')
aggregate_mIoU = _aggregator('mIoU')
