"""Score the trivial answer on a config's test set with the config's own evaluator.

The trivial answer sees what the model sees: the span is the whole clip the
frames are sampled from (``clip_span_frames``: VidSTG's used segment, the
whole video elsewhere; in seconds it ends where the annotation says the video
ends, e.g. Charades-STA's csv ``length``, the end 2D-TAN's protocol clips the
ground truth to), and the box a centred box of half the frame's width and
height on every sampled frame (REC: the one image). A grounding model must
beat it by a wide margin to show that it learned *when* and *where*. With
``--beside MODEL_METRICS.json`` (e.g. ``tools/test.py --metrics-out``) the two
are printed side by side.

Nothing is decoded and no video needs to be on disk: the annotations give
each video's frame count, fps and size (a dataset whose annotations lack
them probes the video when it loads), and the config's frame samplers (the
test pipeline's steps between the loader and the decoder) pick the frames
from those.

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

import numpy as np  # noqa: E402

from mmstvg.utils.runtime_patches import apply_runtime_patches  # noqa: E402

# First, before the imports below load mmengine.runner (and DeepSpeed):
# safe checkpoint loading, atomic writes, the message filters.
apply_runtime_patches()

from mmengine.config import Config  # noqa: E402
from mmengine.evaluator import Evaluator  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from mmengine.utils import track_iter_progress  # noqa: E402

from mmstvg.datasets.annotations_only import annotations_only  # noqa: E402
from mmstvg.evaluation.functional.offline import sample_from_data_info  # noqa: E402
from mmstvg.registry import DATASETS, TRANSFORMS  # noqa: E402
from mmstvg.utils.config_options import ConfigOptionsAction  # noqa: E402

#: Pipeline steps that open a video and that decode it; the samplers lie between.
LOADERS = ('GroundingDecordInit', 'InferenceVideoInit')
DECODERS = ('GroundingDecordDecode', )


def _type_name(step: dict) -> str:
    kind = step.get('type')
    name = kind if isinstance(kind, str) else getattr(kind, '__name__', str(kind))
    return name.split('.')[-1]


def pipeline_of_test_set(dataset_cfg: dict) -> list:
    """The test dataset's pipeline (of the first part of a mixture)."""
    while not dataset_cfg.get('pipeline') and dataset_cfg.get('datasets'):
        dataset_cfg = dataset_cfg['datasets'][0]
    return list(dataset_cfg.get('pipeline') or [])


def frame_samplers(pipeline) -> list:
    """The built steps of ``pipeline`` between its loader and its decoder
    (the frame samplers), which pick frames from the annotation's frame
    count and fps alone.

    Raises:
        ValueError: when the pipeline has no loader followed by a decoder.
    """
    names = [_type_name(step) for step in pipeline]
    starts = [i for i, name in enumerate(names) if name in LOADERS]
    ends = [i for i, name in enumerate(names) if name in DECODERS]
    if not starts or not ends or ends[0] < starts[0]:
        raise ValueError(f'the test pipeline {names} has no {"/".join(LOADERS)} '
                         f'followed by {"/".join(DECODERS)}: its frame samplers '
                         'cannot be found')
    return [TRANSFORMS.build(dict(step)) for step in pipeline[starts[0] + 1:ends[0]]]


def sampled_frames(info: dict, samplers: list) -> np.ndarray:
    """The frames the samplers pick for a data info, without its video."""
    results = dict(info, total_frames=int(info['num_frames']))
    for sampler in samplers:
        results = sampler(results)
    return np.asarray(results['frame_inds'], dtype=np.int64)


def trivial_prediction(info: dict, frame_inds: np.ndarray,
                       box_fraction: float = 0.5) -> dict:
    """The trivial answer of one data info, as a dump entry's predictions.

    The span is ``clip_span_frames`` (half-open; the whole video when the
    sample has none); in seconds it is ``start / fps`` to ``end / fps``,
    except that a clip reaching the video's end ends at the annotation's
    ``clip_end_seconds`` where it gives one (Charades-STA: the csv length).
    The box is centred, ``box_fraction`` of the frame's width and height, on
    every sampled frame.
    """
    num_frames, fps = int(info['num_frames']), float(info['fps'])
    height, width = int(info['height']), int(info['width'])
    start, end = info.get('clip_span_frames') or (0, num_frames)
    start, end = int(start), int(end)
    end_seconds = end / fps
    if end >= num_frames and info.get('clip_end_seconds') is not None:
        end_seconds = float(info['clip_end_seconds'])
    box = np.array([(1 - box_fraction) / 2 * width, (1 - box_fraction) / 2 * height,
                    (1 + box_fraction) / 2 * width, (1 + box_fraction) / 2 * height],
                   dtype=np.float32)
    # float32, as a model's tensors are: a threshold decides alike.
    return dict(frame_inds=frame_inds,
                pred_span_frames=np.array([start, end], dtype=np.int64),
                pred_span_seconds=np.array([start / fps, end_seconds], dtype=np.float32),
                pred_boxes=np.tile(box, (len(frame_inds), 1)),
                pred_parse_ok=True, pred_text='whole clip')


def trivial_sample(info: dict, frame_inds: np.ndarray, box_fraction: float = 0.5) -> dict:
    """The dict the evaluator's metrics receive for one data info: its
    ground truth at the sampled frames and the trivial answer."""
    sample = sample_from_data_info(info, trivial_prediction(info, frame_inds, box_fraction))
    sample['pred_box_scores'] = np.ones(len(frame_inds))
    sample['pred_box_mask'] = np.ones(len(frame_inds), dtype=bool)
    return sample


def side_by_side(model: dict, trivial: dict, source: str = '--beside') -> str:
    """A table of the metrics both have: ``metric  model  trivial``.

    Args:
        model: the model's metrics (``tools/test.py --metrics-out``).
        trivial: the trivial answer's.
        source: where ``model`` was read, named in errors.

    Raises:
        ValueError: naming ``source`` when the two share no score (the
            model's metrics of another dataset, metric or prefix): the table
            would be empty.
    """
    keys = [k for k in model if k in trivial and isinstance(model[k], (int, float))
            and not isinstance(model[k], bool)
            and not k.split('/')[-1].startswith('num_')]
    if not keys:
        wanted = [k for k in trivial if not k.split('/')[-1].startswith('num_')]
        raise ValueError(
            f'{source}: none of its metrics {sorted(model)[:6]} is one the '
            f'trivial answer reports ({wanted[:6]}): metrics of another '
            'dataset or evaluator? The side-by-side table would be empty')
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
    parser.add_argument('--cfg-options', nargs='+', action=ConfigOptionsAction)
    args = parser.parse_args(argv)

    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmstvg'))
    dataset_cfg = cfg.test_dataloader.dataset
    samplers = frame_samplers(pipeline_of_test_set(dataset_cfg))
    dataset = DATASETS.build(annotations_only(dataset_cfg))  # opens no video
    evaluator = Evaluator(cfg.test_evaluator)
    evaluator.dataset_meta = dataset.metainfo
    # the bar on stderr: stdout stays the metrics' JSON
    for index in track_iter_progress(range(len(dataset)), file=sys.stderr):
        info = dataset.get_data_info(index)
        sample = trivial_sample(info, sampled_frames(info, samplers), args.box_fraction)
        evaluator.process([sample])
    metrics = evaluator.evaluate(len(dataset))
    metrics = {key: float(value) for key, value in metrics.items()}
    print(json.dumps(metrics, indent=2))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(metrics, f, indent=2)
    if args.beside:
        with open(args.beside) as f:
            model = json.load(f)
        if not isinstance(model, dict):
            raise ValueError(f'{args.beside}: must be a JSON object of metrics '
                             f'(tools/test.py --metrics-out), got '
                             f'{type(model).__name__}')
        print(side_by_side(model, metrics, args.beside))
    return metrics


if __name__ == '__main__':
    main()
