"""Ground a sentence in a video and write the video with the predicted tube drawn.

Usage::

    python demo/video_demo.py VIDEO "sentence" CONFIG [CHECKPOINT] --out out.mp4 \
        [--device cpu] [--sampled-frames-only] [--grid frames.png]

Writes ``out.mp4`` (every frame of the video - or only the sampled ones - with
the predicted box in red on the frames of the predicted span, the sentence and
the span in seconds as a caption, a time bar with the span under each frame)
and ``out.json`` next to it (the inferencer's result: span in seconds and in
half-open frames, the answer text, per sampled frame its index, time, box
clipped to the frame, score and whether it lies in the span). An image input
(task ``rec``) writes a ``.png`` instead of the mp4.

The checkpoint is loaded without unpickling code (``--unsafe-load`` for
trusted old files) and must fit the config's model. Without CHECKPOINT the
model keeps the weights it is built with (random parts
where the config names no pretrained ones), with a warning.
"""
import argparse
import json
import os
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:  # configs may import `projects.*`
    sys.path.insert(0, REPO_ROOT)

import cv2  # noqa: E402

from mmstvg.utils.runtime_patches import apply_runtime_patches  # noqa: E402

# First, before the imports below load mmengine.runner (and DeepSpeed):
# safe checkpoint loading, atomic writes, the message filters.
apply_runtime_patches()

from mmstvg.apis import GroundingInferencer, prediction_to_dict  # noqa: E402
from mmstvg.datasets.validation import check_sentence  # noqa: E402
from mmstvg.utils import atomic_write, check_writable  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Ground a sentence in a video and '
                                     'write the video with the predicted tube.')
    parser.add_argument('video', help='a video file (or an image for REC)')
    parser.add_argument('sentence', help='the sentence to ground')
    parser.add_argument('config', help='the model config')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='the checkpoint (optional: built weights, with a warning)')
    parser.add_argument('--out', required=True,
                        help='the output .mp4 (.png for an image); the JSON result '
                        'is written next to it with the .json extension')
    parser.add_argument('--device', default=None, help="'cpu', 'cuda', 'cuda:0' ...")
    parser.add_argument('--task', default=None, choices=('stvg', 'tvg', 'rec'),
                        help='default: rec for an image, stvg for a video')
    parser.add_argument('--sampled-frames-only', action='store_true',
                        help='write only the frames the model saw, not every frame')
    parser.add_argument('--unsafe-load', action='store_true',
                        help='fully unpickle the checkpoint (old files holding other '
                        'objects); this can run code stored in it: only for files '
                        'you trust')
    parser.add_argument('--grid', default=None,
                        help='also write a .png grid of the sampled frames drawn')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    """Run the demo; returns the result dict that was written as JSON."""
    args = parse_args(argv)
    # The datasets' rules, before the model is built (the budget is the
    # config's, checked by the inferencer).
    check_sentence(args.sentence, 'sentence', dict(ann_file='demo'), max_words=None)
    check_writable(args.out, '--out')  # before the model runs
    if args.grid:
        check_writable(args.grid, '--grid')
    inferencer = GroundingInferencer(args.config, args.checkpoint, device=args.device,
                                     unsafe_load=args.unsafe_load)
    sample = inferencer(args.video, args.sentence, task=args.task,
                        return_datasamples=True)['predictions'][0]
    result = prediction_to_dict(sample)
    stem = osp.splitext(args.out)[0]
    if sample.metainfo['task'] == 'rec':
        out_file = stem + '.png'
        drawn = inferencer.draw_sampled_frames(args.video, sample)
        if osp.dirname(out_file):
            os.makedirs(osp.dirname(out_file), exist_ok=True)
        cv2.imwrite(out_file, drawn[0][..., ::-1])
    else:
        out_file = args.out
        inferencer.write_video(args.video, sample, out_file,
                               render_all_frames=not args.sampled_frames_only)
    result['output'] = out_file
    if args.grid:
        visualizer = inferencer.visualizer
        height, width = sample.metainfo['ori_shape'][:2]
        num = len(sample.metainfo['frame_inds'])
        drawn = inferencer.draw_sampled_frames(
            args.video, sample, max_width=visualizer.grid_frame_width(num, height, width))
        grid = visualizer.make_grid(drawn)  # at most max_grid_size a side
        if osp.dirname(args.grid):
            os.makedirs(osp.dirname(args.grid), exist_ok=True)
        cv2.imwrite(args.grid, grid[..., ::-1])
        result['grid'] = args.grid
    atomic_write(json.dumps(result, indent=1), stem + '.json')
    start, end = result['span_seconds']
    print(f'{args.video}: "{result["sentence"]}" -> {start:.2f}s - {end:.2f}s '
          f'(frames [{result["span_frames"][0]}, {result["span_frames"][1]}), '
          f'answer {result["answer_text"]!r}); wrote {out_file} and {stem}.json')
    return result


if __name__ == '__main__':
    main()
