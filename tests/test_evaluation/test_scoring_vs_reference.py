"""The vectorised scoring against the benchmark's per-frame reference loop."""
import importlib.util
import os.path as osp

import numpy as np
import pytest

from mmstvg.evaluation.functional import interpolate_tube_boxes

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BENCHMARK = osp.join(REPO_ROOT, 'tools', 'analysis_tools',
                     'benchmark_metrics.py')


def load_benchmark():
    spec = importlib.util.spec_from_file_location('benchmark_metrics',
                                                  BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('protocol', ['tubedetr', 'stcat', 'hcstvg'])
def test_metric_matches_per_frame_loop(protocol):
    bench = load_benchmark()
    # 10% of each failure kind: missing, unparsed, reversed span, NaN boxes
    samples = bench.make_samples(80, 12, seed=3, failure_rate=0.1)
    metric = bench.run_metric(samples, protocol, batch_size=7)
    reference = [bench.reference_scores(s, protocol) for s in samples]
    for key in ('tIoU', 'vIoU', 'gt_vIoU'):
        expected = np.array([r[key] for r in reference])
        np.testing.assert_allclose(metric.sample_scores[key], expected,
                                   rtol=0, atol=1e-9)
    # the cases are not degenerate: some but not all samples score
    assert 0 < (metric.sample_scores['vIoU'] > 0).sum() < len(samples)


def test_benchmark_script_reports_speedup_json(capsys):
    summary = load_benchmark().main(
        ['--num-samples', '30', '--num-frames', '8', '--repeats', '1'])
    last_line = capsys.readouterr().out.strip().splitlines()[-1]
    assert '"speedup_vs_loop"' in last_line
    assert summary['max_abs_diff'] <= 1e-9 and summary['speedup_vs_loop'] > 0


def test_interpolation_between_and_beyond_anchors():
    # sample 0: anchors at frames 2 and 6; sample 1: one anchor at frame 3
    boxes, has_box = interpolate_tube_boxes(
        anchor_sample=np.array([0, 0, 1]), anchor_frames=np.array([2, 6, 3]),
        anchor_boxes=np.array([[0., 0., 4., 4.], [4., 0., 8., 4.],
                               [1., 1., 2., 2.]]),
        query_sample=np.array([0, 0, 0, 0, 1, 2]),
        query_frames=np.array([1, 2, 3, 9, 7, 0]))
    np.testing.assert_allclose(boxes[:5], [
        [0., 0., 4., 4.],  # before the first anchor: held
        [0., 0., 4., 4.],  # on an anchor
        [1., 0., 5., 4.],  # a quarter of the way from 2 to 6
        [4., 0., 8., 4.],  # after the last anchor: held
        [1., 1., 2., 2.],
    ])
    assert has_box.tolist() == [True] * 5 + [False]  # sample 2 has no anchor
    assert np.isnan(boxes[5]).all()
