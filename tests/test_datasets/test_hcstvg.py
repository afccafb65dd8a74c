"""HC-STVG v1/v2 loading and the whole pipeline on a tiny fixture."""
import numpy as np
import pytest
import torch

from mmstvg.datasets import CONTRACT_KEYS, HCSTVGDataset, HCSTVGv2Dataset


def build(ann_file, video_dir, pipeline=(), **kwargs):
    return HCSTVGDataset(ann_file=ann_file, data_prefix=dict(video=str(video_dir)),
                         pipeline=list(pipeline), **kwargs)


def test_v1_contract_and_st_frame_convention(hcstvg_file, video_dir):
    dataset = build(hcstvg_file, video_dir)
    assert len(dataset) == 1
    info = dataset.get_data_info(0)
    assert set(CONTRACT_KEYS) <= set(info)
    assert info['sample_id'] == 'v1.mp4#0' and info['video_id'] == 'v1'
    assert info['video_path'] == str(video_dir / 'v1.mp4')
    assert (info['task'], info['qtype'], info['dataset_name']) == ('stvg', '', 'hcstvg_v1')
    assert (info['num_frames'], info['fps'], info['duration']) == (20, 10.0, 2.0)
    # st_frame 6 is 1-based: 0-based frames 5..9, half-open [5, 10).
    assert info['gt_span_frames'] == [5, 10]
    assert info['gt_span_seconds'] == pytest.approx((0.5, 1.0))
    assert info['gt_tube_frame_inds'].tolist() == [5, 6, 7, 8, 9]
    assert info['gt_tube_frame_inds'].dtype == np.int64
    assert info['gt_tube_boxes'].dtype == np.float32
    np.testing.assert_allclose(info['gt_tube_boxes'][0], [2, 3, 12, 15])
    np.testing.assert_allclose(info['gt_tube_boxes'][4], [6, 3, 16, 15])
    # TubeDETR's reading: one frame later.
    tubedetr = build(hcstvg_file, video_dir, st_frame_base=0)
    assert tubedetr.get_data_info(0)['gt_span_frames'] == [6, 11]


def test_v1_fps_from_20_second_rule(tmp_path, video_dir, helpers):
    ann = helpers['write_json'](str(tmp_path / 'a.json'),
                                {'v1.mp4': helpers['hcstvg_entry']()})
    info = build(ann, video_dir).get_data_info(0)
    assert info['fps'] == 1.0 and info['duration'] == 20.0
    assert info['gt_span_seconds'] == (5.0, 10.0)


def test_v2_keys(tmp_path, video_dir, helpers):
    entry = helpers['hcstvg_entry'](fps=10.0)
    entry['English'] = entry.pop('caption')
    entry['img_size'] = [32, 32]
    del entry['width'], entry['height']
    ann = helpers['write_json'](str(tmp_path / 'v2.json'), {'v2.mp4': entry})
    dataset = HCSTVGv2Dataset(ann_file=ann, data_prefix=dict(video=str(video_dir)))
    info = dataset.get_data_info(0)
    assert info['sentence'] == 'the man on the left waves'
    assert (info['height'], info['width']) == (32, 32)
    assert info['dataset_name'] == 'hcstvg_v2' and info['gt_span_frames'] == [5, 10]


def test_videos_found_in_subfolders(tmp_path, helpers):
    (tmp_path / 'video' / 'part1').mkdir(parents=True)
    helpers['write_video'](str(tmp_path / 'video' / 'part1' / 'v1.mp4'))
    ann = helpers['write_json'](str(tmp_path / 'a.json'),
                                {'v1.mp4': helpers['hcstvg_entry'](fps=10.0)})
    info = build(ann, tmp_path / 'video').get_data_info(0)
    assert info['video_path'] == str(tmp_path / 'video' / 'part1' / 'v1.mp4')


def test_full_pipeline_uniform(hcstvg_file, video_dir, make_pipeline):
    dataset = build(hcstvg_file, video_dir, make_pipeline(num_frames=4), test_mode=True)
    packed = dataset[0]
    inputs, sample = packed['inputs'], packed['data_samples']
    assert inputs.shape == (4, 3, 32, 32) and inputs.dtype == torch.uint8
    np.testing.assert_allclose(inputs.float().mean((1, 2, 3)).numpy(),
                               [20, 70, 120, 170], atol=4)
    meta = sample.metainfo
    assert meta['frame_inds'].tolist() == [2, 7, 12, 17]
    np.testing.assert_allclose(meta['frame_times'], [0.2, 0.7, 1.2, 1.7])
    assert meta['ori_shape'] == (32, 32) and meta['pad_shape'] == (32, 32)
    assert meta['flip'] is False and meta['sample_id'] == 'v1.mp4#0'
    assert sample.gt_span_frames.tolist() == [5, 10]
    assert sample.gt_box_mask.tolist() == [False, True, False, False]
    # Frame 7 is box 2 of the tube: [4, 3, 10, 12] xywh.
    np.testing.assert_allclose(sample.gt_boxes[1].numpy(), [4, 3, 14, 15])
    assert sample.gt_boxes[0].abs().sum() == 0
    assert sample.gt_tube_frame_inds.tolist() == [5, 6, 7, 8, 9]
    assert sample.gt_tube_boxes.shape == (5, 4)
    sample.check()


def test_full_pipeline_fps(hcstvg_file, video_dir, make_pipeline):
    pipeline = make_pipeline(sampler='fps', target_fps=4, max_frames=100)
    sample = build(hcstvg_file, video_dir, pipeline)[0]['data_samples']
    assert sample.metainfo['frame_inds'].tolist() == [0, 3, 5, 8, 10, 13, 15, 18]
    # Frames 5 and 8 lie in [5, 10).
    assert sample.gt_box_mask.tolist() == [False, False, True, True, False, False,
                                           False, False]
    np.testing.assert_allclose(sample.gt_boxes[2].numpy(), [2, 3, 12, 15])
    np.testing.assert_allclose(sample.gt_boxes[3].numpy(), [5, 3, 15, 15])


def test_lazy_init_and_serialization(hcstvg_file, video_dir):
    dataset = build(hcstvg_file, video_dir, lazy_init=True)
    assert not dataset._fully_initialized
    dataset.full_init()
    assert dataset.serialize_data and len(dataset.data_bytes) > 0
    assert dataset.get_data_info(0)['gt_span_frames'] == [5, 10]
