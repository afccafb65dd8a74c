import pytest
import torch
import torch.nn.functional as F
from transformers import AutoConfig, AutoModel

from mmstvg.models.vision_encoders import HFVisionEncoder, pool_frame_tokens
from mmstvg.registry import MODELS, VISION_ENCODERS
from models_testing_utils import TINY_VISION

TINY_CLIP = dict(TINY_VISION, model_type='clip_vision_model')


def test_pool_frame_tokens_by_hand():
    # a 3 x 4 grid of 1-channel tokens with values 0..11, row-major
    tokens = torch.arange(12, dtype=torch.float32).view(1, 12, 1)
    avg = pool_frame_tokens(tokens, (3, 4), 2, 'avg')
    # windows: [0,1,4,5] [2,3,6,7] [8,9] [10,11] (ceil mode on the last row)
    assert avg.flatten().tolist() == [2.5, 4.5, 8.5, 10.5]
    mx = pool_frame_tokens(tokens, (3, 4), 2, 'max')
    assert mx.flatten().tolist() == [5.0, 7.0, 9.0, 11.0]
    assert pool_frame_tokens(tokens, (3, 4), 1) is tokens
    with pytest.raises(ValueError, match='3x3'):
        pool_frame_tokens(tokens, (3, 3), 2)


def test_siglip_tokens_select_layer_pooling_and_chunks():
    torch.manual_seed(0)
    enc = VISION_ENCODERS.build(dict(type='HFVisionEncoder', vision_config=TINY_VISION,
                                     select_layer=-2, pool_size=1, chunk_size=2))
    frames = torch.randn(5, 3, 32, 32)
    out = enc(frames)
    # SigLIP has no CLS: 16 patches of a 4x4 grid, features of the second last layer
    ref = enc.model(pixel_values=frames, output_hidden_states=True).hidden_states[-2]
    assert out.shape == (5, 16, 32)
    assert torch.allclose(out, ref, atol=1e-5)
    enc.pool_size = 2
    pooled = enc(frames)
    assert pooled.shape == (5, 4, 32) and enc.num_tokens_per_frame(32, 32) == 4
    grid = ref.view(5, 4, 4, 32)
    assert torch.allclose(pooled[:, 0], grid[:, :2, :2].mean((1, 2)), atol=1e-5)
    # a larger frame interpolates position embeddings: 6 x 4 patches pooled to 3 x 2
    assert enc(torch.randn(2, 3, 48, 32)).shape == (2, 6, 32)


def test_clip_drops_cls_and_freezes():
    enc = MODELS.build(dict(type='HFVisionEncoder', vision_config=TINY_CLIP,
                            select_layer=-1, freeze=True))
    frames = torch.randn(2, 3, 32, 32)
    out = enc(frames)
    ref = enc.model(pixel_values=frames, output_hidden_states=True).hidden_states[-1]
    assert ref.shape[1] == 17 and out.shape == (2, 16, 32)
    assert torch.allclose(out, ref[:, 1:], atol=1e-5)
    assert not any(p.requires_grad for p in enc.parameters())
    assert not out.requires_grad
    trainable = HFVisionEncoder(vision_config=TINY_CLIP, freeze=False)
    assert trainable(frames).requires_grad


def test_from_pretrained_round_trip(tmp_path):
    torch.manual_seed(1)
    model = AutoModel.from_config(AutoConfig.for_model(**TINY_VISION))
    model.save_pretrained(str(tmp_path))
    enc = HFVisionEncoder(pretrained_model_name_or_path=str(tmp_path), select_layer=-1)
    frames = torch.randn(3, 3, 32, 32)
    ref = model(pixel_values=frames, output_hidden_states=True).hidden_states[-1]
    assert torch.equal(enc(frames), ref)


def test_bad_configs():
    with pytest.raises(ValueError, match='exactly one'):
        HFVisionEncoder()
    with pytest.raises(ValueError, match='model_type'):
        HFVisionEncoder(vision_config=dict(hidden_size=8))
    enc = HFVisionEncoder(vision_config=TINY_VISION)
    with pytest.raises(ValueError, match=r'\(N, 3, H, W\)'):
        enc(torch.randn(3, 32, 32))
    # a space decoder is not a vision encoder
    with pytest.raises(KeyError):
        VISION_ENCODERS.build(dict(type='MLPBoxHead', hidden_dim=8))


def test_projectors_by_hand():
    torch.manual_seed(0)
    mlp = MODELS.build(dict(type='MLPProjector', in_channels=3, out_channels=4))
    x = torch.randn(2, 5, 3)
    ref = F.linear(F.gelu(F.linear(x, mlp.linear_1.weight, mlp.linear_1.bias)),
                   mlp.linear_2.weight, mlp.linear_2.bias)
    assert torch.allclose(mlp(x), ref)
    lin = MODELS.build(dict(type='LinearProjector', in_channels=3, out_channels=4,
                            bias=False))
    with torch.no_grad():
        lin.linear.weight.copy_(torch.arange(12.).view(4, 3))
    assert lin(torch.tensor([[1., 0., 2.]])).tolist() == [[4., 13., 22., 31.]]
    frozen = MODELS.build(dict(type='MLPProjector', in_channels=3, out_channels=4,
                               freeze=True))
    assert not any(p.requires_grad for p in frozen.parameters())


def test_dual_tower_checkpoint_gives_its_vision_tower(tmp_path):
    from transformers import SiglipConfig, SiglipModel
    torch.manual_seed(2)
    vision = {k: v for k, v in TINY_VISION.items() if k != 'model_type'}
    config = SiglipConfig(vision_config=vision, text_config=dict(
        hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
        vocab_size=50))
    both = SiglipModel(config).eval()
    both.save_pretrained(str(tmp_path))
    enc = HFVisionEncoder(pretrained_model_name_or_path=str(tmp_path), select_layer=-1)
    assert type(enc.model).__name__ == 'SiglipVisionModel'
    frames = torch.randn(2, 3, 32, 32)
    ref = both.vision_model(pixel_values=frames, output_hidden_states=True).hidden_states[-1]
    assert torch.equal(enc(frames), ref)


@pytest.mark.parametrize('select_layer, trainable_layers', [(-1, [0, 1]), (-2, [0]),
                                                             (0, [])])
def test_unused_parameters_are_frozen_so_ddp_sees_every_gradient(select_layer,
                                                                 trainable_layers):
    encoder = HFVisionEncoder(vision_config=dict(TINY_VISION), select_layer=select_layer,
                              freeze=False)
    modules = {name.split('vision_model.')[-1]: module
               for name, module in encoder.model.named_modules()}
    layers = modules['encoder.layers']
    assert [i for i, layer in enumerate(layers)
            if any(p.requires_grad for p in layer.parameters())] == trainable_layers
    assert not any(p.requires_grad
                   for p in modules['post_layernorm'].parameters())
    encoder(torch.rand(2, 3, 32, 32)).sum().backward()
    # Every parameter left trainable received a gradient (none is unused).
    for name, param in encoder.named_parameters():
        if param.requires_grad:
            assert param.grad is not None and param.grad.abs().sum() > 0, name


# ------------------------------------------------------------ LlavaFeaturePooler
def test_feature_pooler_pools_as_llava_next():
    import math

    import torch.nn.functional as F

    from mmstvg.models.vision_encoders import LlavaFeaturePooler
    torch.manual_seed(0)
    tokens = torch.randn(2, 27 * 27, 8)
    grid = tokens.view(2, 27, 27, 8).permute(0, 3, 1, 2)
    expected = {
        'bilinear': F.interpolate(grid, size=[math.ceil(27 / 2)] * 2, mode='bilinear'),
        'average': F.avg_pool2d(grid, 2),  # LLaVA-NeXT's get_2dPool: floor
        'max': F.max_pool2d(grid, 2)}
    for mode, ref in expected.items():
        pooler = LlavaFeaturePooler(mode=mode, stride=2)
        out = pooler(tokens)
        side = 14 if mode == 'bilinear' else 13
        assert out.shape == (2, side * side, 8) == (2, pooler.num_tokens((27, 27)), 8)
        assert torch.equal(out, ref.permute(0, 2, 3, 1).reshape(2, -1, 8))
    # a newline after each pooled row: 14 x 15 tokens a frame
    pooler = LlavaFeaturePooler(newline='grid', embed_dim=8)
    out = pooler(tokens)
    assert out.shape == (2, 14 * 15, 8) and pooler.num_tokens((27, 27)) == 210
    rows = out.view(2, 14, 15, 8)
    assert torch.equal(rows[:, :, 14], pooler.image_newline.expand(2, 14, 8))
    assert torch.equal(rows[:, :, :14].reshape(2, -1, 8), LlavaFeaturePooler()(tokens))
    # non-square grids need their shape; stride 1 keeps the tokens
    with pytest.raises(ValueError, match='not a square grid'):
        LlavaFeaturePooler()(torch.randn(1, 27 * 40, 8))
    assert LlavaFeaturePooler()(torch.randn(1, 27 * 40, 8), (27, 40)).shape == (1, 14 * 20, 8)
    assert torch.equal(LlavaFeaturePooler(stride=1)(tokens), tokens)
    with pytest.raises(ValueError, match='mode'):
        LlavaFeaturePooler(mode='avg')
