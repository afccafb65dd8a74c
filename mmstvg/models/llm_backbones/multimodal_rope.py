"""Qwen2.5-VL's and Qwen3-VL's multimodal RoPE positions, from mmstvg's SequenceLayout.

Qwen2.5-VL (:func:`qwen2_5_vl_position_ids`): the rules are transformers' ``Qwen2_5_VLModel.get_rope_index``: a text token
takes the next position on all three axes; a visual token of a frame at time
``s`` (seconds after the first sampled frame) on merged-grid cell ``(r, c)``
takes ``(base + floor(s * tokens_per_second), base + r, base + c)``, with
``base`` the running position where the video's first visual token starts
(one base for the whole video: the temporal index is absolute time); after a
frame's tokens the running position is at least ``base + max(rows, cols)``.
Text inside the video (time stamps, query tokens) follows the text rule, so
with no such tokens the positions are exactly transformers'. Rationale and
the full sequence: ``docs/en/backbones.md``.

Qwen3-VL (:func:`qwen3_vl_position_ids`): transformers'
``Qwen3VLModel.get_rope_index``, where every frame (temporal patch) is a
block of its own: time lives in the ``<t seconds>`` text before each frame,
not in the temporal index (see that function).
"""
import math
from typing import Optional, Sequence

import torch

__all__ = ['qwen2_5_vl_position_ids', 'qwen2_5_vl_temporal_index', 'qwen3_vl_position_ids',
           'batch_position_ids']


def qwen2_5_vl_temporal_index(num_patches: int, second_per_grid: float,
                              tokens_per_second: float) -> torch.Tensor:
    """The temporal RoPE offsets of a video's temporal patches, as transformers
    computes them: ``long(g * tokens_per_second * second_per_grid)`` in float32
    (the processor's ``second_per_grid_ts`` is a float32 tensor)."""
    interval = tokens_per_second * torch.tensor(second_per_grid, dtype=torch.float32)
    return (torch.arange(num_patches) * interval).long()


def qwen2_5_vl_position_ids(frame_token_pos: torch.Tensor, length: int,
                            frame_grid: Sequence[int], frame_times: Sequence[float],
                            tokens_per_second: float,
                            second_per_grid: Optional[float] = None) -> torch.Tensor:
    """The ``(3, length)`` position ids of one sample.

    Args:
        frame_token_pos: ``(T, P)`` each token grid's visual token positions
            (contiguous, row-major on the grid; ``SequenceLayout.frame_token_pos``),
            one grid a frame or a temporal patch.
        length: the sample's number of tokens.
        frame_grid: ``(rows, cols)`` merged token grid, ``rows * cols == P``.
        frame_times: the ``T`` grids' times in seconds.
        tokens_per_second: temporal positions per second (the vision config's).
        second_per_grid: seconds per temporal patch on the processor's uniform
            grid (its ``second_per_grid_ts``): grid ``g`` then takes
            :func:`qwen2_5_vl_temporal_index`, exactly transformers' ids for
            a video of paired frames; None: ``floor((t_g - t_0) *
            tokens_per_second)`` from ``frame_times``.

    Returns:
        ``(3, length)`` long (time, height, width).
    """
    device = frame_token_pos.device
    rows, cols = int(frame_grid[0]), int(frame_grid[1])
    num_frames, num_tokens = frame_token_pos.shape
    if rows * cols != num_tokens:
        raise ValueError(f'a {rows}x{cols} token grid does not hold the {num_tokens} '
                         'visual tokens of a frame')
    if len(frame_times) < num_frames:
        raise ValueError(f'{num_frames} frames but {len(frame_times)} frame times')
    positions = torch.empty(3, length, dtype=torch.long, device=device)
    grid_h = torch.arange(rows, device=device).repeat_interleave(cols)
    grid_w = torch.arange(cols, device=device).repeat(rows)
    cursor, done, base = 0, 0, None
    order = torch.argsort(frame_token_pos[:, 0]).tolist()
    grid_offsets = (None if second_per_grid is None else
                    qwen2_5_vl_temporal_index(num_frames, second_per_grid,
                                              tokens_per_second).tolist())
    for frame in order:
        start = int(frame_token_pos[frame, 0])
        if not torch.equal(frame_token_pos[frame],
                           torch.arange(start, start + num_tokens, device=device)):
            raise ValueError(f'frame {frame}: visual tokens must be contiguous for '
                             'multimodal RoPE')
        gap = start - done  # text between frames (time stamps, queries)
        positions[:, done:start] = torch.arange(cursor, cursor + gap, device=device)
        cursor += gap
        if base is None:
            base = cursor
        if grid_offsets is not None:
            offset = grid_offsets[frame]
        else:
            offset = math.floor((float(frame_times[frame]) - float(frame_times[order[0]])) *
                                tokens_per_second + 1e-6)
        positions[0, start:start + num_tokens] = base + offset
        positions[1, start:start + num_tokens] = base + grid_h
        positions[2, start:start + num_tokens] = base + grid_w
        cursor = max(cursor, base + max(rows, cols))
        done = start + num_tokens
    positions[:, done:] = torch.arange(cursor, cursor + length - done, device=device)
    return positions


def qwen3_vl_position_ids(frame_token_pos: torch.Tensor, length: int,
                          frame_grid: Sequence[int]) -> torch.Tensor:
    """The ``(3, length)`` position ids of one sample, by Qwen3-VL's rule.

    Text (time stamps, query tokens, the prompt) takes the next position on
    all three axes. Each frame's visual tokens form a block of their own: with
    ``p`` the running position where the frame starts, the token on
    merged-grid cell ``(r, c)`` takes ``(p, p + r, p + c)``, and the running
    position continues at ``p + max(rows, cols)``. The temporal index is thus
    the same for all of a frame's tokens and carries no absolute time (unlike
    Qwen2.5-VL's); the frames' times are the ``<t seconds>`` text the
    processor writes before each of them. With the processor's tokens between
    frames and no query tokens, the ids equal transformers' ``get_rope_index``.

    Args:
        frame_token_pos: ``(T, P)`` each frame's visual token positions
            (contiguous, row-major on the grid; ``SequenceLayout.frame_token_pos``).
        length: the sample's number of tokens.
        frame_grid: ``(rows, cols)`` merged token grid, ``rows * cols == P``.

    Returns:
        ``(3, length)`` long (time, height, width).
    """
    device = frame_token_pos.device
    rows, cols = int(frame_grid[0]), int(frame_grid[1])
    num_tokens = frame_token_pos.shape[1]
    if rows * cols != num_tokens:
        raise ValueError(f'a {rows}x{cols} token grid does not hold the {num_tokens} '
                         'visual tokens of a frame')
    positions = torch.empty(3, length, dtype=torch.long, device=device)
    grid = torch.stack([torch.zeros(num_tokens, dtype=torch.long, device=device),
                        torch.arange(rows, device=device).repeat_interleave(cols),
                        torch.arange(cols, device=device).repeat(rows)])
    cursor, done = 0, 0
    for frame in torch.argsort(frame_token_pos[:, 0]).tolist():
        start = int(frame_token_pos[frame, 0])
        if not torch.equal(frame_token_pos[frame],
                           torch.arange(start, start + num_tokens, device=device)):
            raise ValueError(f'frame {frame}: visual tokens must be contiguous for '
                             'multimodal RoPE')
        positions[:, done:start] = torch.arange(cursor, cursor + start - done, device=device)
        cursor += start - done
        positions[:, start:start + num_tokens] = cursor + grid
        cursor += max(rows, cols)
        done = start + num_tokens
    positions[:, done:] = torch.arange(cursor, cursor + length - done, device=device)
    return positions


def batch_position_ids(per_sample: Sequence[torch.Tensor], offsets: Sequence[int],
                       length: int) -> torch.Tensor:
    """Place each sample's ``(3, L_b)`` ids at its offset in a ``(3, B, length)``
    batch (padding gets 0; it is masked)."""
    batch = per_sample[0].new_zeros(3, len(per_sample), length)
    for b, (ids, off) in enumerate(zip(per_sample, offsets)):
        batch[:, b, off:off + ids.shape[1]] = ids
    return batch
