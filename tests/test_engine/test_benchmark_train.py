"""tools/analysis_tools/benchmark_train.py on a tiny grounder: 2 timed iterations per mode."""
import json
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.runner import Runner
from torch.utils.data import DataLoader

TESTS_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))
REPO_ROOT = osp.dirname(TESTS_DIR)
for path in (osp.join(TESTS_DIR, 'test_models'), osp.join(REPO_ROOT, 'tools', 'analysis_tools')):
    if path not in sys.path:
        sys.path.insert(0, path)

import benchmark_train as bench  # noqa: E402
from models_testing_utils import (TINY_VISION, make_batch, make_sample,  # noqa: E402
                                  tiny_llm_config)

from mmstvg.models.llm_backbones.toy_tokenizer import build_toy_tokenizer  # noqa: E402
from mmstvg.registry import MODELS  # noqa: E402

BATCH_SIZE = 2
EXPECTED_KEYS = {
    'runner_overhead', 'runner_overhead_block_median', 'iters', 'num_params', 'tokens_per_iter', 'device', 'memory_method',
    *(f'{mode}_{key}' for mode in ('runner', 'bare') for key in (
        'samples_per_s', 's_per_iter', 'peak_mem_mb', 'block_s_per_iter',
        'tokens_per_s', 'mfu'))}


def tiny_runner(tmp_path):
    tokenizer_dir = tmp_path / 'tokenizer'
    build_toy_tokenizer().save_pretrained(str(tokenizer_dir))
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='VideoGroundingLLM',
        vision_encoder=dict(type='HFVisionEncoder', vision_config=dict(TINY_VISION),
                            select_layer=-1, pool_size=2, freeze=False),
        projector=dict(type='MLPProjector'),
        llm=dict(type='HFCausalLM', llm_config=tiny_llm_config(len(build_toy_tokenizer())),
                 tokenizer=str(tokenizer_dir)),
        query_interleaver=dict(type='AppendedQueries'),
        space_decoder=dict(type='MLPBoxHead', num_layers=2)))
    samples = [make_sample('stvg', num_sampled=3, span=(5, 15), seed=s) for s in range(4)]
    batch = make_batch(samples)
    dataset = [dict(inputs=frames, data_samples=sample)
               for frames, sample in zip(batch['inputs'], samples)]
    loader = DataLoader(dataset, batch_size=BATCH_SIZE, shuffle=False,
                        collate_fn=pseudo_collate)
    return Runner(
        model=model, work_dir=str(tmp_path / 'work'), train_dataloader=loader,
        train_cfg=dict(by_epoch=False, max_iters=100),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-3),
                           clip_grad=dict(max_norm=1.0)),
        param_scheduler=dict(type='LinearLR', start_factor=0.5, by_epoch=False,
                             begin=0, end=50),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1)),
        default_scope='mmstvg', experiment_name=f'bench_{tmp_path.name}')


def test_benchmark_functions_report_both_modes(tmp_path, capsys):
    runner = tiny_runner(tmp_path)
    bench.prepare_runner(runner)
    batches = bench.fetch_batches(runner, 2)
    assert len(batches) == 2 and all(len(b['inputs']) == BATCH_SIZE for b in batches)
    result = bench.benchmark(runner, batches, iters=2, warmup=1, blocks=2)
    for line in bench.format_report(result):
        print(line)
    print(json.dumps(result))
    last = capsys.readouterr().out.strip().splitlines()[-1]
    parsed = json.loads(last)

    assert set(parsed) == EXPECTED_KEYS
    for mode in ('runner', 'bare'):
        assert parsed[f'{mode}_s_per_iter'] > 0
        assert parsed[f'{mode}_peak_mem_mb'] > 0
        assert len(parsed[f'{mode}_block_s_per_iter']) == 2
        assert all(t > 0 for t in parsed[f'{mode}_block_s_per_iter'])
        # 2 samples per iteration
        assert parsed[f'{mode}_samples_per_s'] * parsed[f'{mode}_s_per_iter'] == \
            pytest.approx(BATCH_SIZE)
        assert parsed[f'{mode}_tokens_per_s'] * parsed[f'{mode}_s_per_iter'] == \
            pytest.approx(parsed['tokens_per_iter'])
        assert parsed[f'{mode}_mfu'] is None  # CPU: no MFU
    assert parsed['runner_overhead'] == pytest.approx(
        parsed['runner_s_per_iter'] / parsed['bare_s_per_iter'] - 1)
    block_ratios = sorted(r / b for r, b in zip(parsed['runner_block_s_per_iter'],
                                                parsed['bare_block_s_per_iter']))
    assert parsed['runner_overhead_block_median'] == pytest.approx(
        (block_ratios[0] + block_ratios[1]) / 2 - 1)
    assert parsed['iters'] == 2 and parsed['device'] == 'cpu'
    assert parsed['num_params'] == sum(p.numel() for p in runner.model.parameters())
    assert parsed['tokens_per_iter'] > 0

    # The runner mode went through the train loop and its hooks: 1 warm-up + 2
    # timed iterations, each logged by the hooks; the bare mode stepped the same
    # torch optimizer 1 + 2 times more: AdamW's step count is 6.
    assert runner.train_loop.iter == 3
    assert len(runner.message_hub.get_scalar('train/loss').data[0]) == 3
    steps = {float(s['step']) for s in runner.optim_wrapper.optimizer.state.values()}
    assert steps == {6.0}


def test_split_iters_and_config_preparation():
    assert bench.split_iters(10, 4) == [3, 3, 2, 2]
    assert bench.split_iters(2, 4) == [1, 1]
    cfg = Config(dict(train_dataloader=dict(batch_size=4, num_workers=2,
                                            persistent_workers=True),
                      val_dataloader=dict(batch_size=4), val_cfg=dict(type='ValLoop'),
                      val_evaluator=dict(type='STVGMetric')))
    prepared = bench.prepare_benchmark_config(cfg, '/tmp/bench_work')
    assert prepared.train_dataloader.num_workers == 0
    assert prepared.train_dataloader.persistent_workers is False
    assert prepared.val_dataloader is None and prepared.val_cfg is None
    assert prepared.work_dir == '/tmp/bench_work'
    assert cfg.train_dataloader.num_workers == 2  # the input config is untouched
    with pytest.raises(KeyError, match='train_dataloader'):
        bench.prepare_benchmark_config(Config(dict(model=dict())), '/tmp/x')


def test_prompt_cost_compares_pipeline_pieces_with_in_model_tokenization(tmp_path):
    """Issue 30: the main-process time on the prompts' ids, with the pieces the
    pipeline's TokenizeGroundingPrompt made and with the model tokenizing."""
    from mmstvg.datasets.transforms import TokenizeGroundingPrompt
    runner = tiny_runner(tmp_path)
    model = runner.model
    cfg = dict(type='VideoGroundingLLM', llm=dict(
        type='HFCausalLM', llm_config=tiny_llm_config(len(build_toy_tokenizer())),
        tokenizer=str(tmp_path / 'tokenizer')), vision_encoder=dict(type='HFVisionEncoder'))
    transform = TokenizeGroundingPrompt(model=cfg)
    samples = [make_sample('stvg', num_sampled=3, seed=s) for s in range(4)]
    packed = [transform(dict(inputs=frames, data_samples=sample))
              for frames, sample in zip(make_batch(samples)['inputs'], samples)]
    batches = [pseudo_collate(packed[:2]), pseudo_collate(packed[2:])]
    result = bench.prompt_cost(model, batches, repeats=2)
    assert result['prompt_pipeline_fraction'] == 1.0
    assert result['prompt_ms_per_batch_in_model'] > 0
    assert result['prompt_ratio_vs_in_model'] == pytest.approx(
        result['prompt_ms_per_batch_pipeline'] / result['prompt_ms_per_batch_in_model'])
    # the batches keep their pieces (the reference ran on copies)
    assert all('prompt_pieces' in s.metainfo for b in batches for s in b['data_samples'])
    assert any(line.startswith('prompt ids in the main process')
               for line in bench.format_report(dict(_report_stub(), **result)))


def _report_stub() -> dict:
    return dict(device='cpu', iters=1, num_params=1, runner_overhead=0.0,
                runner_overhead_block_median=0.0, tokens_per_iter=None,
                memory_method='x', **{f'{mode}_{key}': 1.0 for mode in ('runner', 'bare')
                                      for key in ('samples_per_s', 's_per_iter',
                                                  'peak_mem_mb')},
                **{f'{mode}_{key}': None for mode in ('runner', 'bare')
                   for key in ('tokens_per_s', 'mfu')})
