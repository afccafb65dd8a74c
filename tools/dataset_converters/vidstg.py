r"""Convert VidSTG (raw sentence files + VidOR trajectories) to the dataset json.

Reads VidSTG's ``{train,val,test}_annotations.json`` and VidOR's per-video
annotation folder (``training/`` for VidSTG train and val, ``validation/``
for test) and writes what ``VidSTGDataset`` reads
(``{"videos": [...], "trajectories": {...}}``), with counts of what was kept
and dropped per reason. VidSTG's boxes come only from VidOR's annotation
release (the VidOR dataset's own download); a missing or empty VidOR folder
is an error. Example::

    python tools/dataset_converters/vidstg.py \
        data/vidstg/vidstg_raw/test_annotations.json \
        data/vidstg/vidor_annotations/validation \
        data/vidstg/annotations/test.json
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
    parser.add_argument('vidstg_file', help='e.g. test_annotations.json')
    parser.add_argument('vidor_dir', help='VidOR annotation folder '
                        '(training/ or validation/)')
    parser.add_argument('out_file')
    parser.add_argument('--report', help='also write the kept / dropped '
                        'counts to this json file')
    parser.add_argument('--no-progress', action='store_true',
                        help='no progress bar')
    args = parser.parse_args(argv)
    from mmstvg.utils.runtime_patches import apply_runtime_patches
    apply_runtime_patches()  # mmstvg/utils/runtime_patches.py
    from mmstvg.datasets import converters
    report = converters.convert_vidstg(args.vidstg_file, args.vidor_dir,
                                       args.out_file,
                                       show_progress=not args.no_progress)
    print(report.summary())
    if args.report:
        converters.write_json(report.to_dict(), args.report)
    return 0


if __name__ == '__main__':
    sys.exit(main())
