"""Batches and normalises the frames of grounding samples."""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor

from mmstvg.registry import MODELS

__all__ = ['GroundingDataPreprocessor']


@MODELS.register_module()
class GroundingDataPreprocessor(BaseDataPreprocessor):
    """uint8 ``(T, 3, H, W)`` frames of each sample -> one normalised float batch.

    Output ``inputs`` is ``(B, T_max, 3, H_max, W_max)``: each sample's frames,
    normalised ``(x - mean) / std`` per channel, zero-padded (after
    normalisation) at the end in time and at the bottom/right in space. A
    sample's real frame count stays ``data_sample.num_sampled_frames``; each
    data sample gets ``batch_input_shape = (H_max, W_max)`` in its metainfo.

    ``mean`` and ``std`` are on the 0-255 scale (OpenMMLab's convention):
    SigLIP's 0.5 / 0.5 on [0, 1] is ``mean=std=[127.5] * 3``; CLIP's is
    ``mean=[122.77, 116.75, 104.09], std=[68.50, 66.63, 70.32]``.

    Args:
        mean: per-channel mean, 0-255 scale.
        std: per-channel std, 0-255 scale.
        pad_size_divisor: pad ``H_max`` / ``W_max`` up to a multiple of it.
    """

    def __init__(self,
                 mean: Sequence[float] = (127.5, 127.5, 127.5),
                 std: Sequence[float] = (127.5, 127.5, 127.5),
                 pad_size_divisor: int = 1):
        super().__init__()
        if len(mean) != 3 or len(std) != 3:
            raise ValueError('mean and std need 3 values (RGB)')
        if any(s <= 0 for s in std):
            raise ValueError(f'std must be positive, got {std}')
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(
            1, 3, 1, 1), persistent=False)
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(
            1, 3, 1, 1), persistent=False)
        self.pad_size_divisor = pad_size_divisor

    def _check(self, index: int, frames: torch.Tensor, data_samples) -> None:
        name = ''
        if data_samples is not None and index < len(data_samples):
            meta = data_samples[index].metainfo
            name = f" (video_id={meta.get('video_id')!r})"
        if not isinstance(frames, torch.Tensor) or frames.dim() != 4 or frames.shape[1] != 3:
            shape = tuple(frames.shape) if isinstance(frames, torch.Tensor) else type(frames)
            raise ValueError(f'inputs[{index}]{name} must be a (T, 3, H, W) tensor, '
                             f'got {shape}')
        if data_samples is not None and 'frame_inds' in data_samples[index].metainfo:
            expected = data_samples[index].num_sampled_frames
            if frames.shape[0] != expected:
                raise ValueError(f'inputs[{index}]{name} has {frames.shape[0]} frames '
                                 f'but its frame_inds has {expected}')

    def forward(self, data: dict, training: bool = False) -> dict:
        """Normalise, pad and stack a batch, and move it to the model's device.

        Args:
            data: ``dict(inputs=[uint8 (T, 3, H, W), ...], data_samples=[...])``.
            training: no batch augmentation; in training, equal inputs are
                not looked for.

        Returns:
            ``dict(inputs=float (B, T_max, 3, H_max, W_max), data_samples=...)``.
        """
        data = self.cast_data(data)
        inputs: Union[List[torch.Tensor], torch.Tensor] = data['inputs']
        data_samples: Optional[list] = data.get('data_samples')
        if isinstance(inputs, torch.Tensor) and inputs.dim() == 5:
            inputs = list(inputs)
        if not isinstance(inputs, (list, tuple)) or len(inputs) == 0:
            raise ValueError('inputs must be a non-empty list of (T, 3, H, W) tensors')
        for index, frames in enumerate(inputs):
            self._check(index, frames, data_samples)
        max_t = max(f.shape[0] for f in inputs)
        max_h = max(f.shape[2] for f in inputs)
        max_w = max(f.shape[3] for f in inputs)
        div = self.pad_size_divisor
        max_h = (max_h + div - 1) // div * div
        max_w = (max_w + div - 1) // div * div
        batch = []
        for index, frames in enumerate(inputs):
            # The sentences of one video (SharedVideoBatchSampler, evaluation
            # only) bring equal frames: normalise them once. Training batches
            # are not compared (no work added to the training step).
            same = None if training else next(
                (batch[j] for j in range(index) if _same_frames(inputs[j], frames)), None)
            if same is not None:
                batch.append(same)
                continue
            frames = frames.to(torch.float32, copy=True).sub_(self.mean).div_(self.std)
            t, _, h, w = frames.shape
            if (t, h, w) != (max_t, max_h, max_w):
                frames = F.pad(frames, (0, max_w - w, 0, max_h - h, 0, 0, 0, max_t - t))
            batch.append(frames)
        if data_samples is not None:
            for sample in data_samples:
                sample.set_metainfo(dict(batch_input_shape=(max_h, max_w)))
        if len(batch) > 1 and all(frames is batch[0] for frames in batch):
            # one video's sentences: a view, not copies of its frames
            return dict(inputs=batch[0][None].expand(len(batch), *batch[0].shape),
                        data_samples=data_samples)
        return dict(inputs=torch.stack(batch), data_samples=data_samples)


def _same_frames(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether two inputs hold the same frames (the same tensor, or equal ones)."""
    return a is b or (a.shape == b.shape and a.dtype == b.dtype and torch.equal(a, b))
