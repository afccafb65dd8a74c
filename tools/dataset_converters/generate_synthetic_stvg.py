"""Generate the synthetic STVG set: videos + HC-STVG v1, TVG, REC, scene and LLaVA-Video files.

Example::

    python tools/dataset_converters/generate_synthetic_stvg.py \
        --out-dir data/synthetic_stvg --num-train 300 --num-val 60 --seed 0
"""
import argparse
import json
import time

from mmstvg.utils.runtime_patches import apply_runtime_patches

# First, before the imports below load mmengine.runner (and DeepSpeed):
# safe checkpoint loading, atomic writes, the message filters.
apply_runtime_patches()

from mmstvg.datasets.synthetic import generate_synthetic_stvg


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out-dir', default='data/synthetic_stvg')
    parser.add_argument('--num-train', type=int, default=300)
    parser.add_argument('--num-val', type=int, default=60)
    parser.add_argument('--num-test', type=int, default=0,
                        help='videos of a held-out test split (hcstvg_v1_test.json)')
    parser.add_argument('--size', type=int, default=64, help='frame side (px)')
    parser.add_argument('--min-frames', type=int, default=32)
    parser.add_argument('--max-frames', type=int, default=48)
    parser.add_argument('--fps', type=float, default=8.0)
    parser.add_argument('--span-fraction', type=float, nargs=2, default=(0.25, 0.7))
    parser.add_argument('--object-size', type=float, nargs=2, default=(0.08, 0.12),
                        help="range of a shape's half side, as fractions of --size")
    parser.add_argument('--appear-prob', type=float, default=0.5,
                        help='share of videos whose target is absent outside its span')
    parser.add_argument('--num-distractors', type=int, nargs='+', default=(1, 2),
                        help='choices of the number of distractor shapes')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--no-tvg', action='store_true', help='skip TVG files')
    parser.add_argument('--no-rec', action='store_true', help='skip REC files')
    parser.add_argument('--write-language', action=argparse.BooleanOptionalAction,
                        default=True,
                        help='write llava_video_<split>.json: captions and QA in words '
                        "from the scene records, in LLaVA-Video's training format "
                        '(default: on; it draws no random number)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    tic = time.time()
    summary = generate_synthetic_stvg(
        out_dir=args.out_dir, num_train=args.num_train, num_val=args.num_val,
        num_test=args.num_test,
        size=args.size, frame_range=(args.min_frames, args.max_frames),
        fps=args.fps, span_fraction=tuple(args.span_fraction),
        num_distractors=tuple(args.num_distractors),
        object_size=tuple(args.object_size), appear_prob=args.appear_prob,
        seed=args.seed,
        write_tvg=not args.no_tvg, write_rec=not args.no_rec,
        write_language=args.write_language,
        show_progress=True)  # on stderr: stdout stays the JSON summary
    summary['seconds'] = round(time.time() - tic, 2)
    print(json.dumps(summary, indent=1))


if __name__ == '__main__':
    main()
