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


@pytest.fixture(scope='module')
def llava_ov_dir(tmp_path_factory):
    torch.manual_seed(0)
    config = LlavaOnevisionConfig(
        vision_config=dict(TINY_VISION), text_config=tiny_llm_config(VOCAB),
        vision_feature_layer=-1, vision_feature_select_strategy='full',
        image_token_id=1500, video_token_id=1501)
    path = tmp_path_factory.mktemp('llava_ov')
    LlavaOnevisionForConditionalGeneration(config).save_pretrained(str(path))
    return str(path)


def test_llava_onevision_weights_map_into_the_grounder(llava_ov_dir, toy_tokenizer_dir):
    cfg = dict(
        type='VideoGroundingLLM',
        vision_encoder=dict(type='HFVisionEncoder', vision_config=dict(TINY_VISION),
                            select_layer=-1),
        projector=dict(type='MLPProjector'),
        llm=dict(type='HFCausalLM', llm_config=tiny_llm_config(VOCAB),
                 tokenizer=toy_tokenizer_dir),
        query_interleaver=dict(type='AppendedQueries'),
        space_decoder=dict(type='MLPBoxHead'),
        llava_onevision_path=llava_ov_dir)
    torch.manual_seed(5)
    model = MODELS.build(cfg).eval()
    ref = LlavaOnevisionForConditionalGeneration.from_pretrained(llava_ov_dir).eval()
    pixels = torch.randn(3, 3, 32, 32)
    # the Runner's init_weights() must not overwrite the loaded weights
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.init_weights()
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    with torch.no_grad():
        ref_vision = ref.model.vision_tower(
            pixel_values=pixels, output_hidden_states=True).hidden_states[-1]
        assert torch.equal(model.vision_encoder(pixels), ref_vision)
        # LLaVA-OneVision's 'full' image features = projector(last layer)
        assert torch.allclose(model.projector(model.vision_encoder(pixels)),
                              ref.model.multi_modal_projector(ref_vision), atol=1e-6)
        ids = torch.tensor([[5, 17, 300, 1200, 42]])
        embeds = model.llm.embed_tokens(ids)
        assert torch.equal(embeds, ref.model.language_model.embed_tokens(ids))
        hidden, _ = model.llm(embeds, attention_mask=torch.ones_like(ids))
        ref_hidden = ref.model.language_model(input_ids=ids).last_hidden_state
        assert torch.allclose(hidden, ref_hidden, atol=1e-5)
        assert torch.allclose(model.llm.logits(hidden), ref(input_ids=ids).logits,
                              atol=1e-5)


def test_llava_onevision_mismatched_config_fails_clearly(llava_ov_dir, toy_tokenizer_dir):
    cfg = dict(
        type='VideoGroundingLLM',
        vision_encoder=dict(type='HFVisionEncoder',
                            vision_config=dict(TINY_VISION, num_hidden_layers=3)),
        projector=dict(type='MLPProjector'),
        llm=dict(type='HFCausalLM', llm_config=tiny_llm_config(VOCAB),
                 tokenizer=toy_tokenizer_dir),
        llava_onevision_path=llava_ov_dir)
    with pytest.raises(ValueError, match='vision tower does not match.*layers.2'):
        MODELS.build(cfg)
    cfg['vision_encoder']['vision_config']['num_hidden_layers'] = 2
    cfg['projector'] = dict(type='LinearProjector')
    with pytest.raises(TypeError, match='MLPProjector'):
        MODELS.build(cfg)
