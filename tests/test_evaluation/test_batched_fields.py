"""Reading a field of many records at once: the tensor fast paths against
the record-by-record reads, and the records STVGMetric keeps."""
import numpy as np
import pytest
import torch

from mmstvg.evaluation import STVGMetric
from mmstvg.evaluation.functional.batched_fields import (concat_frame_field,
                                                         stack_spans)
from .test_scoring_vs_reference import load_benchmark


def names(index):
    return f'sample #{index}'


def both_paths(values, lengths, key, boxes, fill, fill_dtype):
    """The fast path's result and the record-by-record one (a list among
    the values sends the call there)."""
    fast = concat_frame_field(values, lengths, key, boxes, fill, fill_dtype,
                              names)
    slow = concat_frame_field(
        [v.tolist() if isinstance(v, torch.Tensor) else v for v in values],
        lengths, key, boxes, fill, fill_dtype, names)
    return fast, slow


@pytest.mark.parametrize('lengths', [(3, 3, 3), (2, 4, 1)])
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_frame_boxes_fast_path_matches_record_reads(lengths, dtype):
    rng = np.random.default_rng(0)
    values = [torch.as_tensor(rng.normal(size=(n, 4)), dtype=dtype)
              for n in lengths]
    values[1] = None  # no predicted boxes: NaN rows
    values[0][1, 2] = float('nan')
    (flat, present), (slow, slow_present) = both_paths(
        values, np.array(lengths), 'pred_boxes', True, np.nan, np.float32)
    np.testing.assert_array_equal(present, [True, False, True])
    np.testing.assert_array_equal(present, slow_present)
    # Same values (NaN where NaN), in the values' dtype.
    np.testing.assert_array_equal(flat, slow.astype(flat.dtype))
    assert flat.dtype == torch.empty(0, dtype=dtype).numpy().dtype
    assert np.isnan(flat[lengths[0]:lengths[0] + lengths[1]]).all()


def test_mixed_dtypes_read_as_single_records_would():
    lengths = np.array([2, 2])
    masks = [
        torch.tensor([True, False]),
        torch.tensor([1, 0], dtype=torch.uint8)
    ]
    flat, present = concat_frame_field(masks, lengths, 'gt_box_mask', False,
                                       False, bool, names)
    np.testing.assert_array_equal(flat, [True, False, True, False])
    assert flat.dtype == bool and present.all()
    # Mixed float32 / float64 boxes: promoted to float64, exactly.
    boxes = [torch.zeros(2, 4), torch.ones(2, 4, dtype=torch.float64)]
    flat, _ = concat_frame_field(boxes, lengths, 'gt_boxes', True, 0.0,
                                 np.float64, names)
    assert flat.dtype == np.float64
    np.testing.assert_array_equal(flat, [[0] * 4] * 2 + [[1] * 4] * 2)
    # Integer boxes among float32 ones: float64, not a lossy float32.
    big = 2**25 + 1
    boxes = [torch.zeros(2, 4), torch.full((2, 4), big, dtype=torch.int64)]
    flat, _ = concat_frame_field(boxes, lengths, 'pred_boxes', True, np.nan,
                                 np.float32, names)
    assert flat.dtype == np.float64 and flat[2, 0] == big


def test_empty_and_wrong_rows():
    lengths = np.array([2, 2])
    # An empty value is no value (as for a single sample).
    flat, present = concat_frame_field([torch.zeros(2, 4), torch.zeros(0)],
                                       lengths, 'pred_boxes', True, np.nan,
                                       np.float32, names)
    np.testing.assert_array_equal(present, [True, False])
    assert np.isnan(flat[2:]).all()
    with pytest.raises(ValueError, match=r"sample #1.*'pred_boxes'.*3 rows"):
        concat_frame_field([torch.zeros(2, 4), torch.zeros(3, 4)], lengths,
                           'pred_boxes', True, np.nan, np.float32, names)
    with pytest.raises(ValueError, match=r"sample #0.*'pred_boxes'.*\(T, 4\)"):
        concat_frame_field([torch.zeros(2, 5), torch.zeros(2, 5)], lengths,
                           'pred_boxes', True, np.nan, np.float32, names)


@pytest.mark.parametrize('second', [
    torch.tensor([2**40 + 1, 2**40 + 3]),  # int64 throughout: stacked
    torch.tensor([1.5, 2.25], dtype=torch.float64),  # promotes exactly
    torch.tensor([1.5, 2.25]),  # int64 + float32: read record by record
])
def test_spans_fast_path_matches_record_reads(second):
    values = [torch.tensor([3, 7]), None, second]
    spans, present = stack_spans(values, 'pred_span_frames', names)
    slow, slow_present = stack_spans(
        [v.tolist() if v is not None else None for v in values],
        'pred_span_frames', names)
    np.testing.assert_array_equal(present, [True, False, True])
    np.testing.assert_array_equal(present, slow_present)
    np.testing.assert_array_equal(spans, slow)
    assert np.isnan(spans[1]).all()
    np.testing.assert_array_equal(spans[2], second.tolist())


def test_malformed_span_names_the_sample():
    with pytest.raises(ValueError, match=r"sample #1.*'gt_span_frames'"):
        stack_spans([torch.tensor([0, 1]), torch.tensor([0, 1, 2])],
                    'gt_span_frames', names)


@pytest.mark.parametrize('protocol', ['tubedetr', 'stcat', 'hcstvg'])
def test_tensor_numpy_and_list_inputs_score_alike(protocol):
    samples = load_benchmark().make_samples(40, 9, seed=1, failure_rate=0.1)

    def convert(sample, how):
        return {
            k: how(v) if isinstance(v, torch.Tensor) else v
            for k, v in sample.items()
        }

    results = []
    for how in (lambda v: v, lambda v: v.numpy(), lambda v: v.tolist()):
        metric = STVGMetric(protocol=protocol)
        metric.process(None, [convert(s, how) for s in samples])
        results.append((metric.compute_metrics(metric.results), metric))
    (metrics, first), *others = results
    for other_metrics, other in others:
        assert other_metrics == metrics
        for key, value in first.sample_scores.items():
            np.testing.assert_array_equal(other.sample_scores[key], value)
        for key, value in first.sample_flags.items():
            np.testing.assert_array_equal(other.sample_flags[key], value)


def test_records_keep_cpu_tensors_and_convert_the_rest(stvg_sample):
    sample = stvg_sample(pred_span=(2, 6), pred_boxes=[[0, 0, 10, 10]] * 5)
    metric = STVGMetric()
    metric.process(None, [sample])
    record = metric.results[0]
    assert record['pred_boxes'] is sample['pred_boxes']
    assert record['gt_span'] is sample['gt_span_frames']
    # A batch whose tensors require grad is kept as numpy.
    sample = dict(sample, pred_boxes=sample['pred_boxes'].clone()
                  .requires_grad_(True))
    metric.process(None, [sample])
    assert isinstance(metric.results[1]['pred_boxes'], np.ndarray)
    metrics = metric.compute_metrics(metric.results)
    assert metrics['m_vIoU'] == pytest.approx(100.0)


def test_non_finite_gt_span_names_the_sample(stvg_sample):
    sample = stvg_sample(pred_span=(2, 6), pred_boxes=[[0, 0, 10, 10]] * 5)
    sample['gt_span_frames'] = torch.tensor([2.0, float('nan')])
    metric = STVGMetric()
    metric.process(None, [sample])
    with pytest.raises(ValueError,
                       match=r"'video#0'.*gt_span_frames.*not finite"):
        metric.compute_metrics(metric.results)
