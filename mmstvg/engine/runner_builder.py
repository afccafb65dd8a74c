"""Build MMEngine's Runner, or FlexibleRunner with a DeepSpeed / FSDP strategy, from a config.

A config trains with the plain :class:`mmengine.runner.Runner` (single process or
DDP through ``--launcher``) unless it sets ``strategy`` (a FlexibleRunner strategy
dict) or ``strategy_preset`` (one of :data:`STRATEGY_PRESETS`, also set by
``tools/train.py --strategy``). Nothing here distributes anything itself: the
strategies are MMEngine's.
"""
import copy

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import FlexibleRunner, Runner

from mmstvg.utils.collect_env import collect_env, format_env
from mmstvg.utils.runtime_patches import apply_runtime_patches


def _deepspeed(stage: int) -> dict:
    zero = dict(
        stage=stage,
        allgather_partitions=True,
        reduce_scatter=True,
        allgather_bucket_size=int(5e8),
        reduce_bucket_size=int(5e8),
        overlap_comm=True,
        contiguous_gradients=True)
    return dict(
        type='DeepSpeedStrategy',
        zero_optimization=zero,
        bf16=dict(enabled=True),
        gradient_clipping=1.0,
        train_micro_batch_size_per_gpu=1,
        exclude_frozen_parameters=True)


STRATEGY_PRESETS = {
    'deepspeed_zero2': lambda: _deepspeed(2),
    'deepspeed_zero3': lambda: _deepspeed(3),
    # One FSDP unit per decoder / encoder layer, fp32 shards, bf16 compute
    # (mmstvg/engine/strategies/fsdp_strategy.py).
    'fsdp': lambda: dict(
        type='mmstvg.LayerWrappedFSDPStrategy',
        compute_dtype='bfloat16',
        model_wrapper=dict(use_orig_params=True),
        state_dict_cfg='full'),
}

#: Optim wrappers that autocast (their ``dtype`` is the compute dtype).
AUTOCAST_WRAPPERS = ('AmpOptimWrapper', 'CPUAutocastOptimWrapper')


def adapt_optim_wrapper(cfg: Config) -> Config:
    """Give the optim wrapper to whatever owns mixed precision on this run.

    - DeepSpeed owns bf16 (its ``bf16`` section keeps fp32 master weights),
      clipping and accumulation: the wrapper becomes ``DeepSpeedOptimWrapper``
      and the micro batch size is the train dataloader's batch size.
    - FSDP's ``MixedPrecision`` owns bf16 (fp32 shards, bf16 compute): an
      autocasting (or plain) wrapper becomes :class:`FSDPOptimWrapper`, which
      clips by the norm over all shards; its dtype becomes the strategy's
      ``compute_dtype`` unless the strategy sets one.
    - Otherwise (one process, DDP) the wrapper autocasts, and on a machine
      without a GPU ``AmpOptimWrapper`` (which refuses CPUs in mmengine
      0.10.7) becomes :class:`CPUAutocastOptimWrapper`, the same autocast on
      CPU without loss scaling (bf16 needs none).

    Args:
        cfg: the full config; changed in place and returned.

    Returns:
        The config.
    """
    optim = cfg.get('optim_wrapper', None)
    if optim is None or 'type' not in optim:
        return cfg
    strategy = cfg.get('strategy', None) or {}
    kind = str(strategy.get('type', ''))
    if kind.endswith('DeepSpeedStrategy'):
        optim.type = 'DeepSpeedOptimWrapper'
        for key in ('loss_scale', 'dtype', 'clip_grad', 'accumulative_counts', 'use_fsdp'):
            optim.pop(key, None)
        if 'train_dataloader' in cfg:
            strategy['train_micro_batch_size_per_gpu'] = cfg.train_dataloader.batch_size
    elif kind.endswith('FSDPStrategy'):
        if optim.type in AUTOCAST_WRAPPERS + ('OptimWrapper', ):
            dtype = optim.pop('dtype', None)
            if dtype is not None and kind.endswith('LayerWrappedFSDPStrategy'):
                strategy.setdefault('compute_dtype', dtype)
            # Clipping by the norm over all shards, not one rank's.
            optim.type = 'FSDPOptimWrapper'
            optim.pop('loss_scale', None)
            optim.pop('use_fsdp', None)
    elif optim.type == 'AmpOptimWrapper':
        from mmengine.device import get_device
        if get_device() == 'cpu':
            optim.type = 'CPUAutocastOptimWrapper'
            optim.pop('loss_scale', None)
            optim.setdefault('dtype', 'bfloat16')
    return cfg


def resolve_strategy(cfg: Config) -> Config:
    """Turn ``strategy_preset`` into a ``strategy`` dict and adapt the optim
    wrapper to it (:func:`adapt_optim_wrapper`).

    Args:
        cfg: the full config; changed in place and returned.

    Returns:
        The config.
    """
    preset = cfg.pop('strategy_preset', None)
    if preset is not None:
        if preset not in STRATEGY_PRESETS:
            raise ValueError(f'Unknown strategy_preset {preset!r}; choose one '
                             f'of {sorted(STRATEGY_PRESETS)}')
        strategy = STRATEGY_PRESETS[preset]()
        strategy.update(cfg.get('strategy', None) or {})
        cfg.strategy = strategy
    return adapt_optim_wrapper(cfg)


def prepare_cpu_distributed(cfg: Config) -> Config:
    """Let ``--launcher pytorch`` run DDP, FSDP and DeepSpeed on machines without CUDA.

    mmengine 0.10.7 assumes a GPU there: its ``init_dist`` calls
    ``torch.cuda.set_device`` unconditionally (for the plain Runner and for
    every FlexibleRunner strategy, DeepSpeed's included), and its Runner wraps
    the model in DDP with ``device_ids=[LOCAL_RANK]``, which DDP refuses for a
    CPU module. On a CPU-only machine this joins the process group over gloo
    (from torchrun's environment) before the runner is built — the runner and
    its strategy then skip their own ``init_dist``; DeepSpeed wraps the group
    that exists and picks its CPU accelerator, which talks gloo — and, for
    the plain Runner, gives the DDP wrapper ``device_ids=None``.

    Args:
        cfg: the full config; changed in place and returned.

    Returns:
        The config.
    """
    if cfg.get('launcher', 'none') != 'pytorch' or torch.cuda.is_available():
        return cfg
    if not torch_dist.is_initialized():
        backend = cfg.get('env_cfg', {}).get('dist_cfg', {}).get('backend', 'gloo')
        if backend != 'gloo':
            print_log(f'No CUDA device: DDP uses gloo instead of {backend}.',
                      logger='current')
        torch_dist.init_process_group(backend='gloo')
    if cfg.get('strategy', None) is not None:
        return cfg
    wrapper = cfg.get('model_wrapper_cfg', None) or dict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper.setdefault('device_ids', None)
    cfg.model_wrapper_cfg = wrapper
    return cfg


def build_runner(cfg: Config):
    """Build the runner a config asks for.

    Applies :func:`~mmstvg.utils.apply_runtime_patches` first (idempotent), so
    the runner loads checkpoints safely and writes them atomically whoever
    calls this, and gives the pipelines' ``TokenizeGroundingPrompt`` the
    model's config (:func:`~mmstvg.datasets.transforms.fill_prompt_tokenization`).

    Args:
        cfg: a full training/testing config.

    Returns:
        A :class:`Runner`, a :class:`FlexibleRunner` (when a strategy is set)
        or the registered runner named by ``runner_type``.
    """
    apply_runtime_patches()
    cfg = prepare_cpu_distributed(resolve_strategy(copy.deepcopy(cfg)))
    # the pipelines' prompt tokenizers get the model's text settings (one place)
    from mmstvg.datasets.transforms import fill_prompt_tokenization
    fill_prompt_tokenization(cfg)
    if cfg.get('strategy', None) is not None:
        runner = FlexibleRunner.from_cfg(cfg)
    elif 'runner_type' in cfg:
        runner = RUNNERS.build(cfg)
    else:
        runner = Runner.from_cfg(cfg)
    log_environment(runner)
    return runner


def log_environment(runner) -> None:
    """Write :func:`collect_env` (CPU, float kernels, threads, every package) to the
    runner's log, so each train/test log names what its figures depend on."""
    logger = getattr(runner, 'logger', None)
    if logger is not None:
        logger.info('mmstvg environment (tools/misc/collect_env.py):\n'
                    + format_env(collect_env()))
