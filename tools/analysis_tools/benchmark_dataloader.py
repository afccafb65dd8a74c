"""Throughput of a config's data pipeline vs decord's raw ``get_batch``.

Measures, in the same run:

1. **pipeline**: the config's dataset (``--split``, train by default: its
   full pipeline: decord open, sampling, decoding, targets, resize, flip,
   pad, packing) through a PyTorch ``DataLoader`` with ``--num-workers``
   workers (2 by default), timed from the first batch on (worker start-up
   excluded);
2. **raw decord**: in the main process, ``decord.VideoReader(path,
   num_threads=N)`` + ``get_batch(frame_inds)`` of exactly the frames the
   pipeline sampled, with the pipeline's decord threads ``N``.

The two are measured ``--repeats`` times, alternating, and the best round of
each is kept (on a shared machine other jobs slow down single rounds).
Prints samples/s and frames/s of both, and as its last line a JSON object
with ``ratio_vs_raw_decord`` = pipeline frames/s / raw frames/s and
``ratio_per_worker_vs_raw_decord`` (the same divided by the workers).

With ``--videos WxH [WxH ...]`` the inputs are real-size videos that the tool
writes itself with PyAV (h264, ``--video-fps`` 25, ``--video-seconds`` 20, a
panned texture with moving discs, about 0.8 Mbit/s at 640 x 360), one set a
size, measured one size after the other. For each size it also compares
decoders on the same frames, each giving the frames at the pipeline's
resize target (``--method-samples`` a method, 0: skipped):

- ``decord+resize``: ``get_batch`` at full size, then the pipeline's
  ``cv2.resize`` (today's pipeline);
- ``decord@target``: decord's ``width`` / ``height`` (FFmpeg scales each
  frame);
- ``pyav+resize`` and ``pyav@target``: PyAV decoding forward from the
  keyframe before the first frame, converting only the wanted frames, at
  full size then ``cv2.resize``, or at the target size in FFmpeg's scaler;
- ``torchcodec+resize``: torchcodec's ``get_frames_at`` where torchcodec is
  importable ('not installed' otherwise).

and, with ``--rss-samples N`` (2,000 by default with ``--videos``; 0:
skipped), runs the pipeline over ``N`` samples in one persistent worker and
samples the worker's resident memory (RSS) every ``--rss-every`` samples:
its growth after a warm-up (``--rss-warmup`` samples) must stay under
``--rss-bound-mib``. The rationale and the measured figures:
``docs/en/shared_video_evaluation.md`` ("Decoding at the real size").

Examples::

    python tools/analysis_tools/benchmark_dataloader.py \
        configs/_base_/datasets/synthetic_stvg.py --num-samples 200

    python tools/analysis_tools/benchmark_dataloader.py \
        configs/_base_/datasets/hcstvg_v1.py --split test \
        --videos 640x360 1280x720 --num-samples 8 --num-workers 1 \
        --decord-threads 1 --rss-samples 2000
"""
import os.path as _osp
import sys as _sys

# The repository root must be importable for configs' `custom_imports` of `projects.*`.
_REPO_ROOT = _osp.dirname(_osp.dirname(_osp.dirname(_osp.abspath(__file__))))
if _REPO_ROOT not in _sys.path:
    _sys.path.insert(0, _REPO_ROOT)

import argparse
import copy
import json
import math
import os
import os.path as osp
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from mmstvg.utils.runtime_patches import apply_runtime_patches  # noqa: E402

# First, before the imports below load mmengine.runner (and DeepSpeed):
# safe checkpoint loading, atomic writes, the message filters.
apply_runtime_patches()

from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from torch.utils.data import DataLoader, Dataset

from mmstvg.registry import DATASETS
from mmstvg.utils import register_all_modules
from mmstvg.utils.config_options import ConfigOptionsAction

MIB = 1024 * 1024
#: the name of the reference decoder in the method comparison
REFERENCE_METHOD = 'decord+resize'


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Benchmark the data pipeline')
    parser.add_argument('config', help='config file')
    parser.add_argument('--split', choices=('train', 'val', 'test'), default='train',
                        help='whose dataloader\'s dataset and pipeline to run')
    parser.add_argument('--num-samples', type=int, default=200,
                        help='samples a round (with --videos: cycling over the videos)')
    parser.add_argument('--num-workers', type=int, default=2)
    parser.add_argument('--batch-size', type=int, default=None,
                        help='default: the config\'s batch size of --split')
    parser.add_argument('--repeats', type=int, default=3,
                        help='alternating rounds; the best of each is kept')
    parser.add_argument('--decord-threads', type=int, default=None,
                        help='decord threads of the pipeline and of the raw '
                        'reference (default: the pipeline\'s GroundingDecordInit)')
    parser.add_argument('--goal', type=float, default=0.8,
                        help='the ratio to raw decord the pipeline should reach')
    real = parser.add_argument_group('real-size videos')
    real.add_argument('--videos', nargs='+', metavar='WxH', default=None,
                      help='write h264 videos of these sizes and measure on them')
    real.add_argument('--video-seconds', type=float, default=20.0)
    real.add_argument('--video-fps', type=int, default=25)
    real.add_argument('--num-videos', type=int, default=3,
                      help='videos a size (the samples cycle over them)')
    real.add_argument('--video-dir', default='work_dirs/benchmark_dataloader',
                      help='where the videos are written (kept and reused)')
    real.add_argument('--crf', type=int, default=23, help='x264 quality')
    real.add_argument('--preset', default='veryfast', help='x264 preset')
    real.add_argument('--gop', type=int, default=250,
                      help='frames between keyframes (x264\'s default 250)')
    real.add_argument('--method-samples', type=int, default=4,
                      help='samples a round for each decoder of the comparison')
    real.add_argument('--rss-samples', type=int, default=None,
                      help='samples of the memory check (default 2000 with '
                      '--videos, else 0; 0: skipped)')
    real.add_argument('--rss-size', default=None, metavar='WxH',
                      help='the video size of the memory check (default: the first)')
    real.add_argument('--rss-every', type=int, default=50,
                      help='samples between two RSS readings')
    real.add_argument('--rss-warmup', type=int, default=None,
                      help='samples before the baseline reading (default: '
                      'a tenth of --rss-samples)')
    real.add_argument('--rss-bound-mib', type=float, default=64.0,
                      help='the most the worker\'s RSS may grow after the warm-up')
    parser.add_argument('--cfg-options', nargs='+', action=ConfigOptionsAction)
    return parser.parse_args(argv)


def _worker_init(_):
    cv2.setNumThreads(1)


def parse_size(text: str) -> Tuple[int, int]:
    """``'640x360'`` -> ``(640, 360)`` (width, height); both must be even
    (h264's 4:2:0 chroma)."""
    try:
        width, height = (int(part) for part in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'a size is WxH, got {text!r}') from None
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        raise argparse.ArgumentTypeError(f'{text}: width and height must be even '
                                         'and positive (h264, yuv420p)')
    return width, height


# --------------------------------------------------------------------------- videos

def _scene(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A texture twice the frame size: smooth colour blobs plus fine grain,
    so that h264 spends a realistic bit rate on it."""
    big_h, big_w = 2 * height, 2 * width
    coarse = rng.integers(0, 256, (max(2, big_h // 16), max(2, big_w // 16), 3),
                          dtype=np.uint8)
    coarse = cv2.resize(coarse, (big_w, big_h), interpolation=cv2.INTER_CUBIC)
    grain = rng.normal(0, 18, (big_h, big_w, 1))
    return np.clip(coarse.astype(np.float32) + grain, 0, 255).astype(np.uint8)


def render_frame(scene: np.ndarray, index: int, width: int,
                 height: int) -> np.ndarray:
    """Frame ``index``: the scene panned along a Lissajous path, with three
    discs moving across it."""
    x = int(width / 2 + width / 2 * math.sin(index / 60))
    y = int(height / 2 + height / 2 * math.sin(index / 45))
    frame = scene[y:y + height, x:x + width].copy()
    radius = max(1, height // 10)
    for k in range(3):
        centre = (int((index * (3 + 2 * k) + k * 200) % width), int(height * (0.3 + 0.2 * k)))
        cv2.circle(frame, centre, radius, (60 * k + 60, 200 - 50 * k, 90), -1)
    return frame


def write_video(path: str, width: int, height: int, num_frames: int, fps: int,
                seed: int = 0, crf: int = 23, preset: str = 'veryfast',
                gop: int = 250) -> None:
    """Write an h264 (libx264, yuv420p) mp4 with PyAV."""
    import av
    scene = _scene(np.random.default_rng(seed), width, height)
    tmp = path + '.part.mp4'
    with av.open(tmp, 'w') as container:
        stream = container.add_stream('libx264', rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, 'yuv420p'
        stream.options = {'crf': str(crf), 'preset': preset, 'g': str(gop)}
        for index in range(num_frames):
            frame = av.VideoFrame.from_ndarray(
                render_frame(scene, index, width, height), format='rgb24')
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    os.replace(tmp, path)


def prepare_videos(video_dir: str, width: int, height: int, args) -> List[dict]:
    """The ``--num-videos`` videos of one size: written once, reused while
    their parameters (kept in a ``.json`` beside each) are the same."""
    os.makedirs(video_dir, exist_ok=True)
    num_frames = int(round(args.video_seconds * args.video_fps))
    videos = []
    for seed in range(args.num_videos):
        params = dict(width=width, height=height, num_frames=num_frames,
                      fps=args.video_fps, seed=seed, crf=args.crf,
                      preset=args.preset, gop=args.gop)
        name = f'bench_{width}x{height}_{seed}.mp4'
        path = osp.join(video_dir, name)
        if not (osp.isfile(path) and _read_json(path + '.json') == params):
            tic = time.perf_counter()
            write_video(path, **{k: v for k, v in params.items()
                                 if k not in ('width', 'height', 'num_frames', 'fps')},
                        width=width, height=height, num_frames=num_frames,
                        fps=args.video_fps)
            with open(path + '.json', 'w') as f:
                json.dump(params, f)
            print(f'wrote {path} in {time.perf_counter() - tic:.1f} s')
        size = osp.getsize(path)
        videos.append(dict(name=name, path=path, num_frames=num_frames,
                           fps=args.video_fps, width=width, height=height,
                           kbit_per_s=size * 8 / 1000 / (num_frames / args.video_fps)))
    return videos


def _read_json(path: str):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def write_hcstvg_annotation(videos: List[dict], path: str) -> None:
    """HC-STVG v1 raw annotations for the videos: one sentence each, a tube
    over the middle half (``st_frame`` 1-based)."""
    entries = {}
    for video in videos:
        num, width, height = video['num_frames'], video['width'], video['height']
        start, end = num // 4, max(num // 4 + 1, 3 * num // 4)
        box = [width / 4, height / 4, width / 2, height / 2]
        entries[video['name']] = dict(
            bbox=[box] * (end - start), st_time=start / video['fps'],
            ed_time=end / video['fps'], img_num=num,
            caption='the green disc moves to the right', width=width,
            height=height, st_frame=start + 1, fps=video['fps'])
    with open(path, 'w') as f:
        json.dump(entries, f)


# ------------------------------------------------------------------- the pipeline

def pipeline_transform(dataset, name: str):
    """The first transform of the dataset's pipeline whose class is ``name``."""
    for transform in getattr(dataset.pipeline, 'transforms', []):
        if type(transform).__name__ == name:
            return transform
    return None


def cpu_seconds() -> Optional[float]:
    """CPU time of this process (``time.process_time``, nanosecond clock) and
    of its children alive now (the DataLoader's workers, through psutil,
    which counts in clock ticks of ~10 ms); None without psutil."""
    try:
        import psutil
    except ImportError:
        return None
    total = time.process_time()
    for process in psutil.Process().children(recursive=True):
        try:
            times = process.cpu_times()
        except psutil.Error:  # a child that ended meanwhile
            continue
        total += times.user + times.system
    return total


def benchmark_pipeline(dataset, indices: Sequence[int], batch_size: int,
                       num_workers: int):
    """Run the pipeline; returns (seconds, samples, frames, [(path, inds)],
    cpu_seconds): wall and CPU time (this process and its workers) from the
    first batch to the last."""
    loader = DataLoader(
        dataset, batch_size=batch_size, num_workers=num_workers,
        shuffle=False, collate_fn=pseudo_collate, worker_init_fn=_worker_init,
        sampler=list(indices), persistent_workers=False)
    records, samples, frames = [], 0, 0
    tic = cpu_tic = toc = cpu_toc = None
    total = len(loader)
    for count, batch in enumerate(loader, start=1):
        for sample in batch['data_samples']:
            meta = sample.metainfo
            records.append((meta['video_path'], np.asarray(meta['frame_inds'])))
            if tic is not None:
                samples += 1
                frames += len(meta['frame_inds'])
        if tic is None:
            tic, cpu_tic = time.perf_counter(), cpu_seconds()
        if count == total:  # before the workers shut down
            toc, cpu_toc = time.perf_counter(), cpu_seconds()
    cpu = None if cpu_tic is None or cpu_toc is None else cpu_toc - cpu_tic
    return toc - tic, samples, frames, records, cpu


def benchmark_raw_decord(records, skip: int, num_threads: int = 1):
    """Open each video and ``get_batch`` the same frames; skips the first
    ``skip`` records (the pipeline's untimed first batch). Returns (seconds,
    samples, frames, cpu_seconds)."""
    import decord
    timed = records[skip:]
    tic, cpu_tic = time.perf_counter(), time.process_time()
    frames = 0
    for path, inds in timed:
        reader = decord.VideoReader(path, num_threads=num_threads)
        frames += len(reader.get_batch(inds.tolist()).asnumpy())
        del reader
    return (time.perf_counter() - tic, len(timed), frames,
            time.process_time() - cpu_tic)


def measure_against_raw(dataset, indices: Sequence[int], batch_size: int,
                        num_workers: int, repeats: int, num_threads: int,
                        label: str = '') -> dict:
    """The pipeline and raw decord, ``repeats`` alternating rounds, the best
    round of each; frames/s, samples/s and their ratio (per worker).

    Also the CPU time a sample takes in each (the pipeline's: its workers'
    and this process's, transfer included), the best round of each: on a
    machine shared with other jobs it moves less than wall time.
    """
    best_pipe, best_raw, pipe_cpu, raw_cpu = None, None, [], []
    for round_index in range(max(1, repeats)):
        seconds, samples, frames, records, cpu = benchmark_pipeline(
            dataset, indices, batch_size, num_workers)
        if samples == 0:
            raise SystemExit('benchmark_dataloader: nothing was timed; give '
                             '--num-samples larger than the batch size')
        raw = benchmark_raw_decord(records, len(records) - samples, num_threads)
        if cpu is not None:
            pipe_cpu.append(cpu / samples)
        raw_cpu.append(raw[3] / raw[1])
        print(f'{label}round {round_index}: pipeline {frames / seconds:.1f} '
              f'frames/s, raw decord {raw[2] / raw[0]:.1f} frames/s')
        if best_pipe is None or seconds / frames < best_pipe[0] / best_pipe[2]:
            best_pipe = (seconds, samples, frames)
        if best_raw is None or raw[0] / raw[2] < best_raw[0] / best_raw[2]:
            best_raw = raw
    seconds, samples, frames = best_pipe
    raw_seconds, raw_samples, raw_frames = best_raw[:3]
    workers = max(1, num_workers)
    pipe_sps, pipe_fps = samples / seconds, frames / seconds
    raw_sps, raw_fps = raw_samples / raw_seconds, raw_frames / raw_seconds
    print(f'{label}best pipeline ({num_workers} workers, batch {batch_size}): '
          f'{samples} samples, {frames} frames in {seconds:.2f} s -> '
          f'{pipe_sps:.2f} samples/s ({pipe_sps / workers:.2f} a worker), '
          f'{pipe_fps:.1f} frames/s')
    print(f'{label}best raw decord get_batch (main process, {num_threads} '
          f'threads): {raw_samples} samples, {raw_frames} frames in '
          f'{raw_seconds:.2f} s -> {raw_sps:.2f} samples/s, {raw_fps:.1f} frames/s')
    figures = dict(
        pipeline_samples_per_s=round(pipe_sps, 3),
        pipeline_samples_per_s_per_worker=round(pipe_sps / workers, 3),
        pipeline_frames_per_s=round(pipe_fps, 2),
        raw_decord_samples_per_s=round(raw_sps, 3),
        raw_decord_frames_per_s=round(raw_fps, 2),
        ratio_vs_raw_decord=round(pipe_fps / raw_fps, 3),
        ratio_per_worker_vs_raw_decord=round(pipe_fps / workers / raw_fps, 3))
    if pipe_cpu:
        figures.update(pipeline_cpu_s_per_sample=round(min(pipe_cpu), 4),
                       raw_decord_cpu_s_per_sample=round(min(raw_cpu), 4),
                       cpu_ratio_vs_raw_decord=cpu_ratio(min(raw_cpu), min(pipe_cpu)))
        ratio = figures['cpu_ratio_vs_raw_decord']
        print(f'{label}CPU time a sample (best round): pipeline '
              f'{min(pipe_cpu):.3f} s, raw decord {min(raw_cpu):.3f} s -> ratio '
              + (f'{ratio:.3f}' if ratio is not None else
                 'not measured (a CPU time below the clock\'s resolution: '
                 'time more samples)'))
    return figures


def cpu_ratio(reference: float, measured: float) -> Optional[float]:
    """``reference / measured`` rounded, or None when either CPU time read
    zero: the work was shorter than the clock's tick, so no ratio is known."""
    if reference <= 0 or measured <= 0:
        return None
    return round(reference / measured, 3)


# ----------------------------------------------------------------- decoders

def resize_frames(frames: np.ndarray, size: Tuple[int, int],
                  interpolation: int) -> np.ndarray:
    """``(T, H, W, 3)`` -> ``(T, size[1], size[0], 3)``, one ``cv2.resize`` a
    frame (as ``GroundingResize``)."""
    width, height = size
    if frames.shape[1:3] == (height, width):
        return frames
    out = np.empty((len(frames), height, width, 3), dtype=frames.dtype)
    for i, frame in enumerate(frames):
        cv2.resize(frame, (width, height), dst=out[i], interpolation=interpolation)
    return out


def decode_pyav(path: str, frame_inds: Sequence[int], num_threads: int = 1,
                size: Optional[Tuple[int, int]] = None,
                interpolation: str = 'BICUBIC') -> np.ndarray:
    """The frames at ``frame_inds`` (0-based, constant frame rate) with PyAV.

    Seeks to the keyframe at or before the first wanted frame, decodes
    forward and converts only the wanted frames to RGB (at ``size =
    (width, height)`` in FFmpeg's scaler when given). A frame's index is its
    presentation time times the stream's average rate.
    """
    import av
    wanted = np.asarray(frame_inds, dtype=np.int64)
    unique = np.unique(wanted)
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = num_threads
        stream.thread_type = 'AUTO' if num_threads > 1 else 'SLICE'
        rate = stream.average_rate
        time_base = stream.time_base
        start = stream.start_time or 0
        first_pts = start + int(round(int(unique[0]) / rate / time_base))
        container.seek(first_pts, stream=stream, backward=True, any_frame=False)
        kwargs = dict(format='rgb24')
        if size is not None:
            kwargs.update(width=size[0], height=size[1], interpolation=interpolation)
        decoded: Dict[int, np.ndarray] = {}
        position = 0
        for frame in container.decode(stream):
            if frame.pts is None:
                continue
            index = int(round(float((frame.pts - start) * time_base * rate)))
            while position < len(unique) and unique[position] < index:
                position += 1  # a frame that never came: left for the check below
            if position < len(unique) and unique[position] == index:
                decoded[index] = frame.to_ndarray(**kwargs)
                position += 1
            if position >= len(unique):
                break
    missing = [int(i) for i in unique if int(i) not in decoded]
    if missing:
        raise RuntimeError(f'PyAV did not decode frames {missing[:8]} of {path}')
    return np.stack([decoded[int(i)] for i in wanted])


def decode_methods(num_threads: int, size: Tuple[int, int],
                   interpolation: int) -> Dict[str, Optional[Callable]]:
    """``{name: decode(path, frame_inds) -> (T, h, w, 3) uint8 at size}``;
    None for a decoder that is not installed."""
    import decord

    def decord_resize(path, inds):
        reader = decord.VideoReader(path, num_threads=num_threads)
        return resize_frames(reader.get_batch(list(inds)).asnumpy(), size, interpolation)

    def decord_target(path, inds):
        reader = decord.VideoReader(path, num_threads=num_threads,
                                    width=size[0], height=size[1])
        return reader.get_batch(list(inds)).asnumpy()

    methods: Dict[str, Optional[Callable]] = {
        REFERENCE_METHOD: decord_resize, 'decord@target': decord_target}
    try:
        import av  # noqa: F401
        methods['pyav+resize'] = lambda path, inds: resize_frames(
            decode_pyav(path, inds, num_threads), size, interpolation)
        methods['pyav@target'] = lambda path, inds: decode_pyav(
            path, inds, num_threads, size=size)
    except ImportError:
        methods['pyav+resize'] = methods['pyav@target'] = None
    try:
        from torchcodec.decoders import VideoDecoder

        def torchcodec_resize(path, inds):
            decoder = VideoDecoder(path, num_ffmpeg_threads=num_threads)
            frames = decoder.get_frames_at(indices=list(inds)).data
            return resize_frames(frames.permute(0, 2, 3, 1).contiguous().numpy(),
                                 size, interpolation)
        methods['torchcodec+resize'] = torchcodec_resize
    except ImportError:
        methods['torchcodec+resize'] = None
    return methods


def compare_decoders(jobs: List[Tuple[str, np.ndarray]], methods: Dict[str, Optional[Callable]],
                     repeats: int, label: str = '') -> Dict[str, dict]:
    """Each method over the same ``(path, frame_inds)`` jobs, ``repeats``
    alternating rounds, the best kept: samples/s, the ratio to
    :data:`REFERENCE_METHOD`, and the mean absolute difference of its first
    clip to the reference's (0-255)."""
    best: Dict[str, float] = {}
    first: Dict[str, np.ndarray] = {}
    for _ in range(max(1, repeats)):
        for name, method in methods.items():
            if method is None:
                continue
            tic = time.perf_counter()
            for k, (path, inds) in enumerate(jobs):
                clip = method(path, inds)
                if k == 0 and name not in first:
                    first[name] = clip
            seconds = time.perf_counter() - tic
            best[name] = min(best.get(name, math.inf), seconds)
    results: Dict[str, dict] = {}
    reference = first[REFERENCE_METHOD].astype(np.float32)
    ref_sps = len(jobs) / best[REFERENCE_METHOD]
    for name, method in methods.items():
        if method is None:
            results[name] = dict(installed=False)
            print(f'{label}  {name:18s} not installed')
            continue
        sps = len(jobs) / best[name]
        diff = float(np.abs(first[name].astype(np.float32) - reference).mean()) \
            if first[name].shape == reference.shape else math.nan
        results[name] = dict(installed=True, samples_per_s=round(sps, 3),
                             ratio_vs_reference=round(sps / ref_sps, 3),
                             mean_abs_diff=round(diff, 3),
                             shape=list(first[name].shape))
        print(f'{label}  {name:18s} {sps:7.3f} samples/s  x{sps / ref_sps:.2f} '
              f'vs {REFERENCE_METHOD}  |diff| {diff:.2f}')
    return results


# ------------------------------------------------------------------- memory

def rss_bytes(pid: Optional[int] = None) -> int:
    """Resident memory of a process (this one by default), in bytes."""
    try:
        import psutil
        return int(psutil.Process(pid).memory_info().rss)
    except ImportError:
        with open(f'/proc/{pid or "self"}/statm') as f:
            return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


class RSSProbe(Dataset):
    """A dataset whose items carry the RSS of the process that made them
    (a DataLoader worker's own reading)."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index):
        item = self.dataset[index]
        return item, rss_bytes()


def _first(batch):
    return batch[0]


def rss_check(dataset, num_samples: int, every: int, warmup: int,
              bound_mib: float) -> dict:
    """Run the pipeline over ``num_samples`` samples in one persistent
    worker; the worker's RSS every ``every`` samples, its growth from the
    reading after ``warmup`` samples to the last, and the main process's."""
    loader = DataLoader(RSSProbe(dataset), batch_size=1, num_workers=1,
                        collate_fn=_first, worker_init_fn=_worker_init,
                        sampler=[i % len(dataset) for i in range(num_samples)],
                        persistent_workers=True)
    readings, main = [], []
    tic = time.perf_counter()
    for count, (_, rss) in enumerate(loader, start=1):
        if count % every == 0 or count == num_samples or count == warmup:
            readings.append((count, rss / MIB))
            main.append(rss_bytes() / MIB)
            print(f'  RSS after {count} samples ({time.perf_counter() - tic:.0f} s): '
                  f'worker {rss / MIB:.1f} MiB, main {main[-1]:.1f} MiB', flush=True)
    seconds = time.perf_counter() - tic
    base = [mib for count, mib in readings if count >= warmup][0]
    after = [(count, mib) for count, mib in readings if count >= warmup]
    final = readings[-1][1]
    slope = math.nan
    if len(after) >= 2 and after[-1][0] > after[0][0]:
        counts, mibs = np.array(after, dtype=np.float64).T
        slope = float(np.polyfit(counts, mibs, 1)[0] * 1000)
    growth = final - base
    result = dict(samples=num_samples, seconds=round(seconds, 1),
                  worker_rss_mib_after_warmup=round(base, 1),
                  worker_rss_mib_final=round(final, 1),
                  worker_rss_mib_max=round(max(m for _, m in readings), 1),
                  worker_growth_mib=round(growth, 1),
                  worker_slope_mib_per_1000=round(slope, 2),
                  main_rss_mib_first=round(main[0], 1),
                  main_rss_mib_final=round(main[-1], 1),
                  bound_mib=bound_mib, flat=bool(growth <= bound_mib),
                  readings=[[c, round(m, 1)] for c, m in readings])
    print(f'RSS over {num_samples} samples ({seconds:.0f} s, a reading every '
          f'{every}): worker {base:.1f} MiB after {warmup} samples -> '
          f'{final:.1f} MiB at the end (max {result["worker_rss_mib_max"]}, '
          f'growth {growth:+.1f} MiB, {slope:+.2f} MiB / 1000 samples; bound '
          f'{bound_mib:g} MiB: {"flat" if result["flat"] else "GROWS"}); main '
          f'process {main[0]:.1f} -> {main[-1]:.1f} MiB')
    return result


# --------------------------------------------------------------------- main

def build_dataset(cfg: Config, split: str, overrides: Optional[dict] = None,
                  decord_threads: Optional[int] = None):
    """The ``split`` dataloader's dataset (with ``overrides`` merged), the
    pipeline's decord threads set to ``decord_threads`` when given; its
    ``TokenizeGroundingPrompt`` given ``cfg.model``, as ``build_runner`` gives
    it, so the prompt's tokenization is timed with the pipeline."""
    from mmstvg.datasets.transforms import fill_prompt_tokenization
    cfg = copy.deepcopy(cfg)
    fill_prompt_tokenization(cfg)
    dataset_cfg = copy.deepcopy(cfg[f'{split}_dataloader'].dataset)
    if overrides:
        dataset_cfg.update(overrides)
    if decord_threads is not None:
        for step in dataset_cfg.pipeline:
            if step.get('type') == 'GroundingDecordInit':
                step['num_threads'] = decord_threads
    return DATASETS.build(dataset_cfg)


def real_size_run(cfg: Config, args: argparse.Namespace) -> dict:
    """Per ``--videos`` size, the pipeline against raw decord; then the
    memory check; then, per size, the decoders compared.

    The decoders come last: a DataLoader worker forked after PyAV has
    decoded in the parent process can hang (seen here with PyAV 18.1 and
    decord 0.6 in one process), so no worker is started after them.
    """
    sizes = [parse_size(text) for text in args.videos]
    report: Dict[str, dict] = dict(sizes={})
    datasets = {}
    for width, height in sizes:
        label = f'[{width}x{height}] '
        video_dir = osp.join(args.video_dir, f'{width}x{height}')
        videos = prepare_videos(video_dir, width, height, args)
        ann_file = osp.join(video_dir, 'hcstvg_bench.json')
        write_hcstvg_annotation(videos, ann_file)
        dataset = build_dataset(cfg, args.split, dict(
            type='HCSTVGDataset', data_root=video_dir, ann_file=ann_file,
            data_prefix=dict(video=''), dataset_name='benchmark'),
            args.decord_threads)
        datasets[(width, height)] = dataset
        init = pipeline_transform(dataset, 'GroundingDecordInit')
        threads = init.num_threads if init is not None else 1
        batch_size = args.batch_size or 1
        indices = [i % len(dataset) for i in range(args.num_samples)]
        kbps = float(np.mean([v['kbit_per_s'] for v in videos]))
        print(f'{label}{len(videos)} videos, {videos[0]["num_frames"]} frames at '
              f'{args.video_fps} fps, h264 {kbps:.0f} kbit/s; pipeline '
              f'{args.split}, decord threads {threads}')
        figures = measure_against_raw(dataset, indices, batch_size,
                                      args.num_workers, args.repeats, threads, label)
        ratio = figures['ratio_per_worker_vs_raw_decord']
        print(f'{label}ratio to raw decord (per worker): {ratio:.3f} '
              f'(goal >= {args.goal:g}: {"met" if ratio >= args.goal else "NOT met"})')
        figures.update(video_kbit_per_s=round(kbps, 1), decord_threads=threads,
                       goal=args.goal, goal_met=bool(ratio >= args.goal))
        report['sizes'][f'{width}x{height}'] = figures
    rss_samples = 2000 if args.rss_samples is None else args.rss_samples
    if rss_samples > 0:
        size = parse_size(args.rss_size) if args.rss_size else sizes[0]
        if size not in datasets:
            raise SystemExit(f'--rss-size {args.rss_size} is not among --videos')
        warmup = args.rss_warmup if args.rss_warmup is not None \
            else max(1, rss_samples // 10)
        every = max(1, min(args.rss_every, rss_samples))
        print(f'[{size[0]}x{size[1]}] memory check: {rss_samples} samples')
        report['rss'] = dict(size=f'{size[0]}x{size[1]}', **rss_check(
            datasets[size], rss_samples, every, min(warmup, rss_samples),
            args.rss_bound_mib))
    if args.method_samples > 0:
        for (width, height), dataset in datasets.items():
            label = f'[{width}x{height}] '
            report['sizes'][f'{width}x{height}']['decoders'] = run_decoders(
                dataset, width, height, args, label)
    return report


def run_decoders(dataset, width: int, height: int, args: argparse.Namespace,
                 label: str) -> Dict[str, dict]:
    """:func:`compare_decoders` on the frames the pipeline samples, to the
    pipeline's resize target with its interpolation and decord threads."""
    init = pipeline_transform(dataset, 'GroundingDecordInit')
    threads = init.num_threads if init is not None else 1
    resize = pipeline_transform(dataset, 'GroundingResize')
    if resize is not None:
        from mmstvg.datasets.transforms.processing import _INTERPOLATION
        target = resize.target_size(height, width)
        flag = _INTERPOLATION[resize.interpolation]
    else:
        target, flag = (width, height), cv2.INTER_LINEAR
    jobs = []
    for k in range(args.method_samples):
        info = dataset[k % len(dataset)]['data_samples'].metainfo
        jobs.append((info['video_path'], np.asarray(info['frame_inds'])))
    print(f'{label}decoders, {args.method_samples} samples of {len(jobs[0][1])} '
          f'frames to {target[0]}x{target[1]}, {threads} threads, best of '
          f'{max(1, args.repeats)}:')
    return compare_decoders(jobs, decode_methods(threads, target, flag),
                            args.repeats, label)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    register_all_modules()
    cv2.setNumThreads(1)
    if args.videos:
        report = real_size_run(cfg, args)
        print(json.dumps(report))
        return
    loader_cfg = cfg[f'{args.split}_dataloader']
    dataset = build_dataset(cfg, args.split, decord_threads=args.decord_threads)
    batch_size = args.batch_size or loader_cfg.get('batch_size', 1)
    num_samples = min(args.num_samples, len(dataset))
    init = pipeline_transform(dataset, 'GroundingDecordInit')
    threads = init.num_threads if init is not None else 1
    figures = measure_against_raw(dataset, range(num_samples), batch_size,
                                  args.num_workers, args.repeats, threads)
    print(json.dumps(figures))


if __name__ == '__main__':
    main()
