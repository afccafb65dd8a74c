"""Frames as LLaVA-Video saw them: 16:9 videos at 25 and 29.97 fps.

LLaVA-Video's SigLIP processor resizes every frame to 384 x 384 (bicubic, no
aspect ratio kept, no padding); letterboxing (resize keeping the ratio + pad)
is the option. Both run through HC-STVG v1's real pipeline here, on videos in
the provider's raw format.
"""
import copy

import numpy as np
import pytest
import torch

from mmstvg.registry import DATASETS
from tests.fixtures.hcstvg_videos import write_hcstvg_16x9

LLAVA_VIDEO_RESIZE = dict(type='GroundingResize', scale=(384, 384), keep_ratio=False,
                          interpolation='bicubic')
LETTERBOX = [dict(type='GroundingResize', scale=(384, 384), keep_ratio=True),
             dict(type='GroundingPad', size=(384, 384))]


FULL_SIZE_CONFIGS = ['configs/spacevllm_hcstvg.py', 'configs/spacevllm_hcstvg_v2.py',
                     'configs/spacevllm_vidstg.py', 'configs/spacevllm_unistg.py',
                     'configs/baselines/text_boxes_hcstvg.py',
                     'configs/video_qa/spacevllm_mvbench.py',
                     'configs/video_qa/spacevllm_videomme.py',
                     'configs/video_qa/spacevllm_egoschema.py',
                     'configs/video_qa/spacevllm_tempcompass.py']


def _resizes_and_pads(cfg):
    """Every resize / pad step in the config's loaders (mixtures included)."""
    found = []

    def visit(node):
        if isinstance(node, dict):
            if node.get('type') in ('GroundingResize', 'GroundingPad'):
                found.append(node)
            for value in node.values():
                visit(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                visit(value)

    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        visit(cfg.get(key))
    return found


@pytest.mark.parametrize('path', FULL_SIZE_CONFIGS)
def test_full_size_configs_resize_frames_as_llava_video_by_default(path):
    from mmengine.config import Config
    steps = _resizes_and_pads(Config.fromfile(path))
    assert len(steps) >= 2
    for step in steps:
        assert step == dict(LLAVA_VIDEO_RESIZE), step


def test_scratch_model_keeps_its_letterbox():
    from mmengine.config import Config
    steps = _resizes_and_pads(Config.fromfile('configs/scratch/spacevllm_scratch.py'))
    assert {s['type'] for s in steps} == {'GroundingResize', 'GroundingPad'}
    assert all(s.get('keep_ratio', True) for s in steps if s['type'] == 'GroundingResize')


def test_toy_resizes_as_llava_video_at_its_base_size():
    from mmengine.config import Config
    steps = _resizes_and_pads(Config.fromfile('configs/spacevllm_toy.py'))
    assert steps and all(step == dict(LLAVA_VIDEO_RESIZE, scale=(64, 64)) for step in steps)


def _pipeline(resize):
    """HC-STVG v1's full-size test pipeline (from the config) at 8 frames,
    with its resize (index 4) replaced by ``resize`` when given."""
    from mmengine.config import Config
    pipeline = copy.deepcopy(
        Config.fromfile('configs/spacevllm_hcstvg.py').test_dataloader.dataset.pipeline)
    pipeline[0]['num_threads'] = 1
    pipeline[1]['num_frames'] = 8
    if resize is not None:
        pipeline[4:5] = resize
    return pipeline


def _dataset(root, resize):
    from mmengine.registry import init_default_scope
    init_default_scope('mmstvg')
    return DATASETS.build(dict(type='HCSTVGDataset', data_root=root,
                               ann_file='annos/hcstvg_v1/test.json',
                               data_prefix=dict(video='v1_video'), test_mode=True,
                               pipeline=_pipeline(copy.deepcopy(resize))))


@pytest.mark.parametrize('fps', [25.0, 29.97])
def test_16x9_frames_resized_as_llava_video_and_letterboxed(tmp_path, fps):
    root = str(tmp_path) + '/'
    entries = write_hcstvg_16x9(root, num_train=0, num_test=1, size=(96, 54), fps=fps)['test']
    (name, entry), = entries.items()
    squash = _dataset(root, None)[0]  # the config's default
    boxed = _dataset(root, LETTERBOX)[0]
    for sample in (squash, boxed):
        meta = sample['data_samples'].metainfo
        assert meta['fps'] == pytest.approx(fps)
        assert meta['ori_shape'] == (54, 96)
        np.testing.assert_allclose(meta['frame_times'], np.asarray(meta['frame_inds']) / fps)
        # Boxes stay in pixels of the original 96 x 54 frame, xyxy.
        gt = sample['data_samples']
        inside = gt.gt_box_mask.numpy()
        start = entry['st_frame'] - 1
        for k, frame in enumerate(meta['frame_inds']):
            if inside[k]:
                x, y, w, h = entry['bbox'][frame - start]
                assert gt.gt_boxes[k].tolist() == pytest.approx([x, y, x + w, y + h])
    frames = squash['inputs']
    assert frames.shape == (8, 3, 384, 384)
    assert squash['data_samples'].metainfo['img_shape'] == (384, 384)
    # The whole frame is picture: the background (40) reaches every border.
    assert frames[:, :, -4:].float().mean() > 30 and frames[:, :, :, -4:].float().mean() > 30
    # Letterboxed: 96 x 54 -> 384 x 216, padded at the bottom with zeros:
    # 168 of 384 rows (44 %) are padding, 84 of 196 tokens at 14 x 14.
    letter = boxed['inputs']
    assert boxed['data_samples'].metainfo['img_shape'] == (216, 384)
    assert letter.shape == (8, 3, 384, 384)
    assert torch.all(letter[:, :, 216:] == 0)
    assert letter[:, :, :216].float().mean() > 30
