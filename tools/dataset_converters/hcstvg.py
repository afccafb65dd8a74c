r"""Check and normalise an HC-STVG v1 / v2 annotation file.

Drops (and counts, per reason) the entries the dataset could not use; with
``--video-dir`` also drops missing, unreadable and short-decoding videos and
writes each kept video's decoded ``fps``. Example::

    python tools/dataset_converters/hcstvg.py \
        data/hcstvg_v2/raw/valv2.json data/hcstvg_v2/annos/hcstvg_v2/valv2.json \
        --version 2 --video-dir data/hcstvg_v2/v2_video
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
    parser.add_argument('ann_file')
    parser.add_argument('out_file')
    parser.add_argument('--version', type=int, choices=(1, 2), default=1)
    parser.add_argument('--video-dir', help='the videos (searched '
                        'recursively); enables the video checks and fps')
    parser.add_argument('--frame-tolerance', type=int, default=3,
                        help='a video may decode this many frames fewer '
                        'than img_num')
    parser.add_argument('--report', help='also write the kept / dropped '
                        'counts to this json file')
    parser.add_argument('--no-progress', action='store_true',
                        help='no progress bar')
    args = parser.parse_args(argv)
    from mmstvg.utils.runtime_patches import apply_runtime_patches
    apply_runtime_patches()  # mmstvg/utils/runtime_patches.py
    from mmstvg.datasets import converters
    report = converters.convert_hcstvg(
        args.ann_file, args.out_file, version=args.version,
        video_dir=args.video_dir, frame_tolerance=args.frame_tolerance,
        show_progress=not args.no_progress)
    print(report.summary())
    if args.report:
        converters.write_json(report.to_dict(), args.report)
    return 0


if __name__ == '__main__':
    sys.exit(main())
