import pytest
import torch

from mmstvg.registry import MODELS
from models_testing_utils import make_sample


def test_normalise_and_pad_numbers():
    pre = MODELS.build(dict(type='GroundingDataPreprocessor', mean=[127.5, 0.0, 10.0],
                            std=[127.5, 2.0, 5.0]))
    a = torch.zeros(2, 3, 4, 5, dtype=torch.uint8)
    a[:, 0] = 255
    a[:, 1] = 4
    a[:, 2] = 20
    b = torch.full((3, 3, 6, 3), 127, dtype=torch.uint8)
    out = pre(dict(inputs=[a, b], data_samples=None))['inputs']
    assert out.shape == (2, 3, 3, 6, 5) and out.dtype == torch.float32
    # sample a: (255 - 127.5) / 127.5 = 1, (4 - 0) / 2 = 2, (20 - 10) / 5 = 2
    assert torch.all(out[0, :2, 0, :4, :5] == 1.0)
    assert torch.all(out[0, :2, 1, :4, :5] == 2.0)
    assert torch.all(out[0, :2, 2, :4, :5] == 2.0)
    # padding: the third frame and the rows / columns beyond 4 x 5 are zeros
    assert torch.all(out[0, 2] == 0) and torch.all(out[0, :, :, 4:] == 0)
    # sample b: (127 - 127.5) / 127.5, (127 - 0) / 2, (127 - 10) / 5 ; cols >= 3 padded
    assert torch.allclose(out[1, :, 0, :, :3], torch.tensor(-0.5 / 127.5))
    assert torch.all(out[1, :, 1, :, :3] == 63.5)
    assert torch.allclose(out[1, :, 2, :, :3], torch.tensor(23.4))
    assert torch.all(out[1, :, :, :, 3:] == 0)


def test_size_divisor_and_batch_shape_meta():
    pre = MODELS.build(dict(type='GroundingDataPreprocessor', pad_size_divisor=8))
    samples = [make_sample(num_sampled=2)]
    data = pre(dict(inputs=[torch.zeros(2, 3, 9, 17, dtype=torch.uint8)],
                    data_samples=samples))
    assert data['inputs'].shape == (1, 2, 3, 16, 24)
    assert data['data_samples'][0].metainfo['batch_input_shape'] == (16, 24)
    # a uint8 zero becomes (0 - 127.5) / 127.5 = -1 inside the image, 0 in the padding
    assert torch.all(data['inputs'][0, :, :, :9, :17] == -1)
    assert torch.all(data['inputs'][0, :, :, 9:] == 0)


def test_bad_input_names_the_sample():
    pre = MODELS.build(dict(type='GroundingDataPreprocessor'))
    sample = make_sample(num_sampled=4, seed=7)
    with pytest.raises(ValueError, match="vid7.*3 frames.*4"):
        pre(dict(inputs=[torch.zeros(3, 3, 8, 8, dtype=torch.uint8)],
                 data_samples=[sample]))
    with pytest.raises(ValueError, match=r'inputs\[0\].*\(T, 3, H, W\)'):
        pre(dict(inputs=[torch.zeros(3, 8, 8, dtype=torch.uint8)], data_samples=None))


def test_equal_frames_are_normalised_once():
    """One video's sentences (issue 31): equal inputs give equal rows, and a batch
    of one video is a view of one normalised copy, not one copy per sentence."""
    pre = MODELS.build(dict(type='GroundingDataPreprocessor', mean=[1.0, 2.0, 3.0],
                            std=[2.0, 2.0, 2.0]))
    gen = torch.Generator().manual_seed(0)
    a = torch.randint(0, 256, (2, 3, 4, 4), generator=gen, dtype=torch.uint8)
    b = torch.randint(0, 256, (2, 3, 4, 4), generator=gen, dtype=torch.uint8)
    reference = torch.stack([(x.float() - torch.tensor([1.0, 2.0, 3.0])[:, None, None]) / 2
                             for x in (a, b, a)])
    mixed = pre(dict(inputs=[a, b, a.clone()], data_samples=None))['inputs']
    assert torch.equal(mixed, reference)
    one_video = pre(dict(inputs=[a, a.clone(), a.clone()], data_samples=None))['inputs']
    assert one_video.shape == (3, 2, 3, 4, 4)
    assert torch.equal(one_video, reference[[0, 0, 0]])
    assert one_video.stride(0) == 0  # a view of one copy
