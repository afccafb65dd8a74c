"""Frames paired into temporal patches: padding, times, suffixes, a frame's states."""
import pytest
import torch
from torch import nn

from mmstvg.models.grounders.multimodal_sequence import (SequenceLayout, gather_head_inputs,
                                                         insert_frame_suffixes)
from mmstvg.models.grounders.temporal_patches import temporal_patches
from mmstvg.models.grounders.video_encoding import encode_video_features
from mmstvg.models.query_interleavers.base import InterleavedVideo
from mmstvg.structures import GroundingDataSample


class _PairEncoder(nn.Module):
    """Test encoder: one token a temporal patch of two frames, their pixel sum."""
    frames_per_patch = 2
    num_deepstack_layers = 0

    def forward(self, frames):
        return frames.reshape(-1, 2, *frames.shape[1:]).sum((1, 2, 3, 4))[:, None, None]


def _sample(sampled, **meta):
    return GroundingDataSample(metainfo=dict(meta, video_id='v',
                                             frame_inds=list(range(sampled))))


def test_odd_videos_are_padded_with_their_last_frame():
    inputs = torch.arange(2 * 3, dtype=torch.float32).reshape(2, 3, 1, 1, 1).expand(
        2, 3, 3, 1, 1)
    video = encode_video_features(_PairEncoder(), nn.Identity(), None, inputs,
                                  [_sample(3), _sample(2)], torch.float32)
    assert video.num_frames == [3, 2]
    # sample 0: frames 0 + 1, then frame 2 twice; sample 1: frames 3 + 4
    assert [t.flatten().tolist() for t in video.tokens] == [[3.0, 12.0], [21.0]]


def test_patch_times_and_seconds_per_patch_follow_the_processors():
    # Qwen3-VL: the midpoint of a patch's first and last frame, the last repeated
    patches = temporal_patches(_sample(5, fps=25.0, num_frames=50),
                               [0.08, 0.28, 0.48, 0.68, 0.84], 2)
    assert patches.patch_times == pytest.approx([0.18, 0.58, 0.84])
    assert patches.frame_patch.tolist() == [0, 0, 1, 1, 2]
    # Qwen2.5-VL: second_per_grid = 2 / (5 / 50 frames x 25 fps)
    assert patches.second_per_patch == pytest.approx(0.8)
    assert temporal_patches(_sample(1), [0.0], 2).second_per_patch is None  # an image


def test_suffixes_go_after_each_grid_and_queries_after_them():
    # [q-less prefix][v0 v0][query 0][prefix][v1 v1][query 1], one-dim embeddings
    embeds = torch.tensor([[10.], [1.], [1.], [-1.], [20.], [2.], [2.], [-2.]])
    video = InterleavedVideo(embeds, torch.tensor([[1, 2], [5, 6]]), torch.tensor([0, 4]),
                             torch.tensor([3, 7]))
    out = insert_frame_suffixes(video, [torch.tensor([[99.]]), torch.tensor([[98.]])])
    assert out.embeds.flatten().tolist() == [10, 1, 1, 99, -1, 20, 2, 2, 98, -2]
    assert out.frame_token_index.tolist() == [[1, 2], [6, 7]]
    assert out.frame_prefix_index.tolist() == [0, 5]
    assert out.query_index.tolist() == [4, 9]


def test_each_frame_reads_its_patchs_query_and_tokens():
    hidden = torch.arange(12, dtype=torch.float32).reshape(1, 12, 1)
    layout = SequenceLayout(query_pos=torch.tensor([3, 7]),
                            frame_token_pos=torch.tensor([[1, 2], [5, 6]]),
                            frame_prefix_pos=torch.tensor([1, 5]),
                            sentence_pos=torch.tensor([9, 10]), video_start=1,
                            prompt_len=12, length=12, frame_patch=torch.tensor([0, 0, 1]))
    assert layout.num_frames == 3 and layout.shifted(2).frame_patch is layout.frame_patch
    query, frames, text, mask, _, frame_mask = gather_head_inputs(hidden, [layout])
    assert query.flatten().tolist() == [3, 3, 7]
    assert frames[0, :, :, 0].tolist() == [[1, 2], [1, 2], [5, 6]]
    assert text.flatten().tolist() == [9, 10] and mask.all() and frame_mask.all()
