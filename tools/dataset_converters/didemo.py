r"""Convert DiDeMo's {train,val,test}_data.json to the dataset json.

Every annotator's moment (inclusive 5-second segment indices) becomes seconds
``[5 s, 5 (e + 1)]``. With ``--video-dir`` the videos are probed (frame count,
fps, size) and missing ones dropped. File names of one Flickr id with two
extensions become one video, reported as ``merged N file names into M videos
(same Flickr id, other extension)``. Example::

    python tools/dataset_converters/didemo.py \
        data/didemo/raw/test_data.json data/didemo/annotations/test.json \
        --video-dir data/didemo/videos --video-ext .mp4
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
    parser.add_argument('--video-ext', help='replace the extension of the video '
                        'names (e.g. .mp4)')
    parser.add_argument('--report', help='also write the kept / dropped '
                        'counts to this json file')
    parser.add_argument('--no-progress', action='store_true',
                        help='no progress bar')
    args = parser.parse_args(argv)
    from mmstvg.utils.runtime_patches import apply_runtime_patches
    apply_runtime_patches()  # mmstvg/utils/runtime_patches.py
    from mmstvg.datasets import converters
    report = converters.convert_didemo(
        args.ann_file, args.out_file, video_dir=args.video_dir,
        video_ext=args.video_ext, show_progress=not args.no_progress)
    print(report.summary())
    if args.report:
        converters.write_json(report.to_dict(), args.report)
    return 0


if __name__ == '__main__':
    sys.exit(main())
