"""VideoQAMetric's overall accuracy and per-benchmark breakdown, checked by hand."""
import pytest

from mmstvg.evaluation import VideoQAMetric


def sample(benchmark, category, gt, pred):
    return dict(gt_choice=gt, qa_benchmark=benchmark, qa_category=category,
                sample_id=f'{benchmark}-{category}', **({} if pred is None else
                                                       dict(pred_choice=pred)))


def test_breakdown_by_hand():
    metric = VideoQAMetric()
    metric.dataset_meta = {}
    batch = [
        # Video-MME: short 2 of 3 right (one unparsed), long 1 of 1.
        sample('videomme', 'short', 0, 0), sample('videomme', 'short', 1, 1),
        sample('videomme', 'short', 2, -1), sample('videomme', 'long', 3, 3),
        # MVBench: action_antonym 0 of 2 (one prediction missing), moving_count 1 of 1.
        sample('mvbench', 'action_antonym', 1, 2), sample('mvbench', 'action_antonym', 0, None),
        sample('mvbench', 'moving_count', 2, 2),
        # TempCompass: speed 1 of 1.
        sample('tempcompass', 'speed', 1, 1),
    ]
    metric.process({}, batch)
    out = metric.compute_metrics(metric.results)
    assert out['accuracy'] == pytest.approx(100 * 5 / 8)
    assert (out['num_samples'], out['num_unparsed']) == (8, 2)
    assert out['videomme/short'] == pytest.approx(200 / 3)
    assert out['videomme/long'] == 100.0
    assert out['videomme/accuracy'] == 75.0
    assert out['videomme/category_mean'] == pytest.approx((200 / 3 + 100) / 2)
    assert out['mvbench/action_antonym'] == 0.0
    assert out['mvbench/moving_count'] == 100.0
    assert out['mvbench/accuracy'] == pytest.approx(100 / 3)
    assert out['mvbench/category_mean'] == 50.0
    assert out['tempcompass/speed'] == 100.0 and 'tempcompass/category_mean' not in out


def test_rejects_grounding_samples_and_empty_runs():
    metric = VideoQAMetric()
    with pytest.raises(KeyError, match='gt_choice'):
        metric.process({}, [dict(sample_id='v', task='stvg')])
    with pytest.raises(ValueError, match='no samples'):
        metric.compute_metrics([])
