"""Train a grounding model with MMEngine's Runner (or FlexibleRunner for DeepSpeed/FSDP).

Examples:
    python tools/train.py configs/spacevllm_toy.py
    python tools/train.py configs/spacevllm_toy.py --resume          # latest in work_dir
    python tools/train.py configs/spacevllm_toy.py --resume --resume-with-changes \
        --cfg-options optim_wrapper.optimizer.lr=1e-5                # a new lr from here on
    bash tools/dist_train.sh configs/spacevllm_hcstvg.py 8
    python tools/train.py configs/spacevllm_hcstvg.py --strategy deepspeed_zero2
"""
import argparse
import copy
import os
import os.path as osp
import sys

# The repository root must be importable so that configs can load
# `projects.*` plugins through `custom_imports`.
REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from mmstvg.utils.runtime_patches import apply_runtime_patches  # noqa: E402

# First, before the imports below load mmengine.runner (and DeepSpeed):
# safe checkpoint loading, atomic writes, the message filters.
apply_runtime_patches()

from mmengine.config import Config  # noqa: E402

from mmstvg.engine.run_safety import (apply_checkpoint_options,  # noqa: E402
                                     resolve_resume)
from mmstvg.engine.process_group import close_process_group  # noqa: E402
from mmstvg.engine.resume_check import add_resume_config_check  # noqa: E402
from mmstvg.engine.runner_builder import build_runner  # noqa: E402
from mmstvg.engine.schedule_follow import follow_loop_length  # noqa: E402
from mmstvg.engine.work_dir_lock import WorkDirLock, launcher_rank  # noqa: E402
from mmstvg.utils.config_options import ConfigOptionsAction  # noqa: E402
from mmstvg.utils.repo_paths import load_config  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Train a grounding model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and checkpoints')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint; without a path, resume from the '
        'newest intact checkpoint in the work dir (a corrupt latest one is '
        'skipped; with none, training starts from scratch and says so)')
    parser.add_argument(
        '--resume-with-changes', action='store_true',
        help='let --resume take a config whose optimizer, schedule, batch size, loop '
        'length or model differ from the checkpoint\'s: each change is logged and '
        'the new learning rate and schedule take over at the resumed iteration '
        '(without it such a resume is an error that lists the changes)')
    parser.add_argument(
        '--unsafe-load', action='store_true',
        help='fully unpickle checkpoints (old files holding other objects); '
        'this can run code stored in them: only for files you trust')
    parser.add_argument(
        '--amp', action='store_true', help='mixed precision training in bf16 '
        '(set optim_wrapper.dtype=float16 for GPUs without bf16)')
    parser.add_argument(
        '--strategy',
        choices=['deepspeed_zero2', 'deepspeed_zero3', 'fsdp'],
        help='train with MMEngine FlexibleRunner and this strategy (overrides '
        'the config\'s `strategy`)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=ConfigOptionsAction,
        help='override settings of the config, key=value pairs, e.g. '
        'train_cfg.max_iters=10 model.llm.model_cfg.num_hidden_layers=2')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local_rank, torchrun sets LOCAL_RANK.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg: Config, args) -> Config:
    """Fold the command-line options into the config."""
    return merge_checkpoint_args(merge_run_args(cfg, args), args)


def merge_run_args(cfg: Config, args) -> Config:
    """Fold in every option but ``--resume`` / ``--unsafe-load`` (the work dir
    is known afterwards, before anything in it is read or changed)."""
    cfg.launcher = args.launcher
    file_cfg = copy.deepcopy(cfg)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    follow_loop_length(cfg, file_cfg, getattr(args, 'cfg_options', None) or {})
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        from mmengine.device import get_device
        cfg.optim_wrapper.setdefault('dtype', 'bfloat16')
        if get_device() == 'cpu':
            # mmengine 0.10.7's AmpOptimWrapper refuses CPUs; see the class.
            cfg.optim_wrapper.type = 'CPUAutocastOptimWrapper'
            cfg.optim_wrapper.pop('loss_scale', None)
        else:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.strategy is not None:
        cfg.strategy_preset = args.strategy
    return cfg


def merge_checkpoint_args(cfg: Config, args) -> Config:
    """Fold in ``--resume`` (which reads, and may clean, the work dir) and
    ``--unsafe-load``."""
    resolve_resume(cfg, getattr(args, 'resume', None))
    # A resume keeps the checkpoint's optimizer, schedule, batch size and model
    # settings, or applies changes on --resume-with-changes (mmstvg/engine/resume_check.py).
    add_resume_config_check(cfg, getattr(args, 'resume_with_changes', False))
    # A resumed checkpoint must fit the model; `load_from` (fine-tuning from
    # another stage) may lack parts but must load something
    # (mmstvg/engine/run_safety.py).
    apply_checkpoint_options(cfg, getattr(args, 'unsafe_load', False),
                             check_fit=bool(cfg.get('resume')))
    return cfg


def main():
    args = parse_args()
    cfg = merge_run_args(load_config(args.config), args)
    # One training per work dir: a second one fails here, before it reads or
    # writes anything there (mmstvg/engine/work_dir_lock.py). Rank 0 holds it.
    with WorkDirLock(cfg.work_dir, enabled=launcher_rank(args.launcher) == 0):
        cfg = merge_checkpoint_args(cfg, args)
        runner = build_runner(cfg)
        runner.train()
    close_process_group()


if __name__ == '__main__':
    main()
