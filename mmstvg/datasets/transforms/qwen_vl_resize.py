"""Qwen-VL's own video resize (``smart_resize``) as a pipeline transform.

Qwen2.5-VL and Qwen3-VL see every video at its own resolution: each side is
rounded to a multiple of ``factor`` (the tower's patch size times the 2x2
merger: 28 for Qwen2.5-VL, 32 for Qwen3-VL) and the area is kept inside
``[min_pixels, max_pixels]``, the aspect ratio as close as the rounding
allows. The two models count the budget differently:

- Qwen2.5-VL (``pixel_budget='frame'``, transformers' ``Qwen2VLVideoProcessor``):
  ``min_pixels`` / ``max_pixels`` bound one frame.
- Qwen3-VL (``pixel_budget='video'``, ``Qwen3VLVideoProcessor``): they bound
  the frames of the whole video (the frame count rounded to temporal patches
  times the frame area); frames under ``factor`` are first scaled up to it.

The pixels are resized as the processors do: bicubic with antialiasing on the
uint8 frames (``torch.nn.functional.interpolate`` on uint8 is torchvision's
uint8 kernel, so no torchvision is needed). There is no padding: the frame
keeps all its content, stretched by at most half a ``factor`` per side.

Boxes are not touched (``docs/en/conventions.md``: they stay in pixels of the
original frame); ``scale_factor = (w_scale, h_scale)`` maps them to the
resized frame, and a box normalised by the original frame is the same box
normalised by the resized one (the resize maps the whole frame onto the
whole frame), which is what the heads predict.
"""
import json
import math
import os.path as osp
from typing import Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmcv.transforms import BaseTransform

from mmstvg.registry import TRANSFORMS

__all__ = ['QwenVLSmartResize', 'qwen2_5_vl_smart_resize', 'qwen3_vl_smart_resize',
           'resize_frames_bicubic', 'read_video_processor_config']


def _check_ratio(height: int, width: int) -> None:
    if max(height, width) / min(height, width) > 200:
        raise ValueError(f'a {height}x{width} frame: Qwen-VL refuses aspect ratios over 200')


def _fit(height: float, width: float, area: float, budget_scale: float, factor: int,
         min_pixels: int, max_pixels: int) -> Tuple[int, int]:
    """Round to ``factor``, then scale into the budget (``area`` counted by
    ``budget_scale`` frames)."""
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if budget_scale * h_bar * w_bar > max_pixels:
        beta = math.sqrt(area / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif budget_scale * h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / area)
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return int(h_bar), int(w_bar)


def qwen2_5_vl_smart_resize(height: int, width: int, factor: int = 28,
                            min_pixels: int = 128 * 28 * 28,
                            max_pixels: int = 768 * 28 * 28) -> Tuple[int, int]:
    """Qwen2.5-VL's ``(new_height, new_width)`` of a frame (a per-frame budget).

    The defaults are transformers' ``Qwen2VLVideoProcessor`` ones.
    """
    _check_ratio(height, width)
    return _fit(height, width, height * width, 1, factor, min_pixels, max_pixels)


def qwen3_vl_smart_resize(num_frames: int, height: int, width: int, factor: int = 32,
                          min_pixels: int = 128 * 32 * 32,
                          max_pixels: int = 768 * 32 * 32,
                          temporal_patch_size: int = 2) -> Tuple[int, int]:
    """Qwen3-VL's ``(new_height, new_width)`` of a video's frames (a whole-video budget).

    The defaults are transformers' ``Qwen3VLVideoProcessor`` ones (a real
    checkpoint's ``video_preprocessor_config.json`` sets its own).
    """
    if num_frames < temporal_patch_size:
        raise ValueError(f'{num_frames} frames: Qwen3-VL resizes videos of at least '
                         f'{temporal_patch_size} frames (an image is two equal frames)')
    if height < factor or width < factor:
        scale = max(factor / height, factor / width)
        height, width = int(height * scale), int(width * scale)
    _check_ratio(height, width)
    frames = round(num_frames / temporal_patch_size) * temporal_patch_size
    return _fit(height, width, num_frames * height * width, frames, factor, min_pixels,
                max_pixels)


def resize_frames_bicubic(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    """uint8 ``(T, H, W, 3)`` -> uint8 ``(T, height, width, 3)``, bicubic with
    antialiasing (the Qwen-VL video processors' resize, bit for bit)."""
    video = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).contiguous()
    out = F.interpolate(video, size=(height, width), mode='bicubic', align_corners=False,
                        antialias=True)
    return out.permute(0, 2, 3, 1).contiguous().numpy()


def read_video_processor_config(directory: str) -> dict:
    """``factor``, ``min_pixels``, ``max_pixels`` and ``temporal_patch_size`` of
    a checkpoint's video processor (the keys it has).

    Read from the first that exists: ``processor_config.json``'s
    ``video_processor`` (transformers 5's ``save_pretrained``),
    ``video_preprocessor_config.json``, ``preprocessor_config.json`` (hub
    snapshots; a Qwen2.5-VL snapshot's video processor reads the latter).
    """
    config = None
    path = osp.join(directory, 'processor_config.json')
    if osp.exists(path):
        with open(path) as f:
            config = json.load(f).get('video_processor')
    for name in ('video_preprocessor_config.json', 'preprocessor_config.json'):
        path = osp.join(directory, name)
        if config is None and osp.exists(path):
            with open(path) as f:
                config = json.load(f)
    if config is None:
        raise FileNotFoundError(f'{directory}: no video processor configuration '
                                '(processor_config.json, video_preprocessor_config.json or '
                                'preprocessor_config.json) to read the resize budget from')
    size = config.get('size') or {}
    out = dict(min_pixels=size.get('shortest_edge', config.get('min_pixels')),
               max_pixels=size.get('longest_edge', config.get('max_pixels')),
               temporal_patch_size=config.get('temporal_patch_size'))
    if config.get('patch_size') and config.get('merge_size'):
        out['factor'] = int(config['patch_size']) * int(config['merge_size'])
    return {k: int(v) for k, v in out.items() if v is not None}


@TRANSFORMS.register_module()
class QwenVLSmartResize(BaseTransform):
    """Resize a video the way Qwen2.5-VL / Qwen3-VL's video processor does.

    Required keys: ``imgs`` (uint8 ``(T, H, W, 3)``).
    Modified keys: ``imgs``, ``img_shape``. Added: ``scale_factor``
    (``(w_scale, h_scale)``), ``keep_ratio`` (False: the sides are rounded
    separately).

    Args:
        checkpoint: a Qwen-VL checkpoint directory: ``factor``,
            ``min_pixels``, ``max_pixels`` and ``temporal_patch_size`` not
            given are read from its video processor's configuration
            (``video_preprocessor_config.json``, else
            ``preprocessor_config.json``), so the checkpoint's own budget
            holds.
        factor: the sides become multiples of it (the tower's patch size x
            the merger's 2: 28 for Qwen2.5-VL, 32 for Qwen3-VL).
        min_pixels: the least area (a frame's, or the video's with
            ``pixel_budget='video'``).
        max_pixels: the most area, likewise.
        pixel_budget: ``'frame'`` (Qwen2.5-VL) or ``'video'`` (Qwen3-VL).
        temporal_patch_size: frames per temporal patch (the ``'video'``
            budget counts the frames rounded to it); None: the checkpoint's,
            else 2.
    """

    def __init__(self, checkpoint: Optional[str] = None, factor: Optional[int] = None,
                 min_pixels: Optional[int] = None, max_pixels: Optional[int] = None,
                 pixel_budget: str = 'frame', temporal_patch_size: Optional[int] = None):
        given = dict(factor=factor, min_pixels=min_pixels, max_pixels=max_pixels,
                     temporal_patch_size=temporal_patch_size)
        if checkpoint is not None:
            for key, value in read_video_processor_config(checkpoint).items():
                if given[key] is None:
                    given[key] = value
        if given['temporal_patch_size'] is None:
            given['temporal_patch_size'] = 2  # both models'
        missing = sorted(k for k, v in given.items() if v is None)
        if missing:
            raise ValueError(f'QwenVLSmartResize needs {missing}: give them or a checkpoint '
                             'whose video processor configuration has them')
        factor, min_pixels, max_pixels, temporal_patch_size = (
            given[k] for k in ('factor', 'min_pixels', 'max_pixels', 'temporal_patch_size'))
        if pixel_budget not in ('frame', 'video'):
            raise ValueError(f"pixel_budget must be 'frame' (Qwen2.5-VL) or 'video' "
                             f'(Qwen3-VL), got {pixel_budget!r}')
        if min_pixels > max_pixels:
            raise ValueError(f'min_pixels {min_pixels} > max_pixels {max_pixels}')
        self.factor = int(factor)
        self.min_pixels = int(min_pixels)
        self.max_pixels = int(max_pixels)
        self.pixel_budget = pixel_budget
        self.temporal_patch_size = int(temporal_patch_size)

    def target_size(self, num_frames: int, height: int, width: int) -> Tuple[int, int]:
        """``(new_height, new_width)`` of ``num_frames`` frames of ``height x width``."""
        if self.pixel_budget == 'frame':
            return qwen2_5_vl_smart_resize(height, width, self.factor, self.min_pixels,
                                           self.max_pixels)
        # an image or a single frame is a temporal patch of equal frames
        frames = max(num_frames, self.temporal_patch_size)
        return qwen3_vl_smart_resize(frames, height, width, self.factor, self.min_pixels,
                                     self.max_pixels, self.temporal_patch_size)

    def transform(self, results: dict) -> dict:
        imgs = results['imgs']
        num, height, width = imgs.shape[:3]
        new_h, new_w = self.target_size(num, height, width)
        if (new_h, new_w) != (height, width):
            results['imgs'] = resize_frames_bicubic(imgs, new_h, new_w)
        results['img_shape'] = (new_h, new_w)
        results['scale_factor'] = (new_w / width, new_h / height)
        results['keep_ratio'] = False
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(factor={self.factor}, min_pixels={self.min_pixels}, '
                f'max_pixels={self.max_pixels}, pixel_budget={self.pixel_budget!r})')
