import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate

from mmstvg.structures import GroundingDataSample


def make_sample():
    sample = GroundingDataSample(
        metainfo=dict(
            task='stvg',
            sentence='the red circle moves left',
            video_id='v0',
            num_frames=40,
            fps=10.0,
            ori_shape=(48, 64),
            frame_inds=np.array([0, 10, 20, 30]),
            frame_times=np.array([0.0, 1.0, 2.0, 3.0])))
    sample.gt_span_frames = torch.tensor([8, 25])
    sample.gt_span_seconds = torch.tensor([0.8, 2.5])
    sample.gt_boxes = torch.tensor([[0, 0, 0, 0], [1, 2, 11, 12], [3, 4, 13, 14],
                                    [0, 0, 0, 0]], dtype=torch.float32)
    sample.gt_box_mask = torch.tensor([False, True, True, False])
    return sample


def test_fields_round_trip_through_dict_and_dtype():
    sample = make_sample().check()
    assert sample.num_sampled_frames == 4
    as_dict = sample.to_dict()
    assert as_dict['task'] == 'stvg'
    assert as_dict['gt_span_frames'].tolist() == [8, 25]
    assert as_dict['frame_inds'].tolist() == [0, 10, 20, 30]

    doubled = sample.to(torch.float64)
    assert doubled.gt_boxes.dtype == torch.float64
    back = doubled.to(torch.float32).cpu()
    assert torch.equal(back.gt_boxes, sample.gt_boxes)
    assert back.metainfo['sentence'] == 'the red circle moves left'
    as_numpy = sample.numpy()
    assert isinstance(as_numpy.gt_boxes, np.ndarray)
    assert as_numpy.to_tensor().gt_boxes[2, 3].item() == 14.0


def test_tube_in_frames_keeps_only_masked_frames():
    tube = make_sample().tube_in_frames('gt')
    assert tube == {10: [1.0, 2.0, 11.0, 12.0], 20: [3.0, 4.0, 13.0, 14.0]}
    assert make_sample().tube_in_frames('pred') is None


def test_collate_keeps_samples_and_stacks_nothing_silently():
    batch = pseudo_collate([
        dict(inputs=torch.zeros(4, 3, 8, 8, dtype=torch.uint8), data_samples=make_sample()),
        dict(inputs=torch.ones(2, 3, 8, 8, dtype=torch.uint8), data_samples=make_sample()),
    ])
    assert [x.shape[0] for x in batch['inputs']] == [4, 2]
    assert len(batch['data_samples']) == 2
    assert batch['data_samples'][1].gt_span_frames.tolist() == [8, 25]


@pytest.mark.parametrize('field, value, message', [
    ('gt_boxes', torch.zeros(3, 4), '3 rows for 4 sampled frames'),
    ('gt_span_frames', torch.tensor([1, 2, 3]), 'gt_span_frames must have shape'),
    ('pred_boxes', torch.zeros(4, 5), 'pred_boxes must be'),
])
def test_check_names_the_bad_field(field, value, message):
    sample = make_sample()
    sample.set_field(value, field)
    with pytest.raises(ValueError, match=message):
        sample.check()


def test_check_rejects_unknown_task():
    sample = make_sample()
    sample.set_metainfo(dict(task='vqa'))
    with pytest.raises(ValueError, match='task must be one of'):
        sample.check()
