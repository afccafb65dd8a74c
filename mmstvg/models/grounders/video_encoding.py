"""Frames -> visual tokens: vision encoder, projector, then the optional pooler."""
from typing import List, Optional, Sequence

import torch
from torch import nn

from mmstvg.structures import GroundingDataSample

__all__ = ['encode_videos', 'num_real_frames']


def num_real_frames(inputs: torch.Tensor, sample: GroundingDataSample) -> int:
    """The frames of ``sample`` in the padded batch ``inputs`` (``(B, T_max, ...)``).

    Its ``frame_inds`` count when it has them; else every frame of the batch.
    """
    if 'frame_inds' not in sample.metainfo:
        return inputs.shape[1]
    num = sample.num_sampled_frames
    if num > inputs.shape[1]:
        raise ValueError(f"sample {sample.metainfo.get('video_id')!r} has {num} "
                         f'frame_inds but the batch holds {inputs.shape[1]} frames')
    return num


def encode_videos(vision_encoder: nn.Module, projector: nn.Module,
                  feature_pooler: Optional[nn.Module], inputs: torch.Tensor,
                  data_samples: Sequence[GroundingDataSample],
                  dtype: torch.dtype) -> List[torch.Tensor]:
    """Frames -> projected (and pooled) visual tokens, per sample.

    The real frames of the whole batch go through the parts at once
    (LLaVA-Video's order: project, then pool).

    Args:
        vision_encoder: gives ``(N, P, C)`` per frame; has ``patch_size``
            when a pooler is given.
        projector: ``(N, P, C)`` -> ``(N, P, D)``.
        feature_pooler: called as ``pooler(tokens, (H // patch, W // patch))``;
            None: no pooling.
        inputs: ``(B, T_max, 3, H, W)`` from the data preprocessor.
        data_samples: the batch's samples (their real frame counts).
        dtype: the LLM's dtype, which the tokens are cast to.

    Returns:
        ``B`` tensors ``(T_b, P, D)``.
    """
    if inputs.dim() != 5:
        raise ValueError(f'inputs must be (B, T, 3, H, W), got {tuple(inputs.shape)}')
    counts = [num_real_frames(inputs, s) for s in data_samples]
    frames = torch.cat([inputs[b, :t] for b, t in enumerate(counts)], dim=0)
    tokens = projector(vision_encoder(frames))
    if feature_pooler is not None:
        patch = vision_encoder.patch_size
        tokens = feature_pooler(tokens, (frames.shape[-2] // patch,
                                         frames.shape[-1] // patch))
    tokens = tokens.to(dtype)
    return list(tokens.split(counts, dim=0))
