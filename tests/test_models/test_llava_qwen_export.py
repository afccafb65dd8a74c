"""A trained base written in lmms-lab's llava_qwen layout loads back, through the path
users load LLaVA-Video-7B-Qwen2 with, into the same model."""
import importlib.util
import json
import os.path as osp

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from mmstvg.models.utils.llava_checkpoints import LlavaCheckpoint
from mmstvg.models.utils.llava_export import export_llava_qwen
from mmstvg.registry import MODELS
from mmstvg.structures import GroundingDataSample
from models_testing_utils import make_batch, tiny_llm_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: A SigLIP at reduced width with so400m's heads, norm eps and activation (the
#: layout keeps no vision config: these are read back as so400m's).
SIGLIP = dict(model_type='siglip_vision_model', hidden_size=32, intermediate_size=64,
              num_hidden_layers=3, num_attention_heads=16, image_size=32, patch_size=8,
              layer_norm_eps=1e-6, hidden_act='gelu_pytorch_tanh', vision_use_head=False)


def _base_cfg(tokenizer_dir, **overrides):
    cfg = dict(
        type='VideoGroundingLLM',
        vision_encoder=dict(type='HFVisionEncoder', vision_config=dict(SIGLIP),
                            select_layer=-2, pool_size=1, freeze=True),
        projector=dict(type='MLPProjector'),
        feature_pooler=dict(type='LlavaFeaturePooler', mode='bilinear', stride=2,
                            newline='grid'),
        llm=dict(type='HFCausalLM', tokenizer=tokenizer_dir,
                 llm_config=tiny_llm_config(151646)),
        query_interleaver=dict(type='NoQueries'),
        answer=dict(type='FreeTextAnswer'),
        prompt=dict(template='qwen_1_5'))
    cfg.update(overrides)
    return cfg


def _samples():
    samples = []
    for k, (questions, answers) in enumerate([(['Describe the video.'], ['A red square.']),
                                              (['What moves?', 'Where?'], ['A disc', 'Up'])]):
        sample = GroundingDataSample()
        inds = np.arange(3)
        sample.set_metainfo(dict(task='caption' if k == 0 else 'open_qa',
                                 sentence=questions[0], questions=questions,
                                 answers=answers, sample_id=f's{k}', video_id=f'v{k}',
                                 num_frames=3, fps=1.0, duration=3.0,
                                 frame_inds=inds, frame_times=inds * 1.0))
        samples.append(sample.check())
    return samples


def _logits(model, data):
    with torch.no_grad():
        out = model(**data, mode='tensor')
        return model.llm.logits(out['hidden_states']), out['attention_mask']


@pytest.fixture(scope='module')
def trained(qwen2_tokenizer_dir):
    torch.manual_seed(0)
    model = MODELS.build(_base_cfg(qwen2_tokenizer_dir))
    data = model.data_preprocessor(make_batch(_samples()), True)
    optim = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(2):  # a trained projector, newline and LLM, not their initial values
        loss = model(**data, mode='loss')['loss_lm']
        optim.zero_grad()
        loss.backward()
        optim.step()
    return model.eval()


def test_exported_base_loads_back_with_the_same_logits(trained, tmp_path,
                                                       qwen2_tokenizer_dir):
    out = export_llava_qwen(trained, str(tmp_path / 'base'))
    ckpt = LlavaCheckpoint(out)
    assert ckpt.layout == 'llava_qwen'
    config = json.load(open(osp.join(out, 'config.json')))
    assert config['architectures'] == ['LlavaQwenForCausalLM']
    assert (config['mm_projector_type'], config['mm_newline_position'],
            config['mm_spatial_pool_mode'], config['mm_spatial_pool_stride'],
            config['mm_vision_select_layer']) == ('mlp2x_gelu', 'grid', 'bilinear', 2, -2)
    assert config['hidden_size'] == 64 and config['vocab_size'] == 151646
    assert osp.isfile(osp.join(out, 'tokenizer.json'))
    keys = set(load_file(osp.join(out, 'model.safetensors')))
    # read at -2 of 3 layers: 2 layers kept, as LLaVA-NeXT keeps 26 of so400m's 27
    prefix = 'model.vision_tower.vision_tower.vision_model.encoder.layers.'
    assert {k[len(prefix):].split('.')[0] for k in keys if k.startswith(prefix)} == {'0', '1'}
    assert {'model.mm_projector.0.weight', 'model.mm_projector.2.bias', 'lm_head.weight',
            'model.image_newline', 'model.embed_tokens.weight'} <= keys

    torch.manual_seed(123)  # other random values everywhere the file does not reach
    loaded = MODELS.build(_base_cfg(
        None, llava_onevision_path=out,
        vision_encoder=dict(type='HFVisionEncoder', pretrained_model_name_or_path='unused',
                            freeze=True),
        llm=dict(type='HFCausalLM', pretrained_model_name_or_path='unused'),
        feature_pooler=None)).eval()
    loaded.init_weights()  # the Runner's call keeps the loaded weights
    # Every tensor of the loaded model was read from the file: it equals the trained one.
    theirs = trained.state_dict()
    for name, tensor in loaded.state_dict().items():
        assert torch.equal(tensor, theirs[name]), name
    assert loaded.feature_pooler.newline == 'grid'
    data = trained.data_preprocessor(make_batch(_samples(), seed=1), False)
    expected, mask = _logits(trained, data)
    got, got_mask = _logits(loaded, data)
    assert torch.equal(mask, got_mask)
    assert (got - expected).abs().max().item() <= 1e-5


def test_export_refuses_what_the_layout_cannot_hold(qwen2_tokenizer_dir, tmp_path):
    torch.manual_seed(0)
    pooled = MODELS.build(_base_cfg(qwen2_tokenizer_dir, feature_pooler=None, vision_encoder=dict(
        type='HFVisionEncoder', vision_config=dict(SIGLIP), select_layer=-1, pool_size=2)))
    with pytest.raises(ValueError, match='pools its features'):
        export_llava_qwen(pooled, str(tmp_path / 'a'))
    heads = MODELS.build(_base_cfg(qwen2_tokenizer_dir, vision_encoder=dict(
        type='HFVisionEncoder', vision_config=dict(SIGLIP, num_attention_heads=2),
        select_layer=-1, pool_size=1)))
    with pytest.raises(ValueError, match='num_attention_heads=2'):
        export_llava_qwen(heads, str(tmp_path / 'b'))


def test_export_tool_reads_a_runner_checkpoint(trained, tmp_path, qwen2_tokenizer_dir):
    from mmengine.config import Config
    path = osp.join(REPO, 'tools', 'model_converters', 'export_llava_qwen.py')
    spec = importlib.util.spec_from_file_location('export_llava_qwen', path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    torch.save(dict(meta={}, state_dict=trained.state_dict()), str(tmp_path / 'iter_2.pth'))
    cfg = Config(dict(model=_base_cfg(qwen2_tokenizer_dir), default_scope='mmstvg'))
    cfg_file = str(tmp_path / 'cfg.py')
    cfg.dump(cfg_file)
    out = tool.main([cfg_file, str(tmp_path / 'iter_2.pth'), str(tmp_path / 'out')])
    written = load_file(osp.join(out, 'model.safetensors'))
    assert torch.equal(written['model.mm_projector.0.weight'],
                       trained.projector.linear_1.weight)
