"""Measure the training step through MMEngine's Runner against a bare PyTorch loop.

Both measurements run in the same process, on the same model object (same
weights), with the same torch optimizer and clipping settings, on the same
pre-fetched batches: the batches are collated once before timing and reused,
so data loading is excluded from both. The two modes alternate in blocks
(runner, bare, bare, runner, ...) so that a load drift on a shared machine
affects both alike.

* runner step: exactly what ``IterBasedTrainLoop.run`` does per iteration,
  ``model.train()`` then ``train_loop.run_iter(batch)``, i.e. the hooks'
  ``before_train_iter``, ``model.train_step(batch, optim_wrapper)`` and the
  hooks' ``after_train_iter`` (timer, logger, param scheduler, checkpoint...).
* bare step: data preprocessor -> ``forward(mode='loss')`` -> sum of the
  losses -> ``backward`` -> ``clip_grad_norm_`` -> ``step`` -> ``zero_grad``
  (autocast and gradient accumulation mirrored when the optim wrapper uses
  them).

Peak memory: on GPU ``torch.cuda.max_memory_allocated`` after
``reset_peak_memory_stats`` per block. On CPU the process's resident-set
high-water mark ``VmHWM`` from ``/proc/self/status``, reset before every block
by writing ``5`` to ``/proc/self/clear_refs`` (Linux >= 4.0); where that file
is not writable, the lifetime ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` is
reported instead (then both modes show the same, cumulative, figure).

The last printed line is JSON with ``runner_overhead`` (runner time / bare
time - 1; the goal is <= 0.10), samples/s and peak memory of both modes, and,
when the model can count its LLM tokens, tokens/s and (on GPU) the MFU
``6 * params * tokens / time / peak_flops``, and the main-process time per
batch spent on the prompts' token ids with the pipeline's
``TokenizeGroundingPrompt`` pieces vs tokenized in the model
(``prompt_ratio_vs_in_model``, :func:`prompt_cost`).

Example:
    python tools/analysis_tools/benchmark_train.py configs/spacevllm_toy.py \
        --iters 20 --warmup 3
"""
import argparse
import contextlib
import copy
import json
import os.path as osp
import resource
import sys
import tempfile
import time
from typing import Callable, Dict, List, Optional

import torch
from torch import nn

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from mmstvg.utils.runtime_patches import apply_runtime_patches  # noqa: E402

# First, before the imports below load mmengine.runner (and DeepSpeed):
# safe checkpoint loading, atomic writes, the message filters.
apply_runtime_patches()

from mmengine.config import Config  # noqa: E402
from mmengine.model import is_model_wrapper  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from mmstvg.engine.runner_builder import build_runner  # noqa: E402
from mmstvg.utils.config_options import ConfigOptionsAction  # noqa: E402

MB = 1024.0 * 1024.0
CLEAR_REFS = '/proc/self/clear_refs'
PROC_STATUS = '/proc/self/status'


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Runner vs bare-PyTorch training speed and peak memory')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--iters', type=int, default=20,
                        help='timed iterations per mode (split into blocks)')
    parser.add_argument('--warmup', type=int, default=3,
                        help='untimed iterations per mode before timing')
    parser.add_argument('--blocks', type=int, default=4,
                        help='number of alternating blocks per mode')
    parser.add_argument('--num-batches', type=int, default=2,
                        help='distinct batches fetched once and cycled')
    parser.add_argument('--peak-tflops', type=float, default=989.0,
                        help='peak dense TFLOP/s of the accelerator for the MFU '
                        '(989: H100 SXM bf16)')
    parser.add_argument('--amp', action='store_true',
                        help='train with tools/train.py\'s --amp optim wrapper')
    parser.add_argument('--work-dir', help='runner work dir (default: a temp dir)')
    parser.add_argument('--cfg-options', nargs='+', action=ConfigOptionsAction,
                        help='override settings of the config, key=value pairs')
    args = parser.parse_args(argv)
    if args.iters < 1 or args.warmup < 0 or args.blocks < 1 or args.num_batches < 1:
        parser.error('--iters, --blocks and --num-batches must be >= 1, '
                     '--warmup >= 0')
    return args


# --------------------------------------------------------------------- set-up
def prepare_benchmark_config(cfg: Config, work_dir: str) -> Config:
    """Adapt a training config for benchmarking.

    The train loop stays as configured; validation and testing are removed
    (they never run here), the train dataloader loads in the main process
    (it is only used to fetch the batches once) and ``max_iters`` is raised
    so that no schedule boundary is reached.

    Args:
        cfg: a full training config; not changed.
        work_dir: the runner's work dir.

    Returns:
        A new config.
    """
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator', 'test_dataloader',
                'test_cfg', 'test_evaluator'):
        cfg[key] = None
    if cfg.get('train_dataloader', None) is None:
        raise KeyError('the config has no train_dataloader to fetch batches from')
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    cfg.train_dataloader.pop('prefetch_factor', None)
    return cfg


def prepare_runner(runner: Runner) -> None:
    """Do what ``Runner.train`` does before ``train_loop.run()``, then start the epoch.

    Builds the train loop, the optim wrapper and the parameter schedulers,
    calls ``before_run``, initialises the weights, loads/resumes, sets the
    optim wrapper's counters and calls ``before_train`` and
    ``before_train_epoch`` like ``IterBasedTrainLoop.run``.

    Args:
        runner: an MMEngine :class:`Runner` (FlexibleRunner is not supported:
            its strategies prepare the model differently).
    """
    if not isinstance(runner, Runner):
        raise TypeError(f'benchmark_train supports mmengine Runner only, got '
                        f'{type(runner).__name__} (a DeepSpeed/FSDP strategy?)')
    runner._train_loop = runner.build_train_loop(runner._train_loop)
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    runner.scale_lr(runner.optim_wrapper, runner.auto_scale_lr)
    if runner.param_schedulers is not None:
        runner.param_schedulers = runner.build_param_scheduler(runner.param_schedulers)
    runner.call_hook('before_run')
    runner._init_model_weights()
    runner.load_or_resume()
    loop = runner.train_loop
    runner.optim_wrapper.initialize_count_status(runner.model, loop.iter,
                                                 loop.max_iters)
    runner.call_hook('before_train')
    runner.call_hook('before_train_epoch')


def fetch_batches(runner: Runner, num_batches: int) -> List[dict]:
    """Collate ``num_batches`` batches from the runner's train dataloader once."""
    batches = []
    for batch in runner.train_loop.dataloader:
        batches.append(batch)
        if len(batches) == num_batches:
            break
    if not batches:
        raise RuntimeError('the train dataloader yielded no batch')
    return batches


def unwrap(model: nn.Module) -> nn.Module:
    return model.module if is_model_wrapper(model) else model


def batch_size_of(batch: dict) -> int:
    """Number of samples of a collated batch (``inputs`` list or batched tensor)."""
    inputs = batch['inputs']
    return len(inputs)


def count_llm_tokens(model: nn.Module, batch: dict) -> Optional[int]:
    """Tokens the LLM processes for one batch (prompt + video + answer), or None.

    Uses the grounder's ``build_sequences`` when it has one; the vision
    encoder's patch tokens are not counted.
    """
    model = unwrap(model)
    if not hasattr(model, 'build_sequences'):
        return None
    with torch.no_grad():
        data = model.data_preprocessor(dict(batch), True)
        embeds, _, _ = model.build_sequences(data['inputs'], data['data_samples'], True)
    return int(sum(e.shape[0] for e in embeds))


# --------------------------------------------------------------------- steps
def make_runner_step(runner: Runner) -> Callable[[dict], None]:
    """One iteration exactly as ``IterBasedTrainLoop.run`` performs it."""
    loop = runner.train_loop

    def step(batch: dict) -> None:
        runner.model.train()
        loop.run_iter(batch)

    return step


def _clip_max_norm(optim_wrapper) -> Optional[dict]:
    clip = getattr(optim_wrapper, 'clip_grad_kwargs', None) or {}
    if not clip:
        return None
    if clip.get('type', 'norm') != 'norm':
        raise ValueError('the bare loop mirrors norm clipping only, got '
                         f'clip_grad={clip}')
    return {k: v for k, v in clip.items() if k != 'type'}


def make_bare_step(runner: Runner) -> Callable[[dict], None]:
    """A bare PyTorch step on the runner's model and torch optimizer.

    preprocess -> forward loss -> sum -> backward -> clip -> step -> zero_grad;
    with the optim wrapper's autocast dtype (``cast_dtype``) and
    ``accumulative_counts`` mirrored.
    """
    model = unwrap(runner.model)
    optim_wrapper = runner.optim_wrapper
    optimizer = optim_wrapper.optimizer
    clip = _clip_max_norm(optim_wrapper)
    params = [p for group in optimizer.param_groups for p in group['params']]
    accumulate = int(getattr(optim_wrapper, '_accumulative_counts', 1))
    cast_dtype = getattr(optim_wrapper, 'cast_dtype', None)
    device_type = next(model.parameters()).device.type
    state = dict(count=0)

    def step(batch: dict) -> None:
        data = model.data_preprocessor(batch, True)
        autocast = (torch.autocast(device_type, dtype=cast_dtype)
                    if cast_dtype is not None else contextlib.nullcontext())
        with autocast:
            losses = model(**data, mode='loss')
        loss = sum(value.mean() for key, value in losses.items() if 'loss' in key)
        (loss / accumulate).backward()
        state['count'] += 1
        if state['count'] % accumulate == 0:
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(params, **clip)
            optimizer.step()
            optimizer.zero_grad()

    return step


# --------------------------------------------------------------------- measuring
class PeakMemoryMeter:
    """Peak memory of a block: CUDA allocator peak, else the reset-able VmHWM."""

    def __init__(self, device: torch.device):
        self.cuda = device.type == 'cuda'
        self.method = ('torch.cuda.max_memory_allocated' if self.cuda else
                       '/proc/self/status VmHWM, reset via /proc/self/clear_refs')
        if not self.cuda and not self._can_reset_rss_peak():
            self.method = 'resource.getrusage ru_maxrss (lifetime peak, not reset)'
            self._resettable = False
        else:
            self._resettable = True

    @staticmethod
    def _can_reset_rss_peak() -> bool:
        try:
            with open(CLEAR_REFS, 'w') as f:
                f.write('5')
            return PeakMemoryMeter._vm_hwm_bytes() is not None
        except OSError:
            return False

    @staticmethod
    def _vm_hwm_bytes() -> Optional[int]:
        try:
            with open(PROC_STATUS) as f:
                for line in f:
                    if line.startswith('VmHWM:'):
                        return int(line.split()[1]) * 1024
        except OSError:
            return None
        return None

    def reset(self) -> None:
        if self.cuda:
            torch.cuda.reset_peak_memory_stats()
        elif self._resettable:
            with open(CLEAR_REFS, 'w') as f:
                f.write('5')

    def peak_bytes(self) -> int:
        if self.cuda:
            return int(torch.cuda.max_memory_allocated())
        if self._resettable:
            return int(self._vm_hwm_bytes())
        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def _synchronize(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def run_block(step: Callable[[dict], None], batches: List[dict], start: int,
              num_iters: int, device: torch.device,
              meter: PeakMemoryMeter) -> Dict[str, float]:
    """Time ``num_iters`` steps cycling through ``batches`` from index ``start``."""
    meter.reset()
    _synchronize(device)
    begin = time.perf_counter()
    samples = 0
    for i in range(num_iters):
        batch = batches[(start + i) % len(batches)]
        step(batch)
        samples += batch_size_of(batch)
    _synchronize(device)
    return dict(seconds=time.perf_counter() - begin, samples=samples,
                peak_bytes=meter.peak_bytes())


def split_iters(iters: int, blocks: int) -> List[int]:
    """Split ``iters`` into ``min(blocks, iters)`` near-equal positive parts."""
    blocks = min(blocks, iters)
    base, extra = divmod(iters, blocks)
    return [base + (1 if i < extra else 0) for i in range(blocks)]


def benchmark(runner: Runner, batches: List[dict], iters: int, warmup: int = 1,
              blocks: int = 2, peak_tflops: float = 989.0) -> dict:
    """Time the runner step and the bare step, alternating blocks.

    Args:
        runner: a runner prepared by :func:`prepare_runner`.
        batches: collated batches, cycled in the same order by both modes.
        iters: timed iterations per mode.
        warmup: untimed iterations per mode first.
        blocks: alternating blocks per mode.
        peak_tflops: accelerator peak for the MFU (used on GPU only).

    Returns:
        The result dict (see :func:`summarize`).
    """
    model = unwrap(runner.model)
    device = next(model.parameters()).device
    meter = PeakMemoryMeter(device)
    steps = dict(runner=make_runner_step(runner), bare=make_bare_step(runner))
    for name in ('runner', 'bare'):
        for i in range(warmup):
            steps[name](batches[i % len(batches)])
    totals = {name: dict(seconds=0.0, samples=0, peak_bytes=0, block_seconds=[])
              for name in steps}
    start = 0
    for index, num in enumerate(split_iters(iters, blocks)):
        order = ('runner', 'bare') if index % 2 == 0 else ('bare', 'runner')
        for name in order:
            block = run_block(steps[name], batches, start, num, device, meter)
            total = totals[name]
            total['seconds'] += block['seconds']
            total['samples'] += block['samples']
            total['peak_bytes'] = max(total['peak_bytes'], block['peak_bytes'])
            total['block_seconds'].append(block['seconds'] / num)
        start += num
    tokens = [count_llm_tokens(model, batch) for batch in batches]
    tokens_per_iter = (None if any(t is None for t in tokens) else
                       sum(tokens[i % len(batches)] for i in range(iters)) / iters)
    num_params = sum(p.numel() for p in model.parameters())
    return summarize(totals, iters, tokens_per_iter, num_params, device, peak_tflops,
                     meter.method)


def prompt_cost(model: nn.Module, batches: List[dict], repeats: int = 5) -> Optional[dict]:
    """Main-process time per batch spent on the prompts' token ids (issue 30).

    ``SequenceBuilder.pieces`` over every sample of ``batches``, as the
    training step calls it: with the pieces the pipeline's
    ``TokenizeGroundingPrompt`` made in the workers (the model checks and
    takes them), and, the reference, on copies without them (the model
    renders and tokenizes each prompt and answer itself). Best of
    ``repeats`` alternating rounds.

    Returns:
        ``prompt_ms_per_batch_pipeline`` / ``_in_model``, their ratio
        ``prompt_ratio_vs_in_model`` and ``prompt_pipeline_fraction`` (the
        samples that came with pieces); None when the model builds no prompt.
    """
    from mmstvg.models.grounders import PROMPT_PIECES_KEY
    builder = getattr(unwrap(model), 'sequence_builder', None)
    if builder is None or not batches:
        return None
    samples = [list(batch['data_samples']) for batch in batches]
    frames = [[int(x.shape[0]) for x in batch['inputs']] for batch in batches]
    bare = []
    for batch in samples:
        bare.append([copy.deepcopy(s) for s in batch])
        for sample in bare[-1]:
            if PROMPT_PIECES_KEY in sample.metainfo:
                delattr(sample, PROMPT_PIECES_KEY)

    def run(batch_samples) -> float:
        start = time.perf_counter()
        for batch, counts in zip(batch_samples, frames):
            for sample, count in zip(batch, counts):
                builder.pieces(sample, count, with_answer=True)
        return (time.perf_counter() - start) / len(batch_samples)

    best = dict(pipeline=float('inf'), in_model=float('inf'))
    for _ in range(repeats):
        best['in_model'] = min(best['in_model'], run(bare))
        best['pipeline'] = min(best['pipeline'], run(samples))
    total = sum(len(batch) for batch in samples)
    piped = sum(PROMPT_PIECES_KEY in s.metainfo for batch in samples for s in batch)
    return dict(prompt_ms_per_batch_pipeline=best['pipeline'] * 1e3,
                prompt_ms_per_batch_in_model=best['in_model'] * 1e3,
                prompt_ratio_vs_in_model=best['pipeline'] / best['in_model'],
                prompt_pipeline_fraction=piped / total)


def summarize(totals: dict, iters: int, tokens_per_iter: Optional[float],
              num_params: int, device: torch.device, peak_tflops: float,
              memory_method: str) -> dict:
    """Turn the block totals into the reported figures.

    Returns:
        ``runner_overhead`` (runner time / bare time - 1),
        ``runner_overhead_block_median`` (median over paired blocks of runner
        time / bare time, minus 1),
        ``{runner,bare}_samples_per_s``, ``{runner,bare}_s_per_iter``,
        ``{runner,bare}_peak_mem_mb``, ``{runner,bare}_block_s_per_iter``,
        ``{runner,bare}_tokens_per_s`` (None when not countable),
        ``{runner,bare}_mfu`` (GPU only, else None), ``iters``,
        ``num_params``, ``tokens_per_iter``, ``device``, ``memory_method``.
    """
    result = dict(runner_overhead=totals['runner']['seconds'] /
                  totals['bare']['seconds'] - 1.0)
    # Blocks of the same index ran back to back: their ratio's median is
    # robust to a load burst that hit one block only.
    paired = sorted(r / b for r, b in zip(totals['runner']['block_seconds'],
                                          totals['bare']['block_seconds']))
    middle = len(paired) // 2
    median = (paired[middle] if len(paired) % 2 else
              (paired[middle - 1] + paired[middle]) / 2)
    result['runner_overhead_block_median'] = median - 1.0
    for name, total in totals.items():
        seconds = total['seconds']
        result[f'{name}_samples_per_s'] = total['samples'] / seconds
        result[f'{name}_s_per_iter'] = seconds / iters
        result[f'{name}_peak_mem_mb'] = total['peak_bytes'] / MB
        result[f'{name}_block_s_per_iter'] = total['block_seconds']
        tokens_per_s = (None if tokens_per_iter is None else
                        tokens_per_iter * iters / seconds)
        result[f'{name}_tokens_per_s'] = tokens_per_s
        result[f'{name}_mfu'] = (
            6.0 * num_params * tokens_per_s / (peak_tflops * 1e12)
            if device.type == 'cuda' and tokens_per_s is not None else None)
    result.update(iters=iters, num_params=num_params, tokens_per_iter=tokens_per_iter,
                  device=str(device), memory_method=memory_method)
    return result


def format_report(result: dict) -> List[str]:
    """Human-readable lines; the caller prints the JSON line last."""
    lines = [f"device: {result['device']}, params: {result['num_params']:,}, "
             f"timed iters per mode: {result['iters']}",
             f"peak memory: {result['memory_method']}"]
    for name in ('runner', 'bare'):
        line = (f"{name:>6}: {result[f'{name}_samples_per_s']:.3f} samples/s, "
                f"{result[f'{name}_s_per_iter'] * 1000:.1f} ms/iter, peak "
                f"{result[f'{name}_peak_mem_mb']:.1f} MB")
        if result[f'{name}_tokens_per_s'] is not None:
            line += f", {result[f'{name}_tokens_per_s']:.1f} tokens/s"
        if result[f'{name}_mfu'] is not None:
            line += f", MFU {100 * result[f'{name}_mfu']:.2f}%"
        lines.append(line)
    ratio = result['runner_overhead'] + 1.0
    lines.append(f'runner / bare time: {ratio:.4f} (overhead '
                 f"{100 * result['runner_overhead']:+.2f}%, goal <= +10%; median "
                 f"over paired blocks {100 * result['runner_overhead_block_median']:+.2f}%)")
    if 'prompt_ratio_vs_in_model' in result:
        lines.append(f"prompt ids in the main process: "
                     f"{result['prompt_ms_per_batch_pipeline']:.3f} ms/batch with the "
                     f"pipeline's pieces ({100 * result['prompt_pipeline_fraction']:.0f}% "
                     f"of samples), {result['prompt_ms_per_batch_in_model']:.3f} ms/batch "
                     f"tokenized in the model: ratio {result['prompt_ratio_vs_in_model']:.4f}")
    return lines


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.amp:
        sys.path.insert(0, osp.join(REPO_ROOT, 'tools'))
        from train import merge_args  # the same --amp handling as training
        merge_args(cfg, argparse.Namespace(
            launcher='none', cfg_options=None, work_dir=None, amp=True, resume=None,
            strategy=None, config=args.config))
    with tempfile.TemporaryDirectory() as tmp_dir:
        cfg = prepare_benchmark_config(cfg, args.work_dir or tmp_dir)
        runner = build_runner(cfg)
        prepare_runner(runner)
        batches = fetch_batches(runner, args.num_batches)
        result = benchmark(runner, batches, args.iters, args.warmup, args.blocks,
                           args.peak_tflops)
        result.update(prompt_cost(runner.model, batches) or {})
    result['config'] = args.config
    for line in format_report(result):
        print(line)
    print(json.dumps(result), flush=True)
    return result


if __name__ == '__main__':
    main()
