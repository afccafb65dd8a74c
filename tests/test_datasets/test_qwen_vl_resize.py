"""QwenVLSmartResize: transformers' smart_resize rules, its pixels, boxes untouched."""
import itertools
import json

import numpy as np
import pytest
import torch

from mmstvg.datasets.transforms import QwenVLSmartResize
from mmstvg.datasets.transforms.qwen_vl_resize import (qwen2_5_vl_smart_resize,
                                                       qwen3_vl_smart_resize,
                                                       read_video_processor_config,
                                                       resize_frames_bicubic)

SIZES = [(50, 90), (27, 300), (360, 640), (1080, 1920), (28, 28), (33, 61), (720, 405)]


def test_sizes_follow_transformers_smart_resize():
    # transformers' own functions (neither needs torchvision to import)
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize
    from transformers.models.qwen3_vl.video_processing_qwen3_vl import \
        smart_resize as smart_resize_3
    budgets = [(56 * 56, 84 * 84), (128 * 28 * 28, 768 * 28 * 28), (3136, 12845056)]
    for (height, width), (low, high) in itertools.product(SIZES, budgets):
        if height < 28 or width < 28:
            continue  # Qwen2.5-VL's processor refuses frames under its factor
        assert qwen2_5_vl_smart_resize(height, width, 28, low, high) == smart_resize(
            height, width, factor=28, min_pixels=low, max_pixels=high)
    for (height, width), frames, (low, high) in itertools.product(
            SIZES, [2, 7, 8, 64], [(4096, 8 * 64 * 96), (4096, 25165824)]):
        assert qwen3_vl_smart_resize(frames, height, width, 32, low, high) == smart_resize_3(
            frames, height, width, temporal_factor=2, factor=32, min_pixels=low,
            max_pixels=high)


def test_transform_resizes_frames_and_records_the_geometry():
    frames = np.random.default_rng(0).integers(0, 256, (3, 50, 90, 3), dtype=np.uint8)
    boxes = np.array([[10.0, 5.0, 40.0, 30.0]])
    resize = QwenVLSmartResize(factor=28, min_pixels=56 * 56, max_pixels=84 * 84)
    out = resize(dict(imgs=frames, gt_boxes=boxes.copy()))
    assert out['imgs'].shape == (3, 56, 84, 3) and out['imgs'].dtype == np.uint8
    assert out['img_shape'] == (56, 84)
    assert out['scale_factor'] == (84 / 90, 56 / 50)
    assert out['keep_ratio'] is False
    assert np.array_equal(out['gt_boxes'], boxes)  # boxes stay in original pixels
    # Qwen3-VL counts the whole video; 3 frames round to 4 (2 temporal patches)
    video = QwenVLSmartResize(factor=32, min_pixels=32 * 32, max_pixels=4 * 64 * 96,
                              pixel_budget='video')
    assert video(dict(imgs=frames))['img_shape'] == (64, 96)
    assert video.target_size(1, 50, 90) == video.target_size(2, 50, 90)  # an image
    with pytest.raises(ValueError, match="pixel_budget must be 'frame'"):
        QwenVLSmartResize(factor=28, min_pixels=1, max_pixels=2, pixel_budget='clip')
    with pytest.raises(ValueError, match=r"needs \['max_pixels'"):
        QwenVLSmartResize(factor=28, min_pixels=1, temporal_patch_size=2)


def test_budget_is_read_from_the_checkpoint(tmp_path):
    video = dict(size=dict(shortest_edge=3136, longest_edge=7056), patch_size=14,
                 merge_size=2, temporal_patch_size=2)
    (tmp_path / 'processor_config.json').write_text(json.dumps(dict(video_processor=video)))
    assert read_video_processor_config(str(tmp_path)) == dict(
        factor=28, min_pixels=3136, max_pixels=7056, temporal_patch_size=2)
    snapshot = tmp_path / 'snapshot'
    snapshot.mkdir()  # a Qwen2.5-VL hub snapshot: min / max pixels in preprocessor_config
    (snapshot / 'preprocessor_config.json').write_text(json.dumps(dict(
        min_pixels=3136, max_pixels=12845056, patch_size=14, merge_size=2,
        temporal_patch_size=2)))
    resize = QwenVLSmartResize(checkpoint=str(snapshot), max_pixels=5000)
    assert (resize.factor, resize.min_pixels, resize.max_pixels) == (28, 3136, 5000)
    with pytest.raises(FileNotFoundError, match='no video processor configuration'):
        QwenVLSmartResize(checkpoint=str(tmp_path / 'missing'))


def test_pixels_equal_torchvisions_bicubic_resize():
    functional = pytest.importorskip('torchvision.transforms.v2.functional')
    frames = np.random.default_rng(1).integers(0, 256, (2, 50, 90, 3), dtype=np.uint8)
    for size in [(56, 84), (28, 56), (112, 196)]:
        ours = resize_frames_bicubic(frames, *size)
        theirs = functional.resize(torch.from_numpy(frames).permute(0, 3, 1, 2), list(size),
                                   interpolation=functional.InterpolationMode.BICUBIC,
                                   antialias=True)
        assert np.array_equal(ours, theirs.permute(0, 2, 3, 1).numpy()), size
