"""Throughput of a config's training pipeline vs decord's raw ``get_batch``.

Measures, in the same run:

1. **pipeline**: the config's train dataset (its full pipeline: decord open,
   sampling, decoding, targets, resize, flip, pad, packing) through a
   PyTorch ``DataLoader`` with ``--num-workers`` workers (2 by default),
   timed from the first batch on (worker start-up excluded);
2. **raw decord**: in the main process, ``decord.VideoReader(path)`` +
   ``get_batch(frame_inds)`` of exactly the frames the pipeline sampled.

The two are measured ``--repeats`` times, alternating, and the best round of
each is kept (on a shared machine other jobs slow down single rounds).
Prints samples/s and frames/s of both, and as its last line a JSON object
with ``ratio_vs_raw_decord`` = pipeline frames/s / raw frames/s.

Example::

    python tools/analysis_tools/benchmark_dataloader.py \
        configs/_base_/datasets/synthetic_stvg.py --num-samples 200
"""
import os.path as _osp
import sys as _sys

# The repository root must be importable for configs' `custom_imports` of `projects.*`.
_REPO_ROOT = _osp.dirname(_osp.dirname(_osp.dirname(_osp.abspath(__file__))))
if _REPO_ROOT not in _sys.path:
    _sys.path.insert(0, _REPO_ROOT)

import argparse
import json
import time

import cv2
import numpy as np

from mmstvg.utils.runtime_patches import apply_runtime_patches  # noqa: E402

# First, before the imports below load mmengine.runner (and DeepSpeed):
# safe checkpoint loading, atomic writes, the message filters.
apply_runtime_patches()

from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from torch.utils.data import DataLoader

from mmstvg.registry import DATASETS
from mmstvg.utils import register_all_modules
from mmstvg.utils.config_options import ConfigOptionsAction


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Benchmark the data pipeline')
    parser.add_argument('config', help='config file')
    parser.add_argument('--num-samples', type=int, default=200)
    parser.add_argument('--num-workers', type=int, default=2)
    parser.add_argument('--batch-size', type=int, default=None,
                        help='default: the config\'s train batch size')
    parser.add_argument('--repeats', type=int, default=3,
                        help='alternating rounds; the best of each is kept')
    parser.add_argument('--cfg-options', nargs='+', action=ConfigOptionsAction)
    return parser.parse_args()


def _worker_init(_):
    cv2.setNumThreads(1)


def benchmark_pipeline(dataset, num_samples: int, batch_size: int,
                       num_workers: int):
    """Run the pipeline; returns (seconds, samples, frames, [(path, inds)])."""
    loader = DataLoader(
        dataset, batch_size=batch_size, num_workers=num_workers,
        shuffle=False, collate_fn=pseudo_collate, worker_init_fn=_worker_init,
        sampler=range(num_samples), persistent_workers=False)
    records, samples, frames, tic = [], 0, 0, None
    for batch in loader:
        for sample in batch['data_samples']:
            meta = sample.metainfo
            records.append((meta['video_path'], np.asarray(meta['frame_inds'])))
            if tic is not None:
                samples += 1
                frames += len(meta['frame_inds'])
        if tic is None:
            tic = time.perf_counter()
    return time.perf_counter() - tic, samples, frames, records


def benchmark_raw_decord(records, skip: int):
    """Open each video and ``get_batch`` the same frames; skips the first
    ``skip`` records (the pipeline's untimed first batch)."""
    import decord
    timed = records[skip:]
    tic = time.perf_counter()
    frames = 0
    for path, inds in timed:
        reader = decord.VideoReader(path, num_threads=1)
        frames += len(reader.get_batch(inds.tolist()).asnumpy())
        del reader
    return time.perf_counter() - tic, len(timed), frames


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    register_all_modules()
    cv2.setNumThreads(1)
    loader_cfg = cfg.train_dataloader
    dataset = DATASETS.build(loader_cfg.dataset)
    batch_size = args.batch_size or loader_cfg.get('batch_size', 1)
    num_samples = min(args.num_samples, len(dataset))

    best_pipe, best_raw = None, None
    for round_index in range(max(1, args.repeats)):
        seconds, samples, frames, records = benchmark_pipeline(
            dataset, num_samples, batch_size, args.num_workers)
        raw = benchmark_raw_decord(records, len(records) - samples)
        print(f'round {round_index}: pipeline {frames / seconds:.1f} frames/s, '
              f'raw decord {raw[2] / raw[0]:.1f} frames/s')
        if best_pipe is None or seconds / frames < best_pipe[0] / best_pipe[2]:
            best_pipe = (seconds, samples, frames)
        if best_raw is None or raw[0] / raw[2] < best_raw[0] / best_raw[2]:
            best_raw = raw
    seconds, samples, frames = best_pipe
    raw_seconds, raw_samples, raw_frames = best_raw
    pipe_sps, pipe_fps = samples / seconds, frames / seconds
    raw_sps, raw_fps = raw_samples / raw_seconds, raw_frames / raw_seconds

    print(f'best pipeline ({args.num_workers} workers, batch {batch_size}): '
          f'{samples} samples, {frames} frames in {seconds:.2f} s -> '
          f'{pipe_sps:.1f} samples/s, {pipe_fps:.1f} frames/s')
    print(f'best raw decord get_batch (main process): {raw_samples} samples, '
          f'{raw_frames} frames in {raw_seconds:.2f} s -> {raw_sps:.1f} '
          f'samples/s, {raw_fps:.1f} frames/s')
    print(json.dumps(dict(
        pipeline_samples_per_s=round(pipe_sps, 2),
        pipeline_frames_per_s=round(pipe_fps, 2),
        raw_decord_samples_per_s=round(raw_sps, 2),
        raw_decord_frames_per_s=round(raw_fps, 2),
        ratio_vs_raw_decord=round(pipe_fps / raw_fps, 3))))


if __name__ == '__main__':
    main()
