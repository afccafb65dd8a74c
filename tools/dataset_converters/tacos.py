r"""Convert TACoS (2D-TAN's {train,val,test}.json) to the dataset json.

Frame timestamps become seconds (``frame / fps``, clipped to the video).
With ``--video-dir`` the videos' sizes are probed and missing ones dropped.
Example::

    python tools/dataset_converters/tacos.py \
        data/tacos/raw/test.json data/tacos/annotations/test.json \
        --video-dir data/tacos/videos
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
    parser.add_argument('--video-dir')
    parser.add_argument('--report', help='also write the kept / dropped '
                        'counts to this json file')
    parser.add_argument('--no-progress', action='store_true',
                        help='no progress bar')
    args = parser.parse_args(argv)
    from mmstvg.utils.runtime_patches import apply_runtime_patches
    apply_runtime_patches()  # mmstvg/utils/runtime_patches.py
    from mmstvg.datasets import converters
    report = converters.convert_tacos(args.ann_file, args.out_file,
                                      video_dir=args.video_dir,
                                      show_progress=not args.no_progress)
    print(report.summary())
    if args.report:
        converters.write_json(report.to_dict(), args.report)
    return 0


if __name__ == '__main__':
    sys.exit(main())
