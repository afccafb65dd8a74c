"""Tiny checkpoints saved with save_pretrained load back through the user's path."""
import importlib.util
import json
import os.path as osp

import pytest
import torch
from transformers import LlavaOnevisionConfig, LlavaOnevisionForConditionalGeneration

from mmstvg.models.llm_backbones import build_toy_tokenizer
from mmstvg.registry import MODELS
from models_testing_utils import TINY_VISION, make_batch, make_sample, tiny_llm_config

VOCAB = len(build_toy_tokenizer())
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _load_tool():
    path = osp.join(REPO, 'tools', 'misc', 'create_toy_pretrained.py')
    spec = importlib.util.spec_from_file_location('create_toy_pretrained', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_grounder_saved_parts_reload_with_identical_outputs(tmp_path, grounder_cfg):
    torch.manual_seed(0)
    first = MODELS.build(grounder_cfg).eval()
    first.vision_encoder.model.save_pretrained(str(tmp_path / 'vision'))
    first.llm.model.save_pretrained(str(tmp_path / 'llm'))
    first.llm.tokenizer.save_pretrained(str(tmp_path / 'tokenizer'))
    cfg = dict(grounder_cfg)
    cfg['vision_encoder'] = dict(
        grounder_cfg['vision_encoder'], vision_config=None,
        pretrained_model_name_or_path=str(tmp_path / 'vision'))
    cfg['llm'] = dict(type='HFCausalLM', pretrained_model_name_or_path=str(tmp_path / 'llm'),
                      tokenizer=str(tmp_path / 'tokenizer'))
    torch.manual_seed(1)  # different random init of the non-HF parts ...
    second = MODELS.build(cfg).eval()
    for name in ('projector', 'query_interleaver', 'space_decoder'):  # ... copied over
        getattr(second, name).load_state_dict(getattr(first, name).state_dict())
    samples = [make_sample('stvg', seed=0), make_sample('rec', seed=1)]
    data = first.data_preprocessor(make_batch(samples), False)
    with torch.no_grad():
        out1 = first(**data, mode='tensor')
        out2 = second(**data, mode='tensor')
        loss1 = first(**data, mode='loss')
        loss2 = second(**data, mode='loss')
    assert torch.equal(out1['hidden_states'], out2['hidden_states'])
    assert torch.equal(out1['pred_boxes'], out2['pred_boxes'])
    assert {k: v.item() for k, v in loss1.items()} == {k: v.item() for k, v in loss2.items()}


def test_create_toy_pretrained_tool(tmp_path, grounder_cfg):
    tool = _load_tool()
    tool.main([str(tmp_path), '--image-size', '32', '--llm-hidden', '64',
               '--chat-template'])
    info = json.load(open(tmp_path / 'toy_pretrained.json'))
    assert info['tokens_per_frame'] == 16 and info['vocab_size'] > 1000
    cfg = dict(grounder_cfg)
    cfg['vision_encoder'] = dict(type='HFVisionEncoder', pool_size=2,
                                 pretrained_model_name_or_path=info['paths']['vision'])
    cfg['llm'] = dict(type='HFCausalLM', pretrained_model_name_or_path=info['paths']['llm'],
                      tokenizer=info['paths']['tokenizer'])
    model = MODELS.build(cfg)
    assert model.llm.hidden_size == 64 and model.llm.tokenizer.chat_template
    ids = model.llm.tokenizer('from 3.2 to 7.9', add_special_tokens=False)['input_ids']
    assert model.llm.tokenizer.convert_ids_to_tokens(ids) == ['from', '3.2', 'to', '7.9']
    assert model.vision_encoder.num_tokens_per_frame(32, 32) == 4
    data = model.data_preprocessor(make_batch([make_sample()]), True)
    losses = model(**data, mode='loss')
    assert all(torch.isfinite(v) for v in losses.values())
    # the same seed writes the same weights
    tool.main([str(tmp_path / 'again'), '--image-size', '32', '--llm-hidden', '64'])
    from safetensors.torch import load_file
    a = load_file(osp.join(info['paths']['llm'], 'model.safetensors'))
    b = load_file(str(tmp_path / 'again' / 'llm' / 'model.safetensors'))
    assert all(torch.equal(a[k], b[k]) for k in a)


# --------------------------------------------------------------------------------
# LLaVA-OneVision / LLaVA-Video checkpoints in both on-disk layouts, with the
# real Qwen2 tokenizer saved alongside (as on the hub).
from safetensors import safe_open  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402

from mmstvg.models.utils.llava_checkpoints import LlavaCheckpoint  # noqa: E402
from mmstvg.testing.llava_checkpoints import (TINY_SIGLIP,  # noqa: E402
                                              llava_qwen_video_features,
                                              write_llava_onevision_checkpoint,
                                              write_llava_qwen_checkpoint)

FRAMES = 3


@pytest.fixture(scope='module')
def llava_hf_dir(tmp_path_factory, qwen2_tokenizer_dir):
    path = str(tmp_path_factory.mktemp('llava_onevision_hf'))
    return write_llava_onevision_checkpoint(path, tokenizer_dir=qwen2_tokenizer_dir)


@pytest.fixture(scope='module')
def llava_qwen_dir(tmp_path_factory, qwen2_tokenizer_dir):
    path = str(tmp_path_factory.mktemp('llava_qwen'))
    return write_llava_qwen_checkpoint(path, tokenizer_dir=qwen2_tokenizer_dir, seed=1)


def _grounder_cfg(path, **llm):
    # Deliberately "wrong" tower / LLM settings: the checkpoint's configs replace them.
    return dict(
        type='VideoGroundingLLM',
        vision_encoder=dict(type='HFVisionEncoder', pretrained_model_name_or_path='unused',
                            select_layer=-2, pool_size=2, freeze=True),
        projector=dict(type='MLPProjector'),
        llm=dict(type='HFCausalLM', pretrained_model_name_or_path='unused', **llm),
        query_interleaver=dict(type='AppendedQueries'),
        space_decoder=dict(type='MLPBoxHead', num_layers=2),
        llava_onevision_path=path)


def _grounder_tensor(model, ckpt, key):
    part, name = ckpt.destination(key)
    if part == 'lm_head':
        return model.llm.hf_model.get_output_embeddings().weight
    if part == 'newline':
        return model.feature_pooler.image_newline
    module = dict(vision=model.vision_encoder.model, projector=model.projector,
                  decoder=model.llm.decoder)[part]
    state = module.state_dict()
    if part == 'vision' and name not in state:  # transformers 5: no vision_model level
        name = name[len('vision_model.'):]
    return state[name]


def _tower_layers(model):
    return len(dict(model.vision_encoder.model.named_modules())['encoder.layers'])


def _assert_every_tensor_equals_the_files(model, path):
    ckpt = LlavaCheckpoint(path)
    checked = 0
    for key, tensor in ckpt.tensors():
        if ckpt.destination(key)[0] == 'newline' and model.feature_pooler.newline is None:
            continue
        ours = _grounder_tensor(model, ckpt, key)
        assert torch.equal(ours[:tensor.shape[0]], tensor), key
        checked += 1
    return checked


def test_llava_hf_layout_reproduces_transformers_video_features(llava_hf_dir):
    from transformers import LlavaOnevisionForConditionalGeneration
    torch.manual_seed(3)
    model = MODELS.build(_grounder_cfg(llava_hf_dir)).eval()
    assert _tower_layers(model) == 2
    assert model.vision_encoder.select_layer == -1 and model.vision_encoder.pool_size == 1
    assert model.llm.tokenizer('Hello world').input_ids == [9707, 1879]
    pooler = model.feature_pooler
    assert (pooler.mode, pooler.stride, pooler.newline) == ('bilinear', 2, None)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.init_weights()  # the Runner's call must keep the loaded weights
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert _assert_every_tensor_equals_the_files(model, llava_hf_dir) > 30

    ref = LlavaOnevisionForConditionalGeneration.from_pretrained(llava_hf_dir).eval()
    frames = torch.randn(FRAMES, 3, 56, 56)
    with torch.no_grad():
        expected = ref.get_video_features(pixel_values_videos=frames[None]).pooler_output
        ours = model.feature_pooler(model.projector(model.vision_encoder(frames)))
    # transformers appends image_newline once after the whole video.
    assert ours.shape == (FRAMES, 16, 64)  # 7 x 7 patches -> 4 x 4 (ceil), as 27 -> 14
    torch.testing.assert_close(ours.reshape(1, -1, 64), expected[:, :-1], atol=1e-5, rtol=0)
    # And the LLM: same logits as transformers' on text.
    ids = torch.tensor([[9707, 1879, 151644, 872]])
    with torch.no_grad():
        hidden, _ = model.llm(model.llm.embed_tokens(ids), torch.ones_like(ids))
        torch.testing.assert_close(model.llm.logits(hidden), ref(input_ids=ids).logits,
                                   atol=1e-5, rtol=0)


def test_llava_qwen_layout_reproduces_llava_next_video_features(tmp_path, qwen2_tokenizer_dir):
    path = write_llava_qwen_checkpoint(str(tmp_path / 'sharded'), num_shards=3,
                                       tokenizer_dir=qwen2_tokenizer_dir, seed=2)
    model = MODELS.build(_grounder_cfg(path)).eval()
    ckpt = LlavaCheckpoint(path)
    assert ckpt.layout == 'llava_qwen' and len(ckpt.weight_files) == 3
    # so400m's 27 -> 26 layers: here 3 -> 2, read at the last kept one
    assert _tower_layers(model) == 2
    assert model.feature_pooler.newline == 'grid'
    assert _assert_every_tensor_equals_the_files(model, path) > 30
    # the reference reads one file: the same tensors, unsharded
    single = write_llava_qwen_checkpoint(str(tmp_path / 'single'), seed=2)
    frames = torch.randn(FRAMES, 3, 56, 56)
    expected = llava_qwen_video_features(single, frames)
    with torch.no_grad():
        ours = model.feature_pooler(model.projector(model.vision_encoder(frames)), (7, 7))
    assert ours.shape == (FRAMES, 4 * 5, 64)  # 4 rows of 4 tokens + a newline each
    torch.testing.assert_close(ours.reshape(-1, 64), expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize('mode', ['average', 'max'])
def test_llava_qwen_pool_mode_and_stride_come_from_the_config(tmp_path, mode):
    # (written without a tokenizer: the config's tokenizer is used)
    path = write_llava_qwen_checkpoint(str(tmp_path / mode), mm_spatial_pool_mode=mode,
                                       mm_newline_position='frame', seed=4)
    model = MODELS.build(_grounder_cfg(path, tokenizer=_tok_dir[0])).eval()
    frames = torch.randn(2, 3, 56, 56)
    with torch.no_grad():
        ours = model.feature_pooler(model.projector(model.vision_encoder(frames)))
    assert ours.shape == (2, 3 * 3 + 1, 64)  # floor 7 / 2, one newline per frame
    torch.testing.assert_close(ours.reshape(-1, 64), llava_qwen_video_features(path, frames),
                               atol=1e-5, rtol=0)


_tok_dir = []


@pytest.fixture(autouse=True)
def _remember_tokenizer(qwen2_tokenizer_dir):
    _tok_dir[:] = [qwen2_tokenizer_dir]


def test_lora_is_applied_after_loading(llava_qwen_dir):
    lora = dict(r=4, lora_alpha=8, target_modules=['q_proj', 'v_proj'])
    plain = MODELS.build(_grounder_cfg(llava_qwen_dir)).eval()
    model = MODELS.build(_grounder_cfg(llava_qwen_dir, lora=lora)).eval()
    assert hasattr(model.llm.model, 'peft_config')
    base = model.llm.decoder.layers[0].self_attn.q_proj.base_layer.weight
    with safe_open(osp.join(llava_qwen_dir, 'model.safetensors'), 'pt') as f:
        assert torch.equal(base, f.get_tensor('model.layers.0.self_attn.q_proj.weight'))
    trainable = {n for n, p in model.llm.named_parameters() if p.requires_grad}
    assert trainable and all('lora_' in n for n in trainable)
    ids = torch.tensor([[9707, 1879]])
    with torch.no_grad():  # lora_B starts at zero: the loaded model's outputs
        a, _ = model.llm(model.llm.embed_tokens(ids), torch.ones_like(ids))
        b, _ = plain.llm(plain.llm.embed_tokens(ids), torch.ones_like(ids))
    assert torch.equal(a, b)


def test_unknown_layouts_and_missing_keys_fail_naming_the_file(tmp_path, llava_qwen_dir):
    bad = tmp_path / 'bert'
    bad.mkdir()
    (bad / 'config.json').write_text(json.dumps(dict(model_type='bert', hidden_size=8)))
    with pytest.raises(ValueError, match=r'bert.*config.json: unknown checkpoint layout'):
        MODELS.build(_grounder_cfg(str(bad)))
    pickled = tmp_path / 'pickled'
    pickled.mkdir()
    (pickled / 'config.json').write_text(open(osp.join(llava_qwen_dir, 'config.json')).read())
    (pickled / 'pytorch_model.bin').write_bytes(b'')
    with pytest.raises(FileNotFoundError, match='pickled'):
        MODELS.build(_grounder_cfg(str(pickled)))
    missing = tmp_path / 'missing'
    missing.mkdir()
    (missing / 'config.json').write_text(open(osp.join(llava_qwen_dir, 'config.json')).read())
    state = load_file(osp.join(llava_qwen_dir, 'model.safetensors'))
    del state['model.layers.1.mlp.down_proj.weight']
    save_file(state, str(missing / 'model.safetensors'))
    with pytest.raises(KeyError, match=r'missing.*lacks 1 weights.*layers.1.mlp.down_proj'):
        MODELS.build(_grounder_cfg(str(missing), tokenizer=_tok_dir[0]))
    state = load_file(osp.join(llava_qwen_dir, 'model.safetensors'))
    state['model.mm_projector.4.weight'] = torch.zeros(2)
    save_file(state, str(missing / 'model.safetensors'))
    with pytest.raises(KeyError, match=r"'model.mm_projector.4.weight'"):
        MODELS.build(_grounder_cfg(str(missing), tokenizer=_tok_dir[0]))
