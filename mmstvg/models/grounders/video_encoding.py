"""Frames -> visual tokens: vision encoder, projector, then the optional pooler.

A vision encoder with DeepStack features (Qwen3-VL's tower,
``num_deepstack_layers > 0``) also gives them, per sample, for the LLM part
(:func:`encode_video_features`). A vision encoder whose token grids span
several frames (Qwen-VL's temporal patches, ``frames_per_patch > 1``) gets
each video padded to whole patches with copies of its last frame, as Qwen's
video processor pads; one token grid then stands for ``frames_per_patch``
frames (:func:`frames_per_patch`).
"""
from typing import List, NamedTuple, Optional, Sequence, Tuple

import torch
from torch import nn

from mmstvg.structures import GroundingDataSample

__all__ = ['encode_videos', 'encode_video_features', 'VideoFeatures', 'num_real_frames',
           'frames_per_patch', 'pad_to_patches', 'frame_token_grid']


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


def frames_per_patch(vision_encoder: nn.Module) -> int:
    """Frames in one of the encoder's token grids (1 unless it says otherwise)."""
    return int(getattr(vision_encoder, 'frames_per_patch', 1))


def pad_to_patches(frames: torch.Tensor, per_patch: int) -> torch.Tensor:
    """``(T, ...)`` frames padded to a multiple of ``per_patch`` with copies of
    the last frame (transformers' Qwen-VL video processors' rule)."""
    missing = -frames.shape[0] % per_patch
    if missing == 0:
        return frames
    return torch.cat([frames, frames[-1:].expand(missing, *frames.shape[1:])])


def check_frame_sizes(vision_encoder: nn.Module, inputs: torch.Tensor,
                      data_samples: Sequence[GroundingDataSample]) -> None:
    """A dynamic-resolution tower (Qwen-VL) sees each video at its own size:
    frames padded to a larger batch size would become visual tokens."""
    if not getattr(vision_encoder, 'dynamic_resolution', False):
        return
    size = tuple(int(v) for v in inputs.shape[-2:])
    for sample in data_samples:
        shape = sample.metainfo.get('img_shape')
        if shape is not None and tuple(int(v) for v in shape[:2]) != size:
            raise ValueError(
                f"sample {sample.metainfo.get('video_id')!r}: frames of {tuple(shape[:2])} "
                f'in a batch padded to {size}; {type(vision_encoder).__name__} sees every '
                'video at its own size, so a batch holds videos of one size (batch_size=1, '
                'or a dataset whose videos share a size)')


class VideoFeatures(NamedTuple):
    """A batch's visual tokens and, when the tower gives them, DeepStack features."""
    tokens: List[torch.Tensor]  # B tensors (G_b, P, D), one grid a temporal patch
    deepstack: Optional[List[torch.Tensor]]  # B tensors (K, G_b, P, D), or None
    num_frames: Optional[List[int]] = None  # B real frame counts (T_b >= G_b)
    grids: Optional[List[Tuple[int, int]]] = None  # B (rows, cols) token grids, or None


def frame_token_grid(vision_encoder: nn.Module, feature_pooler: Optional[nn.Module],
                     frame_size: Sequence[int]) -> Optional[Tuple[int, int]]:
    """``(rows, cols)`` of the tokens of one ``(H, W)`` frame, row-major, or None.

    Known when the tower says (``token_grid``: Qwen-VL's grid after its 2x2
    merge, each video's own with ``smart_resize``) and no pooler reshapes
    it; None otherwise (a space decoder then reads the grid from the token
    count, LLaVA's square grid with or without row newlines).
    """
    if feature_pooler is not None or not hasattr(vision_encoder, 'token_grid'):
        return None
    rows, cols = vision_encoder.token_grid(int(frame_size[0]), int(frame_size[1]))
    return int(rows), int(cols)


def encode_videos(vision_encoder: nn.Module, projector: nn.Module,
                  feature_pooler: Optional[nn.Module], inputs: torch.Tensor,
                  data_samples: Sequence[GroundingDataSample],
                  dtype: torch.dtype) -> List[torch.Tensor]:
    """Frames -> projected (and pooled) visual tokens, per sample.

    The tokens of :func:`encode_video_features` (its arguments), without
    DeepStack features.

    Returns:
        ``B`` tensors ``(G_b, P, D)``: one token grid a temporal patch
        (``G_b = T_b`` for a tower that encodes each frame alone).
    """
    return encode_video_features(vision_encoder, projector, feature_pooler, inputs,
                                 data_samples, dtype, with_deepstack=False).tokens


def encode_video_features(vision_encoder: nn.Module, projector: nn.Module,
                          feature_pooler: Optional[nn.Module], inputs: torch.Tensor,
                          data_samples: Sequence[GroundingDataSample],
                          dtype: torch.dtype, with_deepstack: bool = True) -> VideoFeatures:
    """Frames -> projected (and pooled) visual tokens and DeepStack features, per sample.

    The real frames of the whole batch go through the parts at once
    (LLaVA-Video's order: project, then pool). DeepStack features are the
    tower's own (its mergers already give the LLM width): they are neither
    projected nor pooled, so a pooler or a projector that changes the width
    is refused with them.

    Args:
        vision_encoder: gives ``(N, P, C)`` per frame; has ``patch_size``
            when a pooler is given; with ``num_deepstack_layers > 0`` it is
            called with ``return_deepstack=True`` and also gives
            ``(K, N, P, C)``.
        projector: ``(N, P, C)`` -> ``(N, P, D)``.
        feature_pooler: called as ``pooler(tokens, (H // patch, W // patch))``;
            None: no pooling.
        inputs: ``(B, T_max, 3, H, W)`` from the data preprocessor.
        data_samples: the batch's samples (their real frame counts).
        dtype: the LLM's dtype, which the tokens are cast to.
        with_deepstack: read the DeepStack features when the tower has them.

    Returns:
        :class:`VideoFeatures` (``deepstack`` None for a tower without them;
        ``grids`` each video's token grid, :func:`frame_token_grid`; every
        video of a dynamic-resolution batch has the frame size of ``inputs``).
    """
    if inputs.dim() != 5:
        raise ValueError(f'inputs must be (B, T, 3, H, W), got {tuple(inputs.shape)}')
    check_frame_sizes(vision_encoder, inputs, data_samples)
    num_frames = [num_real_frames(inputs, s) for s in data_samples]
    per_patch = frames_per_patch(vision_encoder)
    counts = [-(-t // per_patch) for t in num_frames]
    frames = torch.cat([pad_to_patches(inputs[b, :t], per_patch)
                        for b, t in enumerate(num_frames)], dim=0)
    deepstack = None
    if with_deepstack and getattr(vision_encoder, 'num_deepstack_layers', 0) > 0:
        features, deepstack = vision_encoder(frames, return_deepstack=True)
    else:
        features = vision_encoder(frames)
    tokens = projector(features)
    if feature_pooler is not None:
        if deepstack is not None:
            raise ValueError(f'{type(vision_encoder).__name__} gives DeepStack features, '
                             'which cannot be pooled; use feature_pooler=None')
        patch = vision_encoder.patch_size
        tokens = feature_pooler(tokens, (frames.shape[-2] // patch,
                                         frames.shape[-1] // patch))
    tokens = tokens.to(dtype)
    if deepstack is not None:
        if deepstack.shape[-1] != tokens.shape[-1]:
            raise ValueError(f'DeepStack features have {deepstack.shape[-1]} channels but '
                             f'the LLM takes {tokens.shape[-1]}')
        deepstack = list(deepstack.to(dtype).split(counts, dim=1))
    grid = frame_token_grid(vision_encoder, feature_pooler, frames.shape[-2:])
    return VideoFeatures(list(tokens.split(counts, dim=0)), deepstack, num_frames,
                         None if grid is None else [grid] * len(counts))
