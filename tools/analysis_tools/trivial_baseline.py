"""Score the trivial answer on a config's test set with the config's own evaluator.

The trivial answer is the whole video as the span and a centred box of half
the frame's width and height on every sampled frame. A grounding model must
beat it by a wide margin to show that it learned *when* and *where*.

Example:
    python tools/analysis_tools/trivial_baseline.py configs/spacevllm_toy.py \
        --out work_dirs/spacevllm_toy/trivial_baseline.json
"""
import argparse
import json
import os
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.evaluator import Evaluator  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

from mmstvg.registry import DATASETS  # noqa: E402
from mmstvg.structures import GroundingDataSample  # noqa: E402


def trivial_prediction(sample: GroundingDataSample,
                       box_fraction: float = 0.5) -> GroundingDataSample:
    """Fill ``sample``'s prediction fields with the whole video and a centred box."""
    meta = sample.metainfo
    height, width = meta['ori_shape']
    num_sampled = sample.num_sampled_frames
    box = torch.tensor([(1 - box_fraction) / 2 * width, (1 - box_fraction) / 2 * height,
                        (1 + box_fraction) / 2 * width, (1 + box_fraction) / 2 * height])
    sample.pred_span_frames = torch.tensor([0, int(meta['num_frames'])])
    sample.pred_span_seconds = torch.tensor([0.0, float(meta['num_frames']) / meta['fps']])
    sample.pred_boxes = box.repeat(num_sampled, 1)
    sample.pred_box_scores = torch.ones(num_sampled)
    sample.pred_box_mask = torch.ones(num_sampled, dtype=torch.bool)
    sample.pred_parse_ok = True
    sample.pred_text = 'whole video'
    return sample


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--out', help='write the metrics to this JSON file')
    parser.add_argument('--box-fraction', type=float, default=0.5)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()

    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmstvg'))
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    evaluator = Evaluator(cfg.test_evaluator)
    evaluator.dataset_meta = dataset.metainfo
    for index in range(len(dataset)):
        packed = dataset[index]
        sample = trivial_prediction(packed['data_samples'], args.box_fraction)
        evaluator.process([sample], dict(inputs=[packed['inputs']], data_samples=[sample]))
    metrics = evaluator.evaluate(len(dataset))
    metrics = {key: float(value) for key, value in metrics.items()}
    print(json.dumps(metrics, indent=2))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(metrics, f, indent=2)


if __name__ == '__main__':
    main()
