"""Draw the ground-truth tubes of a config's dataset on its sampled frames.

Runs the config's pipeline (the train one by default) and writes, per sample,
a grid of the sampled frames with the GT box on the frames inside the span
(png) or an mp4 of them, using ``GroundingVisualizer``, named
``<index>_<sample id>`` with the id made a plain file name
(``v.mp4#0`` -> ``00000_v.mp4_0.png``).

Example::

    python tools/analysis_tools/browse_dataset.py \
        configs/_base_/datasets/synthetic_stvg.py --output-dir work_dirs/browse \
        --num-samples 4
"""
import os.path as _osp
import sys as _sys

# The repository root must be importable for configs' `custom_imports` of `projects.*`.
_REPO_ROOT = _osp.dirname(_osp.dirname(_osp.dirname(_osp.abspath(__file__))))
if _REPO_ROOT not in _sys.path:
    _sys.path.insert(0, _REPO_ROOT)

import argparse
import os
import os.path as osp

from mmstvg.utils.runtime_patches import apply_runtime_patches  # noqa: E402

# First, before the imports below load mmengine.runner (and DeepSpeed):
# safe checkpoint loading, atomic writes, the message filters.
apply_runtime_patches()

from mmengine.config import Config

from mmstvg.registry import DATASETS, VISUALIZERS
from mmstvg.utils import register_all_modules, safe_file_stem
from mmstvg.utils.config_options import ConfigOptionsAction


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Browse a grounding dataset')
    parser.add_argument('config', help='config file')
    parser.add_argument('--output-dir', default='work_dirs/browse_dataset',
                        help='folder the pictures / videos are written to')
    parser.add_argument('--num-samples', type=int, default=4,
                        help='number of samples to draw')
    parser.add_argument('--phase', default='train',
                        choices=['train', 'val', 'test'],
                        help='which dataloader\'s dataset and pipeline')
    parser.add_argument('--start', type=int, default=0, help='first index')
    parser.add_argument('--format', default='png', choices=['png', 'mp4'],
                        help='image grid or video')
    parser.add_argument('--cfg-options', nargs='+', action=ConfigOptionsAction,
                        help='override config settings, key=value')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    register_all_modules()
    dataset = DATASETS.build(cfg[f'{args.phase}_dataloader']['dataset'])
    visualizer = VISUALIZERS.build(dict(type='GroundingVisualizer',
                                        name='browse_dataset'))
    os.makedirs(args.output_dir, exist_ok=True)
    end = min(len(dataset), args.start + args.num_samples)
    for index in range(args.start, end):
        packed = dataset[index]
        sample = packed['data_samples']
        name = safe_file_stem(sample.metainfo.get('sample_id', index))  # no '#', '/'
        out_file = osp.join(args.output_dir, f'{index:05d}_{name}.{args.format}')
        visualizer.add_datasample(name, packed['inputs'], sample, draw_gt=True,
                                  draw_pred=False, out_file=out_file)
        print(f'{out_file}: {sample.metainfo.get("sentence")!r} span '
              f'{sample.gt_span_frames.tolist()} frames '
              f'{sample.metainfo["frame_inds"].tolist()}')


if __name__ == '__main__':
    main()
