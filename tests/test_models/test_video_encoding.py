import pytest
import torch
from torch import nn

from mmstvg.models.grounders.part_configs import answer_and_prompt_configs, with_default
from mmstvg.models.grounders.video_encoding import encode_videos, num_real_frames
from mmstvg.structures import GroundingDataSample


class _MeanPatchEncoder(nn.Module):
    """Test encoder: 2x2 patches, each the mean of its pixels over the channels."""
    patch_size = 2

    def forward(self, frames):
        n, _, h, w = frames.shape
        patches = frames.mean(1).reshape(n, h // 2, 2, w // 2, 2).mean((2, 4))
        return patches.reshape(n, -1, 1)


def _sample(num_frames=None):
    meta = {} if num_frames is None else dict(frame_inds=list(range(num_frames)))
    return GroundingDataSample(metainfo=dict(meta, video_id='v'))


def test_encode_videos_splits_real_frames_and_pools_after_projecting():
    inputs = torch.arange(2 * 3 * 3 * 4 * 4, dtype=torch.float32).reshape(2, 3, 3, 4, 4)
    projector = nn.Linear(1, 2, bias=False)
    projector.weight.data = torch.tensor([[1.0], [-2.0]])
    calls = []

    def pooler(tokens, grid):
        calls.append(grid)
        return tokens.sum(1, keepdim=True)

    out = encode_videos(_MeanPatchEncoder(), projector, None, inputs,
                        [_sample(2), _sample()], torch.float64)
    assert [t.shape for t in out] == [(2, 4, 2), (3, 4, 2)]
    assert out[0].dtype == torch.float64
    # frame 0 of sample 0: channel means of its 2x2 patches, then x1 and x-2
    first = inputs[0, 0].mean(0).reshape(2, 2, 2, 2).mean((1, 3)).flatten()
    assert torch.equal(out[0][0, :, 0], first.double())
    assert torch.equal(out[0][0, :, 1], -2 * first.double())
    pooled = encode_videos(_MeanPatchEncoder(), projector, pooler, inputs,
                           [_sample(2), _sample(1)], torch.float32)
    assert calls == [(2, 2)] and [t.shape for t in pooled] == [(2, 1, 2), (1, 1, 2)]
    assert torch.allclose(pooled[1][0], out[1][0].float().sum(0))


def test_encode_videos_errors_name_the_shape_and_the_sample():
    with pytest.raises(ValueError, match=r'\(B, T, 3, H, W\), got \(3, 3, 4, 4\)'):
        encode_videos(_MeanPatchEncoder(), nn.Identity(), None, torch.zeros(3, 3, 4, 4),
                      [_sample()], torch.float32)
    assert num_real_frames(torch.zeros(1, 3, 3, 4, 4), _sample()) == 3
    with pytest.raises(ValueError, match="'v' has 4 frame_inds but the batch holds 3"):
        num_real_frames(torch.zeros(1, 3, 3, 4, 4), _sample(4))


def test_part_configs_fill_defaults_and_map_older_keys():
    cfg = dict(type='X', a=1)
    assert with_default(cfg, a=2, b=3) == dict(type='X', a=1, b=3) and cfg == dict(type='X', a=1)
    assert with_default(None, a=1) is None
    prompt = dict(span_precision=2, question='q')
    answer, new_prompt = answer_and_prompt_configs(dict(type='SpanAnswer'), prompt)
    assert answer == dict(type='SpanAnswer', precision=2) and new_prompt == dict(question='q')
    assert prompt == dict(span_precision=2, question='q')
    answer, _ = answer_and_prompt_configs(
        dict(type='SpanAndBoxesAnswer', span=dict(type='SpanAnswer')), dict(span_precision=3))
    assert answer['span'] == dict(type='SpanAnswer', precision=3)
    with pytest.raises(ValueError, match="prompt.answer_times is gone.*SnappedSpanAnswer"):
        answer_and_prompt_configs(dict(type='SpanAnswer'), dict(answer_times='sampled_frames'))
