"""Resize (keeping the aspect ratio), pad and flip all sampled frames at once.

Following ``docs/en/conventions.md``, resize and pad never touch boxes (they
stay in pixels of the original frame; ``img_shape``, ``pad_shape`` and
``scale_factor`` record the geometry); the flip rewrites boxes in original
pixels (``x -> W - x``) and swaps "left"/"right" in the sentence.
"""
import re
from typing import Optional, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from mmstvg.registry import TRANSFORMS

__all__ = ['GroundingResize', 'GroundingPad', 'GroundingRandomFlip', 'swap_left_right']

_INTERPOLATION = dict(
    nearest=cv2.INTER_NEAREST, bilinear=cv2.INTER_LINEAR,
    bicubic=cv2.INTER_CUBIC, area=cv2.INTER_AREA)


@TRANSFORMS.register_module()
class GroundingResize(BaseTransform):
    """Resize every frame to fit ``scale`` keeping the aspect ratio.

    With ``keep_ratio`` the frames are scaled by
    ``min(scale_w / W, scale_h / H)`` (the longer side fits; mmcv's
    ``rescale_size`` rounding: ``int(W * s + 0.5)``); otherwise to exactly
    ``scale``. One ``cv2.resize`` per frame.

    Required keys: ``imgs`` (``(T, H, W, 3)``).
    Modified keys: ``imgs``, ``img_shape``. Added: ``scale_factor``
    (``(w_scale, h_scale)``), ``keep_ratio``.

    Args:
        scale: ``(width, height)`` the frames must fit in.
        keep_ratio: keep the aspect ratio.
        interpolation: ``'nearest' | 'bilinear' | 'bicubic' | 'area'``.
    """

    def __init__(self, scale: Tuple[int, int], keep_ratio: bool = True,
                 interpolation: str = 'bilinear'):
        self.scale = (int(scale[0]), int(scale[1]))
        self.keep_ratio = keep_ratio
        if interpolation not in _INTERPOLATION:
            raise ValueError(f'interpolation must be one of {list(_INTERPOLATION)}')
        self.interpolation = interpolation

    def target_size(self, height: int, width: int) -> Tuple[int, int]:
        """``(new_width, new_height)`` for a frame of ``height x width``."""
        if not self.keep_ratio:
            return self.scale
        ratio = min(self.scale[0] / width, self.scale[1] / height)
        return max(1, int(width * ratio + 0.5)), max(1, int(height * ratio + 0.5))

    def transform(self, results: dict) -> dict:
        imgs = results['imgs']
        height, width = imgs.shape[1:3]
        new_w, new_h = self.target_size(height, width)
        if (new_w, new_h) != (width, height):
            flag = _INTERPOLATION[self.interpolation]
            out = np.empty((len(imgs), new_h, new_w, 3), dtype=imgs.dtype)
            for i, frame in enumerate(imgs):
                cv2.resize(frame, (new_w, new_h), dst=out[i], interpolation=flag)
            results['imgs'] = out
        results['img_shape'] = (new_h, new_w)
        results['scale_factor'] = (new_w / width, new_h / height)
        results['keep_ratio'] = self.keep_ratio
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(scale={self.scale}, keep_ratio='
                f'{self.keep_ratio}, interpolation={self.interpolation})')


@TRANSFORMS.register_module()
class GroundingPad(BaseTransform):
    """Pad every frame at the bottom and right.

    Either to a fixed ``size = (width, height)`` or up to multiples of
    ``size_divisor``. Boxes are untouched (padding is bottom/right, so pixel
    coordinates of the resized image do not move).

    Required keys: ``imgs``. Added: ``pad_shape`` (``(H, W)``).

    Args:
        size: ``(width, height)`` to pad to.
        size_divisor: pad each side up to a multiple of this.
        pad_val: value of the padded pixels.
    """

    def __init__(self, size: Optional[Tuple[int, int]] = None,
                 size_divisor: Optional[int] = None, pad_val: int = 0):
        if (size is None) == (size_divisor is None):
            raise ValueError('give exactly one of size and size_divisor')
        self.size = None if size is None else (int(size[0]), int(size[1]))
        self.size_divisor = size_divisor
        self.pad_val = pad_val

    def transform(self, results: dict) -> dict:
        imgs = results['imgs']
        num, height, width = imgs.shape[:3]
        if self.size is not None:
            pad_w, pad_h = self.size
            if pad_w < width or pad_h < height:
                raise ValueError(f'GroundingPad: frames of {height}x{width} '
                                 f'(HxW) do not fit the pad size {pad_h}x{pad_w}')
        else:
            div = self.size_divisor
            pad_h, pad_w = -(-height // div) * div, -(-width // div) * div
        if (pad_h, pad_w) != (height, width):
            out = np.full((num, pad_h, pad_w, 3), self.pad_val, dtype=imgs.dtype)
            out[:, :height, :width] = imgs
            results['imgs'] = out
        results['pad_shape'] = (pad_h, pad_w)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(size={self.size}, size_divisor='
                f'{self.size_divisor}, pad_val={self.pad_val})')


_LEFT_RIGHT = re.compile(r'\b(left|right)(most|ward|wards|hand|side)?\b',
                         re.IGNORECASE)


def swap_left_right(sentence: str) -> str:
    """Swap the words "left" and "right" (and -most/-ward(s)/-hand/-side
    forms), keeping their case: "Left hand on the right" -> "Right hand on
    the left"."""

    def repl(match: re.Match) -> str:
        word = match.group(1)
        new = 'right' if word.lower() == 'left' else 'left'
        if word.isupper():
            new = new.upper()
        elif word[0].isupper():
            new = new.capitalize()
        return new + (match.group(2) or '')

    return _LEFT_RIGHT.sub(repl, sentence)


def flip_boxes(boxes: np.ndarray, width: Union[int, float]) -> np.ndarray:
    """Horizontally flip xyxy boxes in a frame of ``width``: ``x -> W - x``."""
    flipped = np.array(boxes, dtype=np.float32, copy=True)
    flipped[..., 0] = width - boxes[..., 2]
    flipped[..., 2] = width - boxes[..., 0]
    return flipped


@TRANSFORMS.register_module()
class GroundingRandomFlip(BaseTransform):
    """Flip all frames horizontally with probability ``prob``.

    The frames, the boxes (``gt_boxes`` on masked rows, ``gt_tube_boxes``;
    ``x -> W - x`` in original pixels, ``W`` the original width) and the
    sentence (``left`` <-> ``right``) are flipped together. Must come before
    :class:`GroundingPad` (the padding is at the right).

    Required keys: ``imgs``, ``ori_shape``; optional ``sentence``,
    ``gt_boxes``/``gt_box_mask``, ``gt_tube_boxes``.
    Added keys: ``flip``, ``flip_direction``.

    Args:
        prob: probability of a flip.
    """

    def __init__(self, prob: float = 0.5):
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        self.prob = prob

    def transform(self, results: dict) -> dict:
        if 'pad_shape' in results:
            raise RuntimeError('GroundingRandomFlip must come before GroundingPad')
        flip = bool(np.random.random_sample() < self.prob)
        results['flip'] = flip
        results['flip_direction'] = 'horizontal' if flip else None
        if not flip:
            return results
        results['imgs'] = np.ascontiguousarray(results['imgs'][:, :, ::-1])
        width = results['ori_shape'][1]
        if results.get('gt_boxes') is not None:
            mask = np.asarray(results['gt_box_mask'], dtype=bool)
            boxes = np.array(results['gt_boxes'], dtype=np.float32, copy=True)
            boxes[mask] = flip_boxes(boxes[mask], width)
            results['gt_boxes'] = boxes
        if results.get('gt_tube_boxes') is not None and len(results['gt_tube_boxes']):
            results['gt_tube_boxes'] = flip_boxes(results['gt_tube_boxes'], width)
        if 'sentence' in results:
            results['sentence'] = swap_left_right(results['sentence'])
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(prob={self.prob})'
