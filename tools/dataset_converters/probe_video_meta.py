"""Write the video metadata file that ``CharadesSTADataset`` reads.

Probes every video under VIDEO_DIR once with decord and writes
``{video id (file name without extension): {"num_frames", "fps",
"duration", "height", "width"}}`` as json; unreadable videos are listed on
stderr and left out (the dataset then reports their samples as bad input).

Example::

    python tools/dataset_converters/probe_video_meta.py \
        data/charades_sta/Charades_v1_480 data/charades_sta/video_meta.json
"""
import argparse
import json
import os
import os.path as osp
import sys

from mmstvg.utils.runtime_patches import apply_runtime_patches

# First, before the imports below load mmengine.runner (and DeepSpeed):
# safe checkpoint loading, atomic writes, the message filters.
apply_runtime_patches()

from mmengine.utils import track_iter_progress

from mmstvg.datasets.charades_sta import probe_video_meta

VIDEO_EXTENSIONS = ('.mp4', '.mkv', '.avi', '.webm', '.mov')


def main() -> None:
    parser = argparse.ArgumentParser(description='Probe video metadata')
    parser.add_argument('video_dir')
    parser.add_argument('out_file')
    args = parser.parse_args()
    meta, failed = {}, []
    paths = [osp.join(root, name) for root, _, files in os.walk(args.video_dir)
             for name in sorted(files)
             if osp.splitext(name)[1].lower() in VIDEO_EXTENSIONS]
    for path in track_iter_progress(paths, file=sys.stderr):
        name = osp.basename(path)
        try:
            meta[osp.splitext(name)[0]] = probe_video_meta(path)
        except Exception as error:  # decord raises its own types
            failed.append(name)
            print(f'cannot read {path}: {error}', file=sys.stderr)
    with open(args.out_file, 'w') as f:
        json.dump(meta, f)
    print(f'{len(meta)} videos written to {args.out_file}, {len(failed)} unreadable')


if __name__ == '__main__':
    main()
