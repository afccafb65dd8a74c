r"""Decode every video of a config's split and list the bad ones for the dataset.

Builds ``<split>_dataloader.dataset`` of CONFIG (its annotation checks run
as usual, with ``on_bad_sample='skip'`` so that they are counted, not
fatal), decodes each of its videos in full in ``--workers`` processes,
reconciles the decoded frame counts, fps and frame sizes with the
annotation, and writes into ``--out-dir``:

- ``decoded.jsonl``: one line a video, appended as they finish (a rerun
  resumes from it; ``--no-resume`` starts over);
- ``report.json``: counts per finding (``ok``, ``missing``,
  ``unreadable``, ``short``, ``longer``, ``size_mismatch``,
  ``fps_mismatch``) with examples;
- ``bad_videos.json``: the missing, unreadable, short and wrongly sized
  videos (reason ``missing``, ``unreadable``, ``short``,
  ``size_mismatch``; a size mismatch gives ``annotated_size`` and
  ``decoded_size``), which the dataset skips (and counts) when its config
  sets ``bad_videos_file``; videos that decode short follow the dataset's
  ``short_video`` policy (``'skip'``, ``'clip'``, ``'error'``).

Example::

    python tools/misc/check_dataset.py configs/_base_/datasets/hcstvg_v1.py \
        --split test --workers 8 --out-dir work_dirs/check_hcstvg_v1_test
    python tools/test.py CONFIG CKPT --cfg-options \
        test_dataloader.dataset.bad_videos_file=work_dirs/check_hcstvg_v1_test/bad_videos.json
"""
import argparse
import json
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        epilog=__doc__.split('\n\n', 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('--split', default='test',
                        choices=('train', 'val', 'test'))
    parser.add_argument('--out-dir', help='default: work_dirs/check_dataset/'
                        '<config name>_<split>')
    parser.add_argument('--workers', type=int, default=4,
                        help='decoding processes')
    parser.add_argument('--no-resume', action='store_true',
                        help='decode every video again')
    parser.add_argument('--frame-tolerance', type=int, default=3,
                        help='a video may decode this many frames fewer than '
                        'annotated (the pipeline\'s tolerance)')
    parser.add_argument('--fps-tolerance', type=float, default=0.01,
                        help='relative fps difference reported')
    parser.add_argument('--no-progress', action='store_true')
    parser.add_argument('--cfg-options', nargs='+', default=None,
                        help='override config settings (key=value)')
    return parser.parse_args(argv)


def build_datasets(cfg, split):
    """The dataset(s) of ``<split>_dataloader`` (a mixture gives its parts)."""
    from mmengine.registry import init_default_scope

    from mmstvg.registry import DATASETS
    init_default_scope(cfg.get('default_scope', 'mmstvg'))
    loader = cfg.get(f'{split}_dataloader')
    if loader is None or 'dataset' not in loader:
        raise SystemExit(f'the config has no {split}_dataloader.dataset')
    dataset_cfg = loader['dataset'].copy()
    parts = dataset_cfg.pop('datasets', None)
    configs = [dict(p) for p in parts] if parts else [dataset_cfg]
    datasets = []
    for part in configs:
        part.update(pipeline=[], on_bad_sample='skip')
        part.pop('bad_videos_file', None)
        datasets.append(DATASETS.build(part))
    return datasets


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmengine.config import Config

    from mmstvg.utils.runtime_patches import apply_runtime_patches
    apply_runtime_patches()  # mmstvg/utils/runtime_patches.py
    from mmstvg.datasets.video_check import check_videos, collect_videos
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        options = {}
        for item in args.cfg_options:
            key, _, value = item.partition('=')
            try:
                options[key] = json.loads(value)
            except json.JSONDecodeError:
                options[key] = value
        cfg.merge_from_dict(options)
    out_dir = args.out_dir or osp.join(
        'work_dirs', 'check_dataset',
        f'{osp.splitext(osp.basename(args.config))[0]}_{args.split}')
    infos, skipped, names, missing = [], {}, [], {}
    for dataset in build_datasets(cfg, args.split):
        names.append(f'{type(dataset).__name__}({dataset.ann_file})')
        infos.extend(dataset.get_data_info(i) for i in range(len(dataset)))
        for field, count in dataset.skipped.items():
            skipped[field] = skipped.get(field, 0) + count
        for path, count in getattr(dataset, 'missing_videos', {}).items():
            missing[path] = missing.get(path, 0) + count
    videos = collect_videos(infos)
    # Videos the dataset found nowhere (their samples were skipped): listed
    # as 'missing' with the samples they cost.
    for path, count in missing.items():
        videos.setdefault(path, dict(num_frames=None, fps=None, height=None,
                                     width=None, samples=0))['samples'] += count
    report = check_videos(
        videos, out_dir, workers=args.workers, resume=not args.no_resume,
        frame_tolerance=args.frame_tolerance, fps_tolerance=args.fps_tolerance,
        show_progress=not args.no_progress, name=', '.join(names))
    report['annotation_skips'] = skipped
    with open(osp.join(out_dir, 'report.json'), 'w', encoding='utf-8') as f:
        json.dump(report, f, indent=1)
    print(f'{report["dataset"]}: {report["num_videos"]} videos of '
          f'{report["num_samples"]} samples; findings {report["counts"]}; '
          f'samples skipped by the annotation checks: {skipped or 0}')
    print(f'{report["num_bad"]} bad videos ({report["samples_of_bad_videos"]} '
          f'samples) listed in {osp.join(out_dir, "bad_videos.json")}; set '
          f'{args.split}_dataloader.dataset.bad_videos_file to it to skip '
          'them (short ones follow the dataset\'s short_video policy)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
