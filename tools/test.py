"""Evaluate a trained grounding model on the config's test set.

Example:
    python tools/test.py configs/spacevllm_toy.py work_dirs/spacevllm_toy/iter_3000.pth
    bash tools/dist_test.sh configs/spacevllm_hcstvg.py CKPT 8
"""
import argparse
import json
import os
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from mmstvg.utils.runtime_patches import apply_runtime_patches  # noqa: E402

# First, before the imports below load mmengine.runner (and DeepSpeed):
# safe checkpoint loading, atomic writes, the message filters.
apply_runtime_patches()

from mmstvg.engine.checkpoint_conversion import resolve_checkpoint  # noqa: E402
from mmstvg.engine.process_group import close_process_group  # noqa: E402
from mmstvg.engine.run_safety import (apply_checkpoint_options,  # noqa: E402
                                     check_test_outputs_writable)
from mmstvg.engine.runner_builder import build_runner  # noqa: E402
from mmstvg.utils import atomic_write  # noqa: E402
from mmstvg.utils.config_options import ConfigOptionsAction  # noqa: E402
from mmstvg.utils.repo_paths import load_config  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file (or a DeepSpeed checkpoint directory)')
    parser.add_argument('--work-dir', help='the dir to save logs and results')
    parser.add_argument(
        '--out-prefix',
        help='dump per-sample predictions and scores to <prefix>.<metric>.json '
        '(sets the metrics\' `outfile_prefix`)')
    parser.add_argument(
        '--metrics-out', help='also write the final metrics to this JSON file')
    parser.add_argument(
        '--unsafe-load', action='store_true',
        help='fully unpickle the checkpoint (old files holding other objects); '
        'this can run code stored in it: only for files you trust')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=ConfigOptionsAction,
        help='override settings of the config, key=value pairs')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main():
    args = parse_args()
    cfg = load_config(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    # A DeepSpeed checkpoint directory becomes one fp32 file here.
    cfg.load_from = resolve_checkpoint(args.checkpoint, cfg.work_dir)
    if args.out_prefix is not None:
        evaluators = cfg.test_evaluator
        for evaluator in evaluators if isinstance(evaluators, list) else [evaluators]:
            evaluator['outfile_prefix'] = args.out_prefix
    # Unsafe checkpoints, ones that do not fit the model and unwritable
    # outputs fail here, before inference (mmstvg/engine/run_safety.py).
    apply_checkpoint_options(cfg, args.unsafe_load)
    check_test_outputs_writable(cfg, args.out_prefix, args.metrics_out)
    runner = build_runner(cfg)
    metrics = runner.test()
    if args.metrics_out is not None:
        atomic_write(json.dumps({k: float(v) for k, v in metrics.items()}, indent=2),
                     args.metrics_out)
    close_process_group()


if __name__ == '__main__':
    main()
