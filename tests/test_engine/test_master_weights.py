"""bf16 compute with fp32 master weights on the full-size SpaceVLLM config (reduced width).

One AdamW step at the config's LLM rate (2e-5) must change (almost) every
weight element whose gradient is non-zero: with the weights stored in bf16 it
changes about a third of them (the rest round away), which a test below also
shows, so the measurement can fail.
"""
import copy
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

TESTS_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))
REPO_ROOT = osp.dirname(TESTS_DIR)
if osp.join(TESTS_DIR, 'test_models') not in sys.path:
    sys.path.insert(0, osp.join(TESTS_DIR, 'test_models'))

from models_testing_utils import make_batch, make_sample  # noqa: E402

from mmstvg.engine.runner_builder import resolve_strategy  # noqa: E402
from mmstvg.models.llm_backbones.toy_tokenizer import build_toy_tokenizer  # noqa: E402
from mmstvg.registry import MODELS  # noqa: E402
from tests.test_configs.config_overrides import shrink_model  # noqa: E402

CONFIG = osp.join(REPO_ROOT, 'configs', 'spacevllm_hcstvg.py')
LLM_LR = 2e-5


@pytest.fixture(scope='module')
def tokenizer_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp('chat_tokenizer_precision')
    build_toy_tokenizer(chat_template=True).save_pretrained(str(path))
    return str(path)


def full_size_model(tokenizer_dir, **llm_overrides):
    """(model, config) of configs/spacevllm_hcstvg.py at reduced width."""
    cfg = Config.fromfile(CONFIG)
    model_cfg = shrink_model(cfg.model, toy_dir='unused', tokenizer_dir=tokenizer_dir,
                             vocab_size=len(build_toy_tokenizer()))
    model_cfg['llm'].update(llm_overrides)
    init_default_scope('mmstvg')
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.train()
    return model, cfg


def one_step_changed_fraction(model, cfg):
    """One optimizer step of the config's (device-adapted) optim wrapper.

    Returns:
        ``{part: (changed, with_grad)}``: element counts per top-level part
        of the trainable weights whose gradient is non-zero, and of those
        that the step changed.
    """
    optim_cfg = resolve_strategy(copy.deepcopy(cfg)).optim_wrapper
    wrapper = build_optim_wrapper(model, optim_cfg)
    samples = [make_sample('stvg', num_sampled=4, span=(5, 15), seed=s) for s in range(2)]
    data = model.data_preprocessor(make_batch(samples), True)
    with wrapper.optim_context(model):
        losses = model(**data, mode='loss')
    wrapper.backward(sum(losses.values()))
    before = {name: (param.detach().clone(), param.grad.detach() != 0)
              for name, param in model.named_parameters()
              if param.requires_grad and param.grad is not None}
    wrapper.step()
    counts = {}
    for name, param in model.named_parameters():
        if name not in before:
            continue
        value, has_grad = before[name]
        changed = (param.detach() != value) & has_grad
        part = name.split('.')[0]
        done, total = counts.get(part, (0, 0))
        counts[part] = (done + int(changed.sum()), total + int(has_grad.sum()))
    return counts, wrapper


def test_config_autocasts_with_fp32_masters(tokenizer_dir):
    model, cfg = full_size_model(tokenizer_dir)
    # The LLM trains: fp32 master weights, bf16 compute. The frozen tower is
    # stored in bf16 (no master copy needed).
    assert model.llm.dtype == torch.bfloat16
    assert all(p.dtype == torch.float32 for p in model.llm.parameters())
    assert all(p.dtype == torch.bfloat16 and not p.requires_grad
               for p in model.vision_encoder.parameters())
    assert all(p.dtype == torch.float32 for n, p in model.named_parameters()
               if p.requires_grad)
    optim = resolve_strategy(copy.deepcopy(cfg)).optim_wrapper
    # The config asks for AmpOptimWrapper(bfloat16); without a GPU the builder
    # swaps in the CPU autocast wrapper.
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'bfloat16'
    assert optim.type == ('CPUAutocastOptimWrapper' if not torch.cuda.is_available()
                          else 'AmpOptimWrapper')

    # The decoder layers compute in bf16.
    seen = []
    layer = model.llm.decoder.layers[0]
    handle = layer.mlp.down_proj.register_forward_hook(
        lambda module, args, output: seen.append(output.dtype))
    samples = [make_sample('stvg', num_sampled=4, span=(5, 15), seed=0)]
    data = model.data_preprocessor(make_batch(samples), True)
    model(**data, mode='loss')  # no optim context: the LLM's own autocast
    handle.remove()
    assert seen and set(seen) == {torch.bfloat16}


def test_one_adamw_step_changes_every_weight_with_a_gradient(tokenizer_dir):
    model, cfg = full_size_model(tokenizer_dir)
    counts, wrapper = one_step_changed_fraction(model, cfg)
    llm_lrs = {group['lr'] for group in wrapper.optimizer.param_groups
               for p in group['params'] if any(p is q for q in model.llm.parameters())}
    assert len(llm_lrs) == 1 and llm_lrs.pop() == pytest.approx(LLM_LR)
    assert set(counts) == {'llm', 'projector', 'query_interleaver', 'space_decoder',
                           'frame_score_head'}
    changed, total = counts['llm']
    assert total > 10_000
    assert changed / total >= 0.99, counts
    changed = sum(c for c, _ in counts.values())
    total = sum(t for _, t in counts.values())
    assert changed / total >= 0.99, counts


def test_bf16_stored_weights_lose_most_updates(tokenizer_dir):
    """The measurement can fail: bf16 storage (no master copy) at 2e-5."""
    model, cfg = full_size_model(tokenizer_dir, param_dtype='bf16')
    assert all(p.dtype == torch.bfloat16 for p in model.llm.parameters())
    counts, _ = one_step_changed_fraction(model, cfg)
    changed, total = counts['llm']
    assert changed / total < 0.6, counts
