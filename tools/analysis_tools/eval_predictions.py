"""Re-score a metric's prediction dump offline and print the table.

The metrics dump per-sample predictions with ``outfile_prefix``
(``tools/test.py --out-prefix``: ``<prefix>.stvg.json``, ``.tvg.json``,
``.didemo.json``, ``.rec.json``, ``.video_qa.json``). This tool builds the
annotation side from a config's test (or val) dataset, matches the dump's
samples by ``sample_id`` and scores them again, with the dump's own protocol
or another one; the figures equal the in-process ones::

    python tools/analysis_tools/eval_predictions.py \\
        work_dirs/spacevllm_hcstvg/preds.stvg.json \\
        configs/spacevllm_hcstvg.py --protocol stcat

Only the dataset's annotations are read: its pipeline is not built and no
video needs to be on disk (a video's frame count, fps and size come from the
annotations or, where they lack them, from the dump's ``video_meta``).

The dump records what each sample answered (its video, a digest of its
sentence, the digest of its annotation file): a dump scored against other
sentences, or another version of the annotation file, is refused with the
first mismatching sample and field named (``--allow-changed-ann-file`` scores
the latter anyway). A dump written before these were recorded is scored
with a warning.
"""
import os.path as _osp
import sys as _sys

# The repository root must be importable for configs' `custom_imports` of `projects.*`.
_REPO_ROOT = _osp.dirname(_osp.dirname(_osp.dirname(_osp.abspath(__file__))))
if _REPO_ROOT not in _sys.path:
    _sys.path.insert(0, _REPO_ROOT)

import argparse
import json
import sys
from typing import Dict, List, Optional, Sequence

from mmstvg.utils.runtime_patches import apply_runtime_patches  # noqa: E402

# First, before the imports below load mmengine.runner (and DeepSpeed):
# safe checkpoint loading, atomic writes, the message filters.
apply_runtime_patches()

from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmstvg.datasets.annotations_only import annotations_only
from mmstvg.datasets.validation import load_json
from mmstvg.evaluation import PROTOCOLS, rescore_dump
from mmstvg.evaluation.functional.offline import dumped_video_meta
from mmstvg.registry import DATASETS
from mmstvg.utils.config_options import ConfigOptionsAction


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Re-score a grounding metric dump against a dataset.')
    parser.add_argument('dump', help='the <prefix>.<metric>.json dump')
    parser.add_argument('config', help='config whose dataset holds the '
                        'annotations')
    parser.add_argument('--protocol', choices=PROTOCOLS, default=None,
                        help='STVG protocol (default: the dump\'s own)')
    parser.add_argument('--split', choices=('test', 'val'), default='test',
                        help='use <split>_dataloader.dataset of the config')
    parser.add_argument('--out', default=None,
                        help='also write the metrics to this JSON file')
    parser.add_argument('--allow-changed-ann-file', action='store_true',
                        help='score a dump written for another version of the '
                        'annotation file (its videos and sentences are still '
                        'checked)')
    parser.add_argument('--cfg-options', nargs='+', action=ConfigOptionsAction,
                        help='override config settings, key=value')
    return parser.parse_args(argv)


def load_data_infos(cfg: Config, split: str,
                    video_meta: Optional[Dict[str, dict]] = None) -> List[dict]:
    """Every ``get_data_info(i)`` of the config's ``<split>`` dataset, read
    from the annotations only (see
    :func:`mmstvg.datasets.annotations_only.annotations_only`)."""
    loader_key = f'{split}_dataloader'
    if cfg.get(loader_key) is None or 'dataset' not in cfg[loader_key]:
        raise ValueError(f'the config has no {loader_key}.dataset')
    dataset = DATASETS.build(annotations_only(cfg[loader_key]['dataset'],
                                              video_meta))
    return [dataset.get_data_info(i) for i in range(len(dataset))]


def format_table(metrics: Dict[str, float], title: str) -> str:
    """A two-column text table; scores with 2 decimals, counts as ints."""
    rows = [(key, f'{value:.2f}' if isinstance(value, float) else str(value))
            for key, value in metrics.items()]
    width = max([len(title)] + [len(k) for k, _ in rows])
    value_width = max([5] + [len(v) for _, v in rows])
    rule = '+' + '-' * (width + 2) + '+' + '-' * (value_width + 2) + '+'
    lines = [rule, f'| {title:<{width}} | {"value":>{value_width}} |', rule]
    lines += [f'| {k:<{width}} | {v:>{value_width}} |' for k, v in rows]
    lines.append(rule)
    return '\n'.join(lines)


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, float]:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmstvg'))
    dump = load_json(args.dump)
    data_infos = load_data_infos(cfg, args.split, dumped_video_meta(dump))
    metrics = rescore_dump(dump, data_infos, protocol=args.protocol,
                           dump_file=args.dump,
                           allow_changed_ann_file=args.allow_changed_ann_file)
    protocol = args.protocol or (dump.get('config') or {}).get('protocol')
    title = dump['metric'] + (f' ({protocol})' if protocol else '')
    print(format_table(metrics, title))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(metrics, f, indent=2)
    return metrics


if __name__ == '__main__':
    main(sys.argv[1:])
