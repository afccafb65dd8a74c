"""`--amp` on CPU, gradient accumulation and gradient checkpointing on the tiny grounder."""
import argparse
import copy
import math
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

TESTS_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))
REPO_ROOT = osp.dirname(TESTS_DIR)
for path in (osp.join(TESTS_DIR, 'test_models'), osp.join(REPO_ROOT, 'tools')):
    if path not in sys.path:
        sys.path.insert(0, path)

from models_testing_utils import (TINY_VISION, make_batch, make_sample,  # noqa: E402
                                  tiny_llm_config)
from train import merge_args  # noqa: E402  (tools/train.py)

from mmstvg.models.llm_backbones.toy_tokenizer import build_toy_tokenizer  # noqa: E402
from mmstvg.registry import MODELS  # noqa: E402

LR = 0.1
NUM_LLM_LAYERS = 2  # tiny_llm_config


@pytest.fixture(autouse=True)
def mmstvg_scope():
    """Optim wrappers are looked up in mmstvg's registries (as the Runner does)."""
    init_default_scope('mmstvg')


@pytest.fixture(scope='module')
def tokenizer_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp('toy_tokenizer_engine')
    build_toy_tokenizer().save_pretrained(str(path))
    return str(path)


def tiny_grounder_cfg(tokenizer_dir, gradient_checkpointing=False):
    """The tiny grounder of tests/test_models/conftest.py, vision encoder trainable."""
    vocab = len(build_toy_tokenizer())
    return dict(
        type='VideoGroundingLLM',
        vision_encoder=dict(type='HFVisionEncoder', vision_config=dict(TINY_VISION),
                            select_layer=-1, pool_size=2, chunk_size=3, freeze=False),
        projector=dict(type='MLPProjector'),
        llm=dict(type='HFCausalLM', llm_config=tiny_llm_config(vocab),
                 tokenizer=tokenizer_dir, gradient_checkpointing=gradient_checkpointing),
        query_interleaver=dict(type='AppendedQueries'),
        space_decoder=dict(type='MLPBoxHead', num_layers=2),
        max_new_tokens=4)


def build_model(cfg, seed=0):
    torch.manual_seed(seed)
    model = MODELS.build(cfg)
    model.train()
    return model


def four_samples():
    """Four STVG samples of identical structure (same frame count, sentence length,
    span and number of boxed frames), different boxes and pixels: so the mean loss
    of a batch of 4 is exactly the mean of the two batch-2 means."""
    return [make_sample('stvg', num_sampled=4, num_frames=20, fps=5.0, span=(5, 15),
                        seed=seed) for seed in range(4)]


def params_of(model):
    return {name: p.detach().clone() for name, p in model.named_parameters()
            if p.requires_grad}


def manual_grads(model, batch):
    """Gradients of the summed loss dict for one batch (plain autograd)."""
    model.zero_grad(set_to_none=True)
    data = model.data_preprocessor(batch, True)
    losses = model(**data, mode='loss')
    sum(losses.values()).backward()
    # parameters outside the loss's graph (e.g. an unused final norm) get zeros
    grads = {name: (p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p))
             for name, p in model.named_parameters() if p.requires_grad}
    model.zero_grad(set_to_none=True)
    return grads


# ------------------------------------------------------------ gradient accumulation
def test_accumulating_two_half_batches_equals_one_full_batch(tokenizer_dir):
    cfg = tiny_grounder_cfg(tokenizer_dir)
    samples = four_samples()
    full_batch = make_batch(samples, seed=0)
    halves = [dict(inputs=full_batch['inputs'][:2], data_samples=samples[:2]),
              dict(inputs=full_batch['inputs'][2:], data_samples=samples[2:])]

    reference = build_model(cfg)
    initial = params_of(reference)
    accumulated = copy.deepcopy(reference)
    oracle = copy.deepcopy(reference)

    # 1 x batch 4, plain SGD: theta -= lr * grad(mean loss over 4 samples).
    wrapper = build_optim_wrapper(reference, dict(
        type='OptimWrapper', optimizer=dict(type='SGD', lr=LR)))
    wrapper.initialize_count_status(reference, 0, 1)
    reference.train_step(full_batch, wrapper)
    full_update = {k: v - initial[k] for k, v in params_of(reference).items()}

    # 2 x batch 2 with accumulative_counts=2: one SGD step after the second.
    wrapper = build_optim_wrapper(accumulated, dict(
        type='OptimWrapper', optimizer=dict(type='SGD', lr=LR), accumulative_counts=2))
    wrapper.initialize_count_status(accumulated, 0, 2)
    accumulated.train_step(halves[0], wrapper)
    after_first = params_of(accumulated)
    for name, value in after_first.items():  # no step yet after the first half
        assert torch.equal(value, initial[name]), name
    accumulated.train_step(halves[1], wrapper)
    accumulated_update = {k: v - initial[k] for k, v in params_of(accumulated).items()}

    # By hand: -lr * (g_half0 + g_half1) / 2 from plain autograd.
    grads = [manual_grads(oracle, half) for half in halves]
    moved = 0
    for name, update in full_update.items():
        expected = -LR * (grads[0][name] + grads[1][name]) / 2
        # fp32 sums in a different order: agree to rtol 1e-4 / atol 1e-7.
        torch.testing.assert_close(accumulated_update[name], update, rtol=1e-4, atol=1e-7)
        torch.testing.assert_close(update, expected, rtol=1e-4, atol=1e-7)
        moved += int(update.abs().max() > 1e-6)
    # the update is not trivially zero: most trainable tensors moved
    assert moved > 0.8 * len(full_update)


# ------------------------------------------------------------ gradient checkpointing
def count_layer_runs(model):
    """Count how often the LLM decoder layers' bodies run.

    Without checkpointing: a forward hook on every layer. With it, transformers
    runs each layer's body through ``layer._gradient_checkpointing_func``
    (``torch.utils.checkpoint``), which calls the body again in the backward
    pass: a counting shim around the body sees both runs.
    """
    runs = [0]

    def count(*_):
        runs[0] += 1

    handles = []
    for layer in model.llm.decoder.layers:
        if layer.gradient_checkpointing:
            checkpoint_func = layer._gradient_checkpointing_func

            def counted(body, *args, _checkpoint=checkpoint_func, **kwargs):
                def counted_body(*inputs):
                    count()
                    return body(*inputs)
                return _checkpoint(counted_body, *args, **kwargs)

            layer._gradient_checkpointing_func = counted
        else:
            handles.append(layer.register_forward_hook(count))
    return runs, handles


def test_gradient_checkpointing_gives_the_same_loss_and_gradients(tokenizer_dir):
    plain = build_model(tiny_grounder_cfg(tokenizer_dir))
    ckpt = build_model(tiny_grounder_cfg(tokenizer_dir, gradient_checkpointing=True))
    ckpt.load_state_dict(plain.state_dict())
    assert all(layer.gradient_checkpointing for layer in ckpt.llm.decoder.layers)
    assert not any(layer.gradient_checkpointing for layer in plain.llm.decoder.layers)
    batch = make_batch(four_samples()[:2], seed=1)

    results = []
    for model in (plain, ckpt):
        calls, handles = count_layer_runs(model)
        data = model.data_preprocessor(copy.deepcopy(batch), True)
        losses = model(**data, mode='loss')
        forward_calls = calls[0]
        sum(losses.values()).backward()
        for handle in handles:
            handle.remove()
        grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
        results.append((losses, grads, forward_calls, calls[0]))

    (plain_losses, plain_grads, plain_fwd, plain_total), \
        (ckpt_losses, ckpt_grads, ckpt_fwd, ckpt_total) = results
    # Each decoder layer runs once in the forward pass; with checkpointing it
    # runs a second time in the backward pass (recomputation), without it not.
    assert plain_fwd == ckpt_fwd == NUM_LLM_LAYERS
    assert plain_total == NUM_LLM_LAYERS
    assert ckpt_total == 2 * NUM_LLM_LAYERS
    # Same computation, same order: equal to fp32 rounding (rtol 1e-6 / atol 1e-8).
    assert plain_losses.keys() == ckpt_losses.keys() == {'loss_lm', 'loss_bbox', 'loss_iou'}
    for key in plain_losses:
        torch.testing.assert_close(ckpt_losses[key], plain_losses[key], rtol=1e-6, atol=1e-8)
    assert plain_grads.keys() == ckpt_grads.keys()
    assert any(k.startswith('llm.') for k in plain_grads)
    for name in plain_grads:
        torch.testing.assert_close(ckpt_grads[name], plain_grads[name], rtol=1e-5, atol=1e-8)


# ------------------------------------------------------------ --amp on CPU
def amp_args(amp=True):
    return argparse.Namespace(launcher='none', cfg_options=None, work_dir='unused',
                              amp=amp, resume=None, strategy=None, config='toy.py')


def test_train_amp_flag_builds_a_cpu_bf16_autocast_wrapper():
    cfg = Config(dict(optim_wrapper=dict(type='OptimWrapper',
                                         optimizer=dict(type='AdamW', lr=1e-3),
                                         clip_grad=dict(max_norm=1.0))))
    cfg = merge_args(cfg, amp_args())
    assert cfg.optim_wrapper.dtype == 'bfloat16'
    # No CUDA here: mmengine 0.10.7's AmpOptimWrapper would assert a GPU.
    assert cfg.optim_wrapper.type == 'CPUAutocastOptimWrapper'
    assert 'loss_scale' not in cfg.optim_wrapper
    plain = merge_args(Config(dict(optim_wrapper=dict(
        type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1)))), amp_args(amp=False))
    assert plain.optim_wrapper.type == 'OptimWrapper' and 'dtype' not in plain.optim_wrapper
    bad = merge_args(Config(dict(optim_wrapper=dict(
        type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1), dtype='float16'))),
        amp_args())
    with pytest.raises(ValueError, match='bfloat16 only'):
        build_optim_wrapper(torch.nn.Linear(2, 2), bad.optim_wrapper)


def test_amp_bf16_train_step_on_cpu(tokenizer_dir):
    model = build_model(tiny_grounder_cfg(tokenizer_dir))
    cfg = merge_args(Config(dict(optim_wrapper=dict(
        type='OptimWrapper', optimizer=dict(type='SGD', lr=LR)))), amp_args())
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    wrapper.initialize_count_status(model, 0, 1)
    before = params_of(model)

    linear_dtypes = []
    handle = model.llm.decoder.layers[0].mlp.down_proj.register_forward_hook(
        lambda module, inputs, output: linear_dtypes.append(output.dtype))
    log_vars = model.train_step(make_batch(four_samples()[:2], seed=2), wrapper)
    handle.remove()

    # autocast was on: the LLM's matmuls ran in bf16 ...
    assert linear_dtypes == [torch.bfloat16]
    assert set(log_vars) == {'loss', 'loss_lm', 'loss_bbox', 'loss_iou'}
    assert all(math.isfinite(float(v.detach())) for v in log_vars.values())
    total = float(sum(log_vars[k].detach() for k in ('loss_lm', 'loss_bbox', 'loss_iou')))
    assert float(log_vars['loss'].detach()) == pytest.approx(total, rel=1e-6)
    # ... while the weights stay fp32 master weights and got a finite update.
    after = params_of(model)
    moved = [n for n in after if not torch.equal(after[n], before[n])]
    assert len(moved) > 0.8 * len(after)
    assert all(p.dtype == torch.float32 and torch.isfinite(p).all() for p in after.values())
    # Outside the wrapper's context autocast is off again.
    assert not torch.is_autocast_enabled('cpu')
