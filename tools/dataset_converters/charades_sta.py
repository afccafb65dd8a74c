r"""Write Charades-STA's video meta file from the split files and Charades_v1_*.csv.

The meta file gives every video its official ``length`` (seconds, from the
csv; the dataset clips spans to it with ``clip_end_to='length'``, as 2D-TAN
does) and, with ``--video-dir``, its decoded frame count, fps and size.
Example::

    python tools/dataset_converters/charades_sta.py \
        data/charades_sta/charades_sta_train.txt \
        data/charades_sta/charades_sta_test.txt \
        --csv data/charades_sta/Charades_v1_train.csv \
              data/charades_sta/Charades_v1_test.csv \
        --video-dir data/charades_sta/Charades_v1_480 \
        --out data/charades_sta/video_meta.json
"""
import argparse
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        epilog=__doc__.split('\n\n', 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('split_files', nargs='+',
                        help='charades_sta_{train,test}.txt')
    parser.add_argument('--csv', nargs='+', required=True,
                        help='Charades_v1_{train,test}.csv')
    parser.add_argument('--out', required=True, help='the meta json to write')
    parser.add_argument('--video-dir', help='probe the videos here')
    parser.add_argument('--video-ext', default='.mp4')
    parser.add_argument('--report', help='also write the kept / dropped '
                        'counts to this json file')
    parser.add_argument('--no-progress', action='store_true',
                        help='no progress bar')
    args = parser.parse_args(argv)
    from mmstvg.utils.runtime_patches import apply_runtime_patches
    apply_runtime_patches()  # mmstvg/utils/runtime_patches.py
    from mmstvg.datasets import converters
    report = converters.convert_charades_sta(
        args.split_files, args.csv, args.out, video_dir=args.video_dir,
        video_ext=args.video_ext, show_progress=not args.no_progress)
    print(report.summary())
    if args.report:
        converters.write_json(report.to_dict(), args.report)
    return 0


if __name__ == '__main__':
    sys.exit(main())
