"""The test pipeline adapted for inputs without ground truth."""
import glob
import json
import os.path as osp

import cv2
import decord
import numpy as np
import pytest
from mmengine.dataset import Compose

from mmstvg.apis import (ArrayVideo, adapt_test_pipeline, build_inference_data_info,
                         open_video_source)
from mmstvg.utils import register_all_modules

from .conftest import NUM_SAMPLED


def test_adapt_test_pipeline_replaces_the_loader_and_drops_gt_and_random_steps(tiny_cfg):
    pipeline = list(tiny_cfg.test_dataloader.dataset.pipeline)
    pipeline.insert(4, dict(type='GroundingRandomFlip', prob=0.5))
    pipeline[1] = dict(pipeline[1], test_mode=False)
    adapted = adapt_test_pipeline(pipeline)
    assert [s['type'] for s in adapted] == [
        'InferenceVideoInit', 'UniformSampleFrames', 'GroundingDecordDecode',
        'GroundingResize', 'GroundingPad', 'PackGroundingInputs']
    assert adapted[0] == dict(type='InferenceVideoInit', num_threads=1)
    assert adapted[1] == dict(type='UniformSampleFrames', num_frames=NUM_SAMPLED,
                              test_mode=True)
    assert pipeline[1]['test_mode'] is False  # the input is not modified
    # scoped names are recognised; a pipeline without a loader gets one in front
    adapted = adapt_test_pipeline([dict(type='mmstvg.LoadGroundingAnnotations'),
                                   dict(type='PackGroundingInputs')])
    assert [s['type'] for s in adapted] == ['InferenceVideoInit', 'PackGroundingInputs']
    with pytest.raises(ValueError, match='PackGroundingInputs'):
        adapt_test_pipeline([dict(type='GroundingDecordInit')])


def test_data_info_has_no_ground_truth_and_checks_its_fields():
    info = build_inference_data_info('/videos/clip_07.mp4', '  a red circle  ', index=3)
    assert info['sample_id'] == '3:clip_07' and info['video_id'] == 'clip_07'
    assert info['task'] == 'stvg' and info['sentence'] == 'a red circle'
    assert not any(key.startswith('gt_') for key in info)
    assert build_inference_data_info('/images/x.JPG', 'the cat')['task'] == 'rec'
    assert build_inference_data_info(np.zeros((4, 4, 3), np.uint8), 'cat')['task'] == 'rec'
    with pytest.raises(ValueError, match=r"input 2 \(a.mp4\): field .sentence.: is empty"):
        build_inference_data_info('a.mp4', ' ', index=2)
    with pytest.raises(ValueError, match='field "task"'):
        build_inference_data_info('a.mp4', 'x', task='detection')


def test_sources_name_the_input_and_field(tmp_path):
    with pytest.raises(FileNotFoundError, match='input 0: field "video"'):
        open_video_source(str(tmp_path / 'missing.mp4'), name='input 0')
    with pytest.raises(ValueError, match='field "video".*uint8'):
        open_video_source(np.zeros((3, 8, 8, 3), np.float32), fps=2.0)
    with pytest.raises(ValueError, match='field "fps"'):
        open_video_source(np.zeros((3, 8, 8, 3), np.uint8))
    frames = np.arange(3 * 2 * 2 * 3, dtype=np.uint8).reshape(3, 2, 2, 3)
    reader = open_video_source(frames, fps=2.0)
    assert isinstance(reader, ArrayVideo) and len(reader) == 3
    assert reader.get_avg_fps() == 2.0
    np.testing.assert_array_equal(reader.get_batch([2, 0]), frames[[2, 0]])
    with pytest.raises(IndexError):
        reader.get_batch([3])


def test_pipeline_reads_the_facts_from_the_video(tiny_cfg, synthetic_root):
    register_all_modules()
    pipeline = Compose(adapt_test_pipeline(tiny_cfg.test_dataloader.dataset.pipeline))
    video = sorted(glob.glob(osp.join(synthetic_root, 'videos', '*.mp4')))[0]
    reader = decord.VideoReader(video)
    num_frames = len(reader)
    with open(osp.join(synthetic_root, 'annotations', 'hcstvg_v1_train.json')) as file:
        annotation = json.load(file)[osp.basename(video)]
    assert num_frames == annotation['img_num']
    packed = pipeline(build_inference_data_info(video, 'the red circle'))
    sample = packed['data_samples']
    meta = sample.metainfo
    assert meta['num_frames'] == num_frames and meta['fps'] == 8.0
    assert meta['duration'] == num_frames / 8.0
    assert meta['ori_shape'] == (32, 32) and meta['img_shape'] == (32, 32)
    # the test-mode uniform sampler: segment centres floor((k + 0.5) * L / 4)
    expected = [int(np.floor((k + 0.5) * num_frames / 4)) for k in range(4)]
    assert meta['frame_inds'].tolist() == expected
    np.testing.assert_allclose(meta['frame_times'], np.array(expected) / 8.0)
    assert 'gt_span_frames' not in sample and 'gt_boxes' not in sample
    assert tuple(packed['inputs'].shape) == (4, 3, 32, 32)
    np.testing.assert_array_equal(packed['inputs'].permute(0, 2, 3, 1).numpy(),
                                  reader.get_batch(expected).asnumpy())

    # the same frames as an array (fps given) give the same packed sample
    frames = reader.get_batch(list(range(num_frames))).asnumpy()
    from_array = pipeline(build_inference_data_info(frames, 'the red circle', fps=8.0))
    assert from_array['data_samples'].metainfo['frame_inds'].tolist() == expected
    assert from_array['data_samples'].metainfo['video_path'] == ''
    np.testing.assert_array_equal(from_array['inputs'].numpy(), packed['inputs'].numpy())

    # an image is a one-frame, 1 fps video
    image_path = str(osp.join(synthetic_root, 'image.png'))
    cv2.imwrite(image_path, np.full((20, 30, 3), 90, np.uint8))
    image = pipeline(build_inference_data_info(image_path, 'the grey thing'))
    meta = image['data_samples'].metainfo
    assert meta['task'] == 'rec' and meta['frame_inds'].tolist() == [0]
    assert (meta['num_frames'], meta['fps'], meta['ori_shape']) == (1, 1.0, (20, 30))


def test_the_test_pipeline_is_found_in_a_concatenated_dataset(tiny_cfg):
    from mmengine.config import Config

    from mmstvg.apis import GroundingInferencer
    pipeline = list(tiny_cfg.test_dataloader.dataset.pipeline)
    cfg = Config(dict(test_dataloader=dict(dataset=dict(
        type='ConcatDataset', datasets=[dict(type='A', pipeline=pipeline[:2] + pipeline[-1:]),
                                        dict(type='B', pipeline=pipeline)]))))
    assert [s['type'] for s in GroundingInferencer.test_pipeline_cfg(cfg)] == [
        'GroundingDecordInit', 'UniformSampleFrames', 'PackGroundingInputs']
    with pytest.raises(KeyError, match='test_pipeline'):
        GroundingInferencer.test_pipeline_cfg(Config(dict(model=dict())))
