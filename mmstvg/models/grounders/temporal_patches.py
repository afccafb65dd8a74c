"""How a sample's sampled frames fill the vision tower's temporal patches.

Qwen2.5-VL's and Qwen3-VL's towers read a video two frames at a time: frames
``2g`` and ``2g + 1`` form temporal patch ``g``, one token grid, and a video of
odd length is padded with a copy of its last frame (transformers'
``Qwen2VLVideoProcessor`` / ``Qwen3VLVideoProcessor``). The LLM's sequence then
holds one token grid, and with interleaved queries one query, per temporal
patch, while the heads and the metrics work per sampled frame.

**A frame's query** (and a frame's visual tokens) are those of the temporal
patch that holds it: the two frames of a patch share one query state and
one token grid, so a frame-level head gives them the same output (e.g. the
same box). This is exact, not an approximation: the tower itself mixes the
two frames into every token of the patch, so nothing in the LLM's states
tells them apart. :attr:`TemporalPatches.frame_patch` maps each sampled frame
to its patch; :func:`~.multimodal_sequence.gather_head_inputs` reads the
states per frame through it, so every head still gets one state per sampled
frame. Rationale and the alternatives: ``docs/en/backbones.md``.

Times, each the base model's own:

- Qwen3-VL writes a ``<t seconds>`` stamp before each patch, ``t`` the
  midpoint of its first and last frame (:attr:`TemporalPatches.patch_times`).
- Qwen2.5-VL puts time in the temporal index of its multimodal RoPE, on the
  grid of ``second_per_grid`` seconds per patch the processor derives from
  the video's frame rate and the sampled frame count
  (:attr:`TemporalPatches.second_per_patch`).
"""
from dataclasses import dataclass
from typing import List, Optional, Sequence

import torch

from mmstvg.structures import GroundingDataSample

__all__ = ['TemporalPatches', 'temporal_patches']


@dataclass
class TemporalPatches:
    """The temporal patches of one sample.

    Attributes:
        frame_patch: ``(T,)`` long, the patch holding each sampled frame.
        patch_times: per patch, the midpoint of its first and last frame's
            times in seconds (a padded patch's last frame is its first).
        second_per_patch: seconds per patch on the processor's uniform grid,
            ``frames_per_patch / (T / total_frames * fps)``; None when the
            sample has no frame rate (an image).
    """
    frame_patch: torch.Tensor
    patch_times: List[float]
    second_per_patch: Optional[float]

    @property
    def num_patches(self) -> int:
        return len(self.patch_times)


def temporal_patches(sample: GroundingDataSample, frame_times: Sequence[float],
                     frames_per_patch: int) -> TemporalPatches:
    """The temporal patches of ``sample`` whose sampled frames are at ``frame_times``.

    Args:
        sample: the data sample (its ``num_frames`` / ``fps`` metainfo, the
            whole video's, give the processor's ``second_per_grid``).
        frame_times: the ``T`` sampled frames' times in seconds.
        frames_per_patch: frames in one patch (1: each frame its own).

    Returns:
        The :class:`TemporalPatches`.
    """
    num = len(frame_times)
    if num == 0:
        raise ValueError('a sample with no frames has no temporal patches')
    times = [float(t) for t in frame_times]
    padded = times + [times[-1]] * (-num % frames_per_patch)
    patch_times = [(padded[g] + padded[g + frames_per_patch - 1]) / 2
                   for g in range(0, len(padded), frames_per_patch)]
    meta = sample.metainfo
    second = None
    if meta.get('fps') and meta.get('num_frames'):
        sampled_fps = num / int(meta['num_frames']) * float(meta['fps'])
        second = frames_per_patch / sampled_fps
    frame_patch = torch.arange(num) // frames_per_patch
    return TemporalPatches(frame_patch, patch_times, second)
