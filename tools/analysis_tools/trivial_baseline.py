"""Score the trivial answer on a config's test set with the config's own evaluator.

The trivial answer sees what the model sees: the span is the whole clip the
frames are sampled from (``clip_span_frames``: VidSTG's used segment, the
whole video elsewhere), and the box a centred box of half the frame's width
and height on every sampled frame (REC: the one image). A grounding model
must beat it by a wide margin to show that it learned *when* and *where*.
With ``--beside MODEL_METRICS.json`` (e.g. ``tools/test.py --metrics-out``)
the two are printed side by side.

Example:
    python tools/analysis_tools/trivial_baseline.py configs/spacevllm_toy.py \
        --out work_dirs/spacevllm_toy/trivial_baseline.json \
        --beside work_dirs/spacevllm_toy/model_metrics.json
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
from mmengine.utils import track_iter_progress  # noqa: E402

from mmstvg.registry import DATASETS  # noqa: E402
from mmstvg.structures import GroundingDataSample  # noqa: E402


def trivial_prediction(sample: GroundingDataSample,
                       box_fraction: float = 0.5) -> GroundingDataSample:
    """Fill ``sample``'s prediction fields with the clip and a centred box.

    The span is ``clip_span_frames`` (half-open; the whole video when the
    sample has none), in frames and in seconds (``/ fps``).
    """
    meta = sample.metainfo
    height, width = meta['ori_shape']
    num_sampled = sample.num_sampled_frames
    box = torch.tensor([(1 - box_fraction) / 2 * width, (1 - box_fraction) / 2 * height,
                        (1 + box_fraction) / 2 * width, (1 + box_fraction) / 2 * height])
    start, end = meta.get('clip_span_frames') or (0, int(meta['num_frames']))
    fps = float(meta['fps'])
    sample.pred_span_frames = torch.tensor([int(start), int(end)])
    sample.pred_span_seconds = torch.tensor([int(start) / fps, int(end) / fps])
    sample.pred_boxes = box.repeat(num_sampled, 1)
    sample.pred_box_scores = torch.ones(num_sampled)
    sample.pred_box_mask = torch.ones(num_sampled, dtype=torch.bool)
    sample.pred_parse_ok = True
    sample.pred_text = 'whole clip'
    return sample


def side_by_side(model: dict, trivial: dict) -> str:
    """A table of the metrics both have: ``metric  model  trivial``."""
    keys = [k for k in model if k in trivial and isinstance(model[k], (int, float))
            and not k.split('/')[-1].startswith('num_')]
    width = max([len(k) for k in keys] + [6])
    lines = [f"{'metric':<{width}}  {'model':>8}  {'trivial':>8}"]
    lines += [f'{k:<{width}}  {float(model[k]):>8.2f}  {float(trivial[k]):>8.2f}'
              for k in keys]
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--out', help='write the metrics to this JSON file')
    parser.add_argument('--box-fraction', type=float, default=0.5)
    parser.add_argument('--beside', help="the model's metrics (json) to print "
                        'beside the trivial answer\'s')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)

    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmstvg'))
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    evaluator = Evaluator(cfg.test_evaluator)
    evaluator.dataset_meta = dataset.metainfo
    # the bar on stderr: stdout stays the metrics' JSON
    for index in track_iter_progress(range(len(dataset)), file=sys.stderr):
        packed = dataset[index]
        sample = trivial_prediction(packed['data_samples'], args.box_fraction)
        evaluator.process([sample], dict(inputs=[packed['inputs']], data_samples=[sample]))
    metrics = evaluator.evaluate(len(dataset))
    metrics = {key: float(value) for key, value in metrics.items()}
    print(json.dumps(metrics, indent=2))
    if args.beside:
        with open(args.beside) as f:
            print(side_by_side(json.load(f), metrics))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(metrics, f, indent=2)
    return metrics


if __name__ == '__main__':
    main()
