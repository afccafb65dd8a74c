"""STVGMetric on hand-computed cases.

Default layout (see conftest): a 10-frame video, sampled frames 0, 2, 4, 6, 8,
ground-truth span [2, 6) with the box [0, 0, 10, 10] at frames 2-5, so the
sampled frames with a ground-truth box are 2 and 4.
"""
import numpy as np
import pytest
import torch

from mmstvg.evaluation import STVGMetric
from mmstvg.registry import METRICS

BOX = [0., 0., 10., 10.]
SHIFTED = [5., 0., 15., 10.]  # IoU with BOX: 50 / 150 = 1/3
FAR = [10., 0., 20., 10.]  # IoU with BOX: 0


def run(samples, **kwargs):
    metric = STVGMetric(**kwargs)
    metric.process(None, samples)
    return metric.compute_metrics(metric.results), metric


def test_perfect_disjoint_partial_and_shifted(stvg_sample):
    samples = [
        # perfect: tIoU 1, vIoU (1 + 1) / 2 = 1, gt_vIoU 1
        stvg_sample(pred_span=(2, 6), pred_boxes=[BOX] * 5, sample_id='a#0'),
        # disjoint: tIoU 0, vIoU 0 / |{2, 4, 6, 8}| = 0; boxes still right
        stvg_sample(pred_span=(7, 10), pred_boxes=[BOX] * 5, sample_id='b#0'),
        # partial: tIoU |[4,6)| / |[2,8)| = 2/6; vIoU IoU(4) / |{2,4,6}| = 1/3
        stvg_sample(pred_span=(4, 8), pred_boxes=[BOX] * 5, sample_id='c#0'),
        # shifted boxes: tIoU 1, vIoU (1/3 + 1/3) / 2 = 1/3
        stvg_sample(pred_span=(2, 6), pred_boxes=[SHIFTED] * 5,
                    sample_id='d#0'),
    ]
    metrics, metric = run(samples)
    scores = metric.sample_scores
    np.testing.assert_allclose(scores['tIoU'], [1, 0, 1 / 3, 1], atol=1e-12)
    np.testing.assert_allclose(scores['vIoU'], [1, 0, 1 / 3, 1 / 3],
                               atol=1e-12)
    np.testing.assert_allclose(scores['gt_vIoU'], [1, 1, 1, 1 / 3],
                               atol=1e-12)
    assert metrics['m_tIoU'] == pytest.approx((1 + 0 + 1 / 3 + 1) / 4 * 100)
    assert metrics['m_vIoU'] == pytest.approx((1 + 0 + 1 / 3 + 1 / 3) / 4 *
                                              100)
    # 1/3 > 0.3 for samples c and d; only the perfect one is > 0.5.
    assert metrics['vIoU@0.3'] == pytest.approx(75.0)
    assert metrics['vIoU@0.5'] == pytest.approx(25.0)
    assert metrics['gt_vIoU'] == pytest.approx((3 + 1 / 3) / 4 * 100)
    assert metrics['num_samples'] == 4
    assert all(metrics[f'num_{flag}'] == 0 for flag in (
        'missing_pred', 'failed_parse', 'invalid_span', 'no_boxes',
        'nan_boxes'))
    # no qtype -> no per-type keys
    assert not any(key.startswith(('declarative', 'interrogative'))
                   for key in metrics)


def test_failures_score_zero_are_counted_and_kept(stvg_sample):
    samples = [
        # empty prediction: a span but no box -> tIoU 1, vIoU 0, gt_vIoU 0
        stvg_sample(pred_span=(2, 6), pred_boxes=np.zeros((0, 4)),
                    sample_id='empty#0'),
        # reversed span: span scores 0, boxes still give gt_vIoU 1
        stvg_sample(pred_span=(6, 2), pred_boxes=[BOX] * 5,
                    sample_id='reversed#0'),
        # no prediction at all
        stvg_sample(sample_id='missing#0'),
        # a failed parse zeroes the span scores
        stvg_sample(pred_span=(2, 6), pred_boxes=[BOX] * 5, parse_ok=False,
                    sample_id='unparsed#0'),
        # NaN box at frame 4: vIoU = gt_vIoU = (1 + 0) / 2 = 0.5 (not > 0.5)
        stvg_sample(pred_span=(2, 6),
                    pred_boxes=[BOX, BOX, [np.nan] * 4, BOX, BOX],
                    sample_id='nan#0'),
        # span past the end of the 10-frame video
        stvg_sample(pred_span=(4, 12), pred_boxes=[BOX] * 5,
                    sample_id='outside#0'),
    ]
    metrics, metric = run(samples)
    scores = metric.sample_scores
    np.testing.assert_allclose(scores['tIoU'], [1, 0, 0, 0, 1, 0], atol=1e-12)
    np.testing.assert_allclose(scores['vIoU'], [0, 0, 0, 0, 0.5, 0],
                               atol=1e-12)
    np.testing.assert_allclose(scores['gt_vIoU'], [0, 1, 0, 1, 0.5, 1],
                               atol=1e-12)
    assert metrics['num_samples'] == 6  # nobody dropped from the means
    assert metrics['m_tIoU'] == pytest.approx(2 / 6 * 100)
    assert metrics['m_vIoU'] == pytest.approx(0.5 / 6 * 100)
    assert metrics['vIoU@0.3'] == pytest.approx(100 / 6)
    assert metrics['vIoU@0.5'] == 0.0  # strict >
    assert metrics['num_no_boxes'] == 1
    assert metrics['num_invalid_span'] == 2
    assert metrics['num_missing_pred'] == 1
    assert metrics['num_failed_parse'] == 1
    assert metrics['num_nan_boxes'] == 1
    flags = metric.sample_flags
    assert flags['invalid_span'].tolist() == [0, 1, 0, 0, 0, 1]
    assert flags['missing_pred'].tolist() == [0, 0, 1, 0, 0, 0]


def test_failures_are_logged(stvg_sample, capsys):
    from mmengine.logging import MMLogger
    MMLogger.get_instance('test_stvg_metric_log')
    run([stvg_sample(sample_id='missing#0')])
    out = capsys.readouterr()
    assert "1 of 1 samples have no prediction at all" in out.out + out.err
    assert "'missing#0'" in out.out + out.err


def test_vidstg_split_by_sentence_type(stvg_sample):
    samples = [
        stvg_sample(pred_span=(2, 6), pred_boxes=[BOX] * 5,
                    qtype='declarative', sample_id='a#0'),
        stvg_sample(pred_span=(7, 10), pred_boxes=[BOX] * 5,
                    qtype='declarative', sample_id='a#1'),
        stvg_sample(pred_span=(4, 8), pred_boxes=[BOX] * 5,
                    qtype='interrogative', sample_id='a#2'),
    ]
    metrics, _ = run(samples)
    assert metrics['m_tIoU'] == pytest.approx((1 + 0 + 1 / 3) / 3 * 100)
    assert metrics['declarative_m_tIoU'] == pytest.approx(50.0)
    assert metrics['declarative_m_vIoU'] == pytest.approx(50.0)
    assert metrics['declarative_vIoU@0.5'] == pytest.approx(50.0)
    assert metrics['declarative_gt_vIoU'] == pytest.approx(100.0)
    assert metrics['interrogative_m_tIoU'] == pytest.approx(100 / 3)
    assert metrics['interrogative_m_vIoU'] == pytest.approx(100 / 3)
    assert metrics['interrogative_vIoU@0.3'] == pytest.approx(100.0)
    assert metrics['interrogative_vIoU@0.5'] == 0.0


def worked_example(stvg_sample):
    """The docstring's example: GT [2, 6), prediction [4, 8)."""
    return stvg_sample(pred_span=(4, 8),
                       pred_boxes=[BOX, BOX, BOX, FAR, FAR])


@pytest.mark.parametrize('protocol, tiou, viou, gt_viou', [
    # sampled frames; hull [2, 8) holds the sampled frames 2, 4, 6
    ('tubedetr', 1 / 3, 1 / 3, 1.0),
    # GT [2, 5) used half-open: inter 1, union 3 + 4 - 1; frame 5 is
    # interpolated to [5, 0, 15, 10] (IoU 1/3): gt_vIoU (1 + 1 + 1 + 1/3) / 4
    ('stcat', 1 / 6, 1 / 6, 5 / 6),
    # inclusive [2, 5] and [4, 7]: frames 4, 5 in both, all = 6 frames
    ('hcstvg', 1 / 3, (1 + 1 / 3) / 6, 5 / 6),
])
def test_three_protocols_differ(stvg_sample, protocol, tiou, viou, gt_viou):
    metrics, metric = run([worked_example(stvg_sample)], protocol=protocol)
    assert metric.sample_scores['tIoU'][0] == pytest.approx(tiou, abs=1e-12)
    assert metric.sample_scores['vIoU'][0] == pytest.approx(viou, abs=1e-12)
    assert metric.sample_scores['gt_vIoU'][0] == pytest.approx(gt_viou,
                                                              abs=1e-12)
    assert metrics['m_vIoU'] == pytest.approx(viou * 100)


def test_hcstvg_without_boxes_has_zero_tiou(stvg_sample):
    # The provider's script counts frames where both tubes have a box.
    _, metric = run([stvg_sample(pred_span=(2, 6), pred_boxes=np.zeros(
        (0, 4)))], protocol='hcstvg')
    assert metric.sample_scores['tIoU'][0] == 0.0
    _, metric = run([stvg_sample(pred_span=(2, 6), pred_boxes=np.zeros(
        (0, 4)))], protocol='tubedetr')
    assert metric.sample_scores['tIoU'][0] == 1.0


def test_stcat_holds_nearest_box_outside_sampled_frames(stvg_sample):
    # Sampled frames 3 and 4 only; GT tube frames 2..5 with BOX. Frame 2 holds
    # frame 3's box, frame 5 holds frame 4's (SHIFTED): IoUs 1, 1, 1/3, 1/3.
    _, metric = run([
        stvg_sample(frame_inds=(3, 4), pred_span=(2, 6),
                    pred_boxes=[BOX, SHIFTED])
    ], protocol='stcat')
    assert metric.sample_scores['gt_vIoU'][0] == pytest.approx(
        (1 + 1 + 1 / 3 + 1 / 3) / 4)


def test_numpy_and_tensor_inputs_agree(stvg_sample):
    sample = worked_example(stvg_sample)
    as_numpy = {
        k: v.numpy() if isinstance(v, torch.Tensor) else v
        for k, v in sample.items()
    }
    first, _ = run([sample])
    second, _ = run([as_numpy])
    assert first == second


def test_built_from_registry_with_prefix(stvg_sample):
    metric = METRICS.build(dict(type='STVGMetric', protocol='stcat'))
    assert isinstance(metric, STVGMetric) and metric.protocol == 'stcat'
    metric.process(None, [worked_example(stvg_sample)])
    result = metric.evaluate(1)
    assert result['stvg/m_tIoU'] == pytest.approx(100 / 6)


def test_bad_input_names_sample_and_field(stvg_sample):
    sample = worked_example(stvg_sample)
    sample['pred_boxes'] = torch.zeros(3, 4)
    with pytest.raises(ValueError, match=r"'video#0'.*'pred_boxes'.*3 rows"):
        run([sample])
    sample = worked_example(stvg_sample)
    del sample['gt_span_frames']
    with pytest.raises(ValueError, match=r"'video#0'.*gt_span_frames"):
        run([sample])
    sample = worked_example(stvg_sample)
    del sample['gt_tube_boxes']
    with pytest.raises(ValueError, match=r"gt_tube_boxes.*'hcstvg'"):
        run([sample], protocol='hcstvg')
    with pytest.raises(ValueError, match='protocol'):
        STVGMetric(protocol='vidstg')
