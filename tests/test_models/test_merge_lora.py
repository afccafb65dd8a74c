"""LoRA on the full-size config at reduced width (issue 13 item 7): adapters train,
save and reload exactly, and ``tools/misc/merge_lora.py`` writes a checkpoint the
plain config loads and predicts the same spans and boxes with."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import load_checkpoint

from mmstvg.registry import MODELS
from models_testing_utils import make_batch, make_sample
from tests.test_configs.config_overrides import shrink_model

pytest.importorskip('peft')

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
LORA = dict(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=['q_proj', 'v_proj'])


def _lora_config(chat_tokenizer_dir, tmp_path):
    """configs/spacevllm_hcstvg.py with tiny parts, fp32 and LoRA, dumped to a file."""
    from mmstvg.models.llm_backbones.toy_tokenizer import build_toy_tokenizer
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'spacevllm_hcstvg.py'))
    model = shrink_model(cfg.model, str(tmp_path / 'unused'), chat_tokenizer_dir,
                         len(build_toy_tokenizer()))
    model['llm'].update(dtype='fp32', gradient_checkpointing=False, lora=dict(LORA))
    model['vision_encoder'].update(dtype='fp32')
    model['max_new_tokens'] = 8
    cfg.model = model
    path = str(tmp_path / 'lora_config.py')
    cfg.dump(path)
    return Config.fromfile(path), path


def _predict(model, data):
    model.eval()
    return [(p.pred_text, p.pred_span_seconds.clone(), p.pred_boxes.clone())
            for p in model(**data, mode='predict')]


def test_lora_adapters_save_reload_and_merge(chat_tokenizer_dir, tmp_path):
    from tools.misc.merge_lora import main as merge_main
    cfg, config_path = _lora_config(chat_tokenizer_dir, tmp_path)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    adapters = {n: p for n, p in model.named_parameters() if 'lora_' in n}
    assert adapters and all(p.requires_grad for p in adapters.values())
    base = {n: p for n, p in model.llm.named_parameters() if 'base_layer' in n}
    assert base and not any(p.requires_grad for p in base.values())
    samples = [make_sample('stvg', num_sampled=4), make_sample('stvg', num_sampled=4, seed=1)]
    optim = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.train()
    for _ in range(3):
        data = model.data_preprocessor(make_batch(samples), True)
        losses = model(**data, mode='loss')
        optim.zero_grad()
        sum(losses.values()).backward()
        optim.step()
    # LoRA B starts at zero: after training every adapter's delta is non-zero.
    deltas = [m.lora_B['default'].weight.abs().max().item()
              for n, m in model.llm.named_modules() if hasattr(m, 'lora_B')]
    assert len(deltas) == 2 * 2 and min(deltas) > 0

    ckpt = str(tmp_path / 'iter_3.pth')
    torch.save(dict(meta=dict(), state_dict=model.state_dict()), ckpt)
    torch.manual_seed(1)
    again = MODELS.build(cfg.model)
    load_checkpoint(again, ckpt, map_location='cpu', strict=True)
    reloaded = dict(again.named_parameters())
    for name, param in adapters.items():
        assert torch.equal(reloaded[name], param), name

    data = model.data_preprocessor(make_batch(samples, seed=2), False)
    expected = _predict(model, data)
    merged_path = str(tmp_path / 'merged.pth')
    plain_path = str(tmp_path / 'merged_config.py')
    info = merge_main([config_path, ckpt, merged_path, '--out-config', plain_path])
    assert info['merged_modules'] == 4
    # tensors only: it loads without unpickling objects (as tools/test.py loads it)
    merged_state = torch.load(merged_path, map_location='cpu', weights_only=True)
    assert not any('lora_' in k for k in merged_state['state_dict'])
    plain_cfg = Config.fromfile(plain_path)
    assert 'lora' not in plain_cfg.model.llm
    torch.manual_seed(2)
    plain = MODELS.build(plain_cfg.model)
    assert not any('lora_' in n for n, _ in plain.named_parameters())
    load_checkpoint(plain, merged_path, map_location='cpu', strict=True)
    # The merged q/v weights are the base plus the trained delta.
    name = 'llm.model.model.layers.0.self_attn.q_proj.weight'
    lora_q = model.llm.hf_model.model.layers[0].self_attn.q_proj
    assert not torch.equal(plain.state_dict()[name], lora_q.base_layer.weight)
    got = _predict(plain, data)
    for (text, span, boxes), (text2, span2, boxes2) in zip(expected, got):
        assert text == text2
        torch.testing.assert_close(span2, span)
        torch.testing.assert_close(boxes2, boxes, atol=1e-4, rtol=0)
