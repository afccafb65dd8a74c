"""Resize, pad, flip (boxes and words) and packing."""
import numpy as np
import torch

from mmstvg.datasets.transforms import (GroundingPad, GroundingRandomFlip,
                                        GroundingResize, PackGroundingInputs,
                                        swap_left_right)


def frames(num=2, height=32, width=48):
    imgs = np.zeros((num, height, width, 3), dtype=np.uint8)
    imgs[:, :, -1] = 200  # the last column is bright
    return imgs


def test_resize_keeps_ratio_and_boxes():
    boxes = np.array([[2, 3, 12, 15]], dtype=np.float32)
    results = dict(imgs=frames(), ori_shape=(32, 48), gt_boxes=boxes.copy())
    out = GroundingResize(scale=(64, 64))(results)
    # min(64 / 48, 64 / 32) = 4/3: 48 -> 64, 32 -> int(42.67 + 0.5) = 43.
    assert out['imgs'].shape == (2, 43, 64, 3)
    assert out['img_shape'] == (43, 64)
    np.testing.assert_allclose(out['scale_factor'], (64 / 48, 43 / 32))
    np.testing.assert_array_equal(out['gt_boxes'], boxes)  # untouched
    out = GroundingResize(scale=(24, 24), keep_ratio=False)(dict(imgs=frames()))
    assert out['imgs'].shape == (2, 24, 24, 3) and out['img_shape'] == (24, 24)


def test_pad_to_size_and_divisor():
    out = GroundingPad(size=(64, 64), pad_val=7)(dict(imgs=frames()))
    assert out['imgs'].shape == (2, 64, 64, 3) and out['pad_shape'] == (64, 64)
    assert (out['imgs'][:, 32:] == 7).all() and (out['imgs'][:, :, 48:] == 7).all()
    assert (out['imgs'][:, :32, 47] == 200).all()
    out = GroundingPad(size_divisor=20)(dict(imgs=frames()))
    assert out['pad_shape'] == (40, 60)


def test_swap_left_right_words():
    assert swap_left_right('the man on the left turns Right') == \
        'the man on the right turns Left'
    assert swap_left_right('LEFT, leftmost; Rightward. bright cleft') == \
        'RIGHT, rightmost; Leftward. bright cleft'


def test_flip_frames_boxes_and_sentence():
    imgs = frames(width=32)
    results = dict(imgs=imgs.copy(), ori_shape=(32, 32), img_shape=(32, 32),
                   sentence='the dog left of the car moves right',
                   gt_boxes=np.array([[2, 3, 12, 15], [0, 0, 0, 0]], np.float32),
                   gt_box_mask=np.array([True, False]),
                   gt_tube_boxes=np.array([[2, 3, 12, 15]], np.float32))
    out = GroundingRandomFlip(prob=1.0)(results)
    assert out['flip'] is True and out['flip_direction'] == 'horizontal'
    assert out['sentence'] == 'the dog right of the car moves left'
    # x -> 32 - x in original pixels: [2, 12] -> [20, 30].
    np.testing.assert_allclose(out['gt_boxes'], [[20, 3, 30, 15], [0, 0, 0, 0]])
    np.testing.assert_allclose(out['gt_tube_boxes'], [[20, 3, 30, 15]])
    assert (out['imgs'][:, :, 0] == 200).all() and (out['imgs'][:, :, -1] == 0).all()
    kept = GroundingRandomFlip(prob=0.0)(dict(imgs=imgs.copy(), ori_shape=(32, 32),
                                              sentence='left'))
    assert kept['flip'] is False and kept['sentence'] == 'left'


def test_pack_fields_and_types():
    results = dict(
        imgs=frames(num=3), task='stvg', sentence='a', video_id='v', video_path='v.mp4',
        dataset_name='d', qtype='', num_frames=20, fps=10.0, duration=2.0,
        ori_shape=(32, 48), img_shape=(32, 48), sample_id='v#0',
        frame_inds=np.array([1, 5, 9]), frame_times=np.array([0.1, 0.5, 0.9]),
        gt_span_frames=[4, 8], gt_span_seconds=(0.4, 0.8),
        gt_boxes=np.zeros((3, 4), np.float32), gt_box_mask=np.array([False, True, False]),
        gt_tube_frame_inds=np.arange(4, 8), gt_tube_boxes=np.ones((4, 4), np.float32))
    packed = PackGroundingInputs()(results)
    inputs, sample = packed['inputs'], packed['data_samples']
    assert inputs.shape == (3, 3, 32, 48) and inputs.dtype == torch.uint8
    assert inputs[0, :, 0, -1].tolist() == [200, 200, 200]
    assert sample.gt_span_frames.dtype == torch.int64
    assert sample.gt_span_frames.tolist() == [4, 8]
    assert sample.gt_span_seconds.dtype == torch.float32
    assert sample.gt_box_mask.dtype == torch.bool
    assert sample.gt_tube_frame_inds.tolist() == [4, 5, 6, 7]
    meta = sample.metainfo
    assert meta['pad_shape'] == (32, 48) and meta['flip'] is False
    for key in ('task', 'sentence', 'video_id', 'video_path', 'num_frames', 'fps',
                'duration', 'ori_shape', 'img_shape', 'frame_inds', 'frame_times',
                'sample_id', 'dataset_name', 'qtype'):
        assert key in meta
    assert sample.num_sampled_frames == 3
    sample.check()
