"""TemporalGroundingMetric and RECMetric on hand-computed cases."""
import numpy as np
import pytest
import torch

from mmstvg.evaluation import RECMetric, TemporalGroundingMetric
from mmstvg.structures import GroundingDataSample


def tvg_sample(pred, gt=(2.0, 6.0), sample_id='clip#0', dataset='charades',
               parse_ok=True):
    sample = GroundingDataSample(metainfo=dict(
        sample_id=sample_id, video_id=sample_id.split('#')[0], task='tvg',
        dataset_name=dataset, qtype='', num_frames=300, fps=30.0,
        duration=10.0, frame_inds=np.arange(0, 300, 30)))
    sample.gt_span_seconds = torch.tensor(gt, dtype=torch.float64)
    sample.gt_span_frames = torch.round(sample.gt_span_seconds * 30).long()
    if pred is not None:
        sample.pred_span_seconds = torch.tensor(pred, dtype=torch.float64)
        sample.pred_parse_ok = parse_ok
        sample.pred_text = f'from {pred[0]}s to {pred[1]}s'
    return sample.to_dict()


def rec_sample(pred_box, dataset, sample_id, gt_box=(0., 0., 10., 10.)):
    sample = GroundingDataSample(metainfo=dict(
        sample_id=sample_id, video_id=sample_id, task='rec',
        dataset_name=dataset, qtype='', num_frames=1, fps=1.0, duration=1.0,
        frame_inds=np.zeros(1, dtype=np.int64)))
    sample.gt_boxes = torch.tensor([gt_box])
    sample.gt_box_mask = torch.tensor([True])
    if pred_box is not None:
        sample.pred_boxes = torch.tensor([pred_box], dtype=torch.float32)
        sample.pred_parse_ok = True
    return sample.to_dict()


def test_tvg_r1_and_miou():
    # IoUs with GT (2, 6): 2/6, 1, 3/4, 2/4 (0.5 is not a hit at 0.5)
    samples = [
        tvg_sample((4.0, 8.0), sample_id='a#0'),
        tvg_sample((2.0, 6.0), sample_id='b#0'),
        tvg_sample((2.5, 5.5), sample_id='c#0'),
        tvg_sample((3.0, 5.0), sample_id='d#0'),
    ]
    metric = TemporalGroundingMetric()
    metric.process(None, samples)
    metrics = metric.compute_metrics(metric.results)
    np.testing.assert_allclose(metric.sample_scores['IoU'],
                               [1 / 3, 1, 0.75, 0.5], atol=1e-12)
    assert metrics['R1@0.3'] == pytest.approx(100.0)
    assert metrics['R1@0.5'] == pytest.approx(50.0)
    assert metrics['R1@0.7'] == pytest.approx(50.0)
    assert metrics['mIoU'] == pytest.approx((1 / 3 + 1 + 0.75 + 0.5) / 4 * 100)
    assert metrics['num_samples'] == 4


def test_tvg_failures_and_per_dataset():
    samples = [
        tvg_sample((2.0, 6.0), sample_id='a#0'),
        tvg_sample((6.0, 2.0), sample_id='reversed#0'),
        tvg_sample(None, sample_id='missing#0'),
        tvg_sample((2.0, 6.0), sample_id='unparsed#0', parse_ok=False),
        tvg_sample((4.0, 8.0), sample_id='e#0', dataset='tacos'),
        # past the end of the 10 s video is no failure: IoU 4 / 10
        tvg_sample((2.0, 12.0), sample_id='f#0', dataset='tacos'),
    ]
    metric = TemporalGroundingMetric(iou_thresholds=(0.5, ))
    metric.process(None, samples)
    metrics = metric.compute_metrics(metric.results)
    np.testing.assert_allclose(metric.sample_scores['IoU'],
                               [1, 0, 0, 0, 1 / 3, 0.4], atol=1e-12)
    assert metrics['num_invalid_span'] == 1
    assert metrics['num_missing_pred'] == 1
    assert metrics['num_failed_parse'] == 1
    assert metrics['R1@0.5'] == pytest.approx(100 / 6)
    assert metrics['charades_R1@0.5'] == pytest.approx(25.0)
    assert metrics['tacos_mIoU'] == pytest.approx((1 / 3 + 0.4) / 2 * 100)


def test_rec_accuracy_overall_and_per_split():
    samples = [
        rec_sample([0., 0., 10., 20.], 'refcoco_val', 'r0'),  # IoU 1/2: hit
        rec_sample([5., 0., 15., 10.], 'refcoco_val', 'r1'),  # IoU 1/3: miss
        rec_sample([0., 0., 10., 10.], 'refcoco+_val', 'r2'),  # IoU 1
        rec_sample(None, 'refcoco+_val', 'r3'),  # no prediction
        rec_sample([np.nan] * 4, 'refcoco+_val', 'r4'),  # NaN box
    ]
    metric = RECMetric()
    metric.process(None, samples)
    metrics = metric.compute_metrics(metric.results)
    np.testing.assert_allclose(metric.sample_scores['IoU'],
                               [0.5, 1 / 3, 1, 0, 0], atol=1e-12)
    assert metrics['Acc@0.5'] == pytest.approx(40.0)
    assert metrics['refcoco_val_Acc@0.5'] == pytest.approx(50.0)
    assert metrics['refcoco+_val_Acc@0.5'] == pytest.approx(100 / 3)
    assert metrics['mIoU'] == pytest.approx((0.5 + 1 / 3 + 1) / 5 * 100)
    assert metrics['num_missing_pred'] == 1
    assert metrics['num_nan_boxes'] == 1
    assert metrics['num_no_boxes'] == 1  # the NaN box is no usable box
    assert metrics['num_invalid_span'] == 0  # REC predicts no span


def test_rec_without_gt_box_names_the_sample():
    sample = rec_sample([0., 0., 1., 1.], 'refcoco_val', 'broken')
    del sample['gt_boxes']
    with pytest.raises(ValueError, match="'broken'.*ground-truth box"):
        RECMetric().process(None, [sample])


def test_tvg_and_rec_dumps_rescore_offline(tmp_path):
    from mmstvg.evaluation import rescore_dump
    import json

    tvg = TemporalGroundingMetric(outfile_prefix=str(tmp_path / 'p'))
    tvg.process(None, [tvg_sample((4.0, 8.0), sample_id='a#0'),
                       tvg_sample((2.0, 6.0), sample_id='b#0')])
    online = tvg.compute_metrics(tvg.results)
    dump = json.loads((tmp_path / 'p.tvg.json').read_text())
    infos = [
        dict(sample_id=sid, video_id=sid[0], task='tvg', dataset_name='charades',
             qtype='', num_frames=300, fps=30.0, duration=10.0,
             gt_span_frames=[60, 180], gt_span_seconds=(2.0, 6.0),
             gt_tube_frame_inds=np.zeros(0, np.int64),
             gt_tube_boxes=np.zeros((0, 4), np.float32))
        for sid in ('a#0', 'b#0', 'c#0')  # c#0 has no prediction
    ]
    offline = rescore_dump(dump, infos)
    assert online['mIoU'] == pytest.approx((1 / 3 + 1) / 2 * 100)
    assert offline['mIoU'] == pytest.approx((1 / 3 + 1) / 3 * 100)
    assert offline['num_missing_pred'] == 1

    rec = RECMetric(outfile_prefix=str(tmp_path / 'p'))
    rec.process(None, [rec_sample([0., 0., 10., 20.], 'refcoco_val', 'r0')])
    rec.compute_metrics(rec.results)
    dump = json.loads((tmp_path / 'p.rec.json').read_text())
    infos = [dict(sample_id='r0', video_id='r0', task='rec',
                  dataset_name='refcoco_val', qtype='', num_frames=1, fps=1.0,
                  gt_span_frames=[0, 1], gt_span_seconds=(0.0, 1.0),
                  gt_tube_frame_inds=np.zeros(1, np.int64),
                  gt_tube_boxes=np.array([[0., 0., 10., 10.]], np.float32))]
    offline = rescore_dump(dump, infos)
    assert offline['Acc@0.5'] == pytest.approx(100.0)
    assert offline['mIoU'] == pytest.approx(50.0)
