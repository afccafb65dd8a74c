r"""Check an MDETR RefCOCO / RefCOCO+ / RefCOCOg file (final_*.json).

Keeps the (image, expression) pairs ``RefCOCODataset`` can use and counts the
others per reason. Example::

    python tools/dataset_converters/refcoco.py \
        data/refcoco/mdetr_raw/final_refcoco_testA.json \
        data/refcoco/mdetr_annotations/final_refcoco_testA.json \
        --image-dir data/refcoco/train2014
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
    parser.add_argument('--image-dir', help='check the images exist here')
    parser.add_argument('--report', help='also write the kept / dropped '
                        'counts to this json file')
    parser.add_argument('--no-progress', action='store_true',
                        help='no progress bar')
    args = parser.parse_args(argv)
    from mmstvg.utils.runtime_patches import apply_runtime_patches
    apply_runtime_patches()  # mmstvg/utils/runtime_patches.py
    from mmstvg.datasets import converters
    report = converters.convert_refcoco(args.ann_file, args.out_file,
                                        image_dir=args.image_dir,
                                        show_progress=not args.no_progress)
    print(report.summary())
    if args.report:
        converters.write_json(report.to_dict(), args.report)
    return 0


if __name__ == '__main__':
    sys.exit(main())
