"""Build STVG annotations (HC-STVG format) from captioned videos.

Usage::

    python tools/data_construction/build_stvg.py CONFIG [--work-dir DIR] [--limit N]
        [--workers N] [--retry-failed] [--no-progress] [--cfg-options k=v ...]

Resumable: a rerun skips the videos already done under the work directory.
Writes ``WORK_DIR/<ann_file>`` and ``WORK_DIR/<report_file>`` and prints the
report's counts. See docs/en/data_construction.md.
"""
import argparse
import json
import os.path as osp
import sys

from mmengine.config import Config

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from mmstvg.utils.runtime_patches import apply_runtime_patches  # noqa: E402

# First, before the imports below load mmengine.runner (and DeepSpeed):
# safe checkpoint loading, atomic writes, the message filters.
apply_runtime_patches()

from mmstvg.data_construction import STVGConstructionPipeline  # noqa: E402
from mmstvg.utils.config_options import ConfigOptionsAction  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Automatic STVG data construction.')
    parser.add_argument('config', help='a configs/data_construction/ config')
    parser.add_argument('--work-dir', help='overrides the config\'s work_dir')
    parser.add_argument('--limit', type=int, help='only the first N videos of the list')
    parser.add_argument('--workers', type=int, help='parallel grounding processes')
    parser.add_argument('--retry-failed', action='store_true',
                        help='rerun the videos whose stored record failed')
    parser.add_argument('--no-progress', action='store_true', help='no progress bars')
    parser.add_argument('--cfg-options', nargs='+', action=ConfigOptionsAction,
                        help='override config keys, e.g. detector.score_thr=0.35')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    pipeline = STVGConstructionPipeline.from_config(
        cfg, work_dir=args.work_dir, workers=args.workers,
        retry_failed=args.retry_failed or None,
        progress=False if args.no_progress else None)
    report = pipeline.run(limit=args.limit)
    summary = {k: v for k, v in report.items() if k != 'samples'}
    print(json.dumps(summary, indent=1))
    print(f'annotations: {pipeline.ann_file}\nreport: {pipeline.report_file}')
    return report


if __name__ == '__main__':
    main()
