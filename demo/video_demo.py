"""Ground a sentence (or several) in a video and write the video with the tubes drawn.

Usage::

    python demo/video_demo.py VIDEO "sentence" CONFIG [CHECKPOINT] --out out.mp4 \
        [--device cpu] [--sampled-frames-only] [--grid frames.png] \
        [--also "another sentence" --also "a third one"]

With ``--also``, every sentence is answered in one pass over the video (one
decode, one vision pass, one prompt prefix: ``model.share_video``) and the
video shows each sentence's tube in its own colour, with one footer per
sentence (its colour, sentence and span); ``out.json`` then holds a list of
results, one per sentence.

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
    parser.add_argument('--also', action='append', default=[], metavar='SENTENCE',
                        help='another sentence about the same video (repeatable): one '
                        'pass for all, one tube each in its own colour')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    """Run the demo; returns the result dict that was written as JSON."""
    args = parse_args(argv)
    # The datasets' rules, before the model is built (the budget is the
    # config's, checked by the inferencer).
    for sentence in [args.sentence, *args.also]:
        check_sentence(sentence, 'sentence', dict(ann_file='demo'), max_words=None)
    check_writable(args.out, '--out')  # before the model runs
    if args.grid:
        check_writable(args.grid, '--grid')
    inferencer = GroundingInferencer(args.config, args.checkpoint, device=args.device,
                                     unsafe_load=args.unsafe_load)
    if args.also:
        return several_sentences(inferencer, args)
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


def several_sentences(inferencer: GroundingInferencer, args) -> list:
    """Every sentence in one pass; one tube each on one video; a list of results."""
    sentences = [args.sentence, *args.also]
    samples = inferencer(args.video, sentences, task=args.task,
                         return_datasamples=True)['predictions']
    if samples[0].metainfo['task'] != 'stvg':
        raise SystemExit('--also draws tubes: it needs a video and the stvg task')
    results = [prediction_to_dict(sample) for sample in samples]
    if args.sampled_frames_only:
        drawn = inferencer.draw_sampled_tubes(args.video, samples)
        fps = float(samples[0].metainfo['fps'])
        if osp.dirname(args.out):
            os.makedirs(osp.dirname(args.out), exist_ok=True)
        writer = cv2.VideoWriter(args.out, cv2.VideoWriter_fourcc(*'mp4v'), fps,
                                 (drawn.shape[2], drawn.shape[1]))
        for frame in drawn:
            writer.write(frame[..., ::-1])
        writer.release()
    else:
        inferencer.write_tubes_video(args.video, samples, args.out)
    if args.grid:
        grid = inferencer.visualizer.make_grid(inferencer.draw_sampled_tubes(args.video,
                                                                             samples))
        if osp.dirname(args.grid):
            os.makedirs(osp.dirname(args.grid), exist_ok=True)
        cv2.imwrite(args.grid, grid[..., ::-1])
    for result in results:
        result['output'] = args.out
        if args.grid:
            result['grid'] = args.grid
    stem = osp.splitext(args.out)[0]
    atomic_write(json.dumps(results, indent=1), stem + '.json')
    for result in results:
        start, end = result['span_seconds']
        print(f'{args.video}: "{result["sentence"]}" -> {start:.2f}s - {end:.2f}s')
    print(f'wrote {args.out} and {stem}.json')
    return results


if __name__ == '__main__':
    main()
