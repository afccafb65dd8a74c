"""Benchmark STVGMetric against a plain per-frame Python reference loop.

Generates synthetic STVG samples (default 10,000 samples x 200 sampled
frames, with ~1% each of missing predictions, failed parses, reversed spans
and NaN boxes), scores them with :class:`mmstvg.evaluation.STVGMetric`
(``process`` in batches + ``compute_metrics``) and with the reference loop
below (one Python iteration per sample and per frame, TubeDETR / STCAT /
HC-STVG evaluator style), checks that every per-sample tIoU, vIoU and
gt_vIoU agrees to 1e-9, and prints both times and their ratio. The last line
is JSON: ``{"speedup_vs_loop": ..., ...}``::

    python tools/analysis_tools/benchmark_metrics.py
    python tools/analysis_tools/benchmark_metrics.py --protocol all
"""
import argparse
import bisect
import json
import math
import sys
import time
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from mmstvg.utils.runtime_patches import apply_runtime_patches

# First, before the imports below load mmengine.runner (and DeepSpeed):
# safe checkpoint loading, atomic writes, the message filters.
apply_runtime_patches()

from mmstvg.evaluation import PROTOCOLS, STVGMetric


# ----------------------------------------------------------------- the data
def make_samples(num_samples: int, num_sampled: int, seed: int = 0,
                 failure_rate: float = 0.01) -> List[dict]:
    """Synthetic ``GroundingDataSample.to_dict()``-like STVG samples.

    Args:
        num_samples: how many samples.
        num_sampled: sampled frames per sample (``T``).
        seed: random seed.
        failure_rate: share of samples of each failure kind.

    Returns:
        A list of dicts with tensors, as the metric receives them.
    """
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(num_samples):
        num_frames = int(rng.integers(num_sampled, 3 * num_sampled))
        frame_inds = np.round(np.linspace(0, num_frames - 1,
                                          num_sampled)).astype(np.int64)
        gt_start = int(rng.integers(0, num_frames // 2))
        gt_end = int(rng.integers(gt_start + 1, num_frames + 1))
        tube_inds = np.arange(gt_start, gt_end, dtype=np.int64)
        base = rng.uniform(0, 200, 4)
        base[2:] += base[:2] + 20
        motion = rng.normal(0, 0.5, 4)
        tube_boxes = (base + np.outer(tube_inds - gt_start, motion)).astype(
            np.float32)
        in_gt = (frame_inds >= gt_start) & (frame_inds < gt_end)
        gt_boxes = np.zeros((num_sampled, 4), np.float32)
        gt_boxes[in_gt] = tube_boxes[frame_inds[in_gt] - gt_start]

        shift = rng.integers(-num_frames // 8, num_frames // 8 + 1, 2)
        pred_start = int(np.clip(gt_start + shift[0], 0, num_frames - 1))
        pred_end = int(np.clip(gt_end + shift[1], pred_start + 1, num_frames))
        pred_boxes = (base + np.outer(frame_inds - gt_start, motion) +
                      rng.normal(0, 8, (num_sampled, 4))).astype(np.float32)
        parse_ok = True
        kind = rng.random()
        if kind < failure_rate:
            samples.append(
                _sample(i, num_frames, frame_inds, gt_start, gt_end, gt_boxes,
                        in_gt, tube_inds, tube_boxes))
            continue
        if kind < 2 * failure_rate:
            parse_ok = False
        elif kind < 3 * failure_rate:
            pred_start, pred_end = pred_end, pred_start
        elif kind < 4 * failure_rate:
            pred_boxes[rng.random(num_sampled) < 0.3] = np.nan
        sample = _sample(i, num_frames, frame_inds, gt_start, gt_end, gt_boxes,
                         in_gt, tube_inds, tube_boxes)
        sample.update(
            pred_span_frames=torch.tensor([pred_start, pred_end]),
            pred_boxes=torch.from_numpy(pred_boxes),
            pred_parse_ok=parse_ok,
            pred_text=f'from {pred_start} to {pred_end}')
        samples.append(sample)
    return samples


def _sample(i, num_frames, frame_inds, gt_start, gt_end, gt_boxes, in_gt,
            tube_inds, tube_boxes) -> dict:
    return dict(
        sample_id=f'video{i}#0', video_id=f'video{i}', task='stvg',
        qtype=('declarative', 'interrogative')[i % 2], num_frames=num_frames,
        fps=30.0, frame_inds=frame_inds,
        gt_span_frames=torch.tensor([gt_start, gt_end]),
        gt_boxes=torch.from_numpy(gt_boxes),
        gt_box_mask=torch.from_numpy(in_gt),
        gt_tube_frame_inds=torch.from_numpy(tube_inds),
        gt_tube_boxes=torch.from_numpy(tube_boxes))


# ------------------------------------------------------ the reference loop
def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two xyxy boxes, no +1; NaN or empty boxes give 0."""
    if any(math.isnan(v) for v in a) or any(math.isnan(v) for v in b):
        return 0.0
    area_a = max(a[2] - a[0], 0.0) * max(a[3] - a[1], 0.0)
    area_b = max(b[2] - b[0], 0.0) * max(b[3] - b[1], 0.0)
    inter = max(min(a[2], b[2]) - max(a[0], b[0]), 0.0) * max(
        min(a[3], b[3]) - max(a[1], b[1]), 0.0)
    union = area_a + area_b - inter
    return inter / union if union > 0 else 0.0


def _is_box(box: Sequence[float]) -> bool:
    return (not any(math.isnan(v) or math.isinf(v) for v in box)
            and box[2] > box[0] and box[3] > box[1])


def _interpolated(anchors: Dict[int, list], frame: int) -> Optional[list]:
    """STCAT-style linear interpolation, nearest box held at the ends."""
    keys = sorted(anchors)
    if not keys:
        return None
    if frame in anchors:
        return anchors[frame]
    pos = bisect.bisect_left(keys, frame)
    if pos == 0:
        return anchors[keys[0]]
    if pos == len(keys):
        return anchors[keys[-1]]
    left, right = keys[pos - 1], keys[pos]
    w = (frame - left) / (right - left)
    return [anchors[left][k] + w * (anchors[right][k] - anchors[left][k])
            for k in range(4)]


def reference_scores(sample: dict, protocol: str) -> Dict[str, float]:
    """tIoU, vIoU, gt_vIoU of one sample, one frame at a time."""
    frame_ids = [int(f) for f in sample['frame_inds']]
    gs, ge = (int(v) for v in sample['gt_span_frames'])
    if 'pred_span_frames' not in sample and 'pred_boxes' not in sample:
        return dict(tIoU=0.0, vIoU=0.0, gt_vIoU=0.0)
    ps, pe = (int(v) for v in sample['pred_span_frames'])
    span_ok = (sample.get('pred_parse_ok', True) and pe > ps and ps >= 0
               and pe <= sample['num_frames'])
    pred = sample['pred_boxes'].tolist()
    gt_boxes = sample['gt_boxes'].tolist()
    gt_mask = sample['gt_box_mask'].tolist()
    if not span_ok:
        ps, pe = 0, 0

    if protocol == 'tubedetr':
        inter = max(min(ge, pe) - max(gs, ps), 0)
        union = (ge - gs) + (pe - ps) - inter
        tiou = inter / union if union > 0 else 0.0
        viou, gt_viou, union_count, gt_count = 0.0, 0.0, 0, 0
        for t, frame in enumerate(frame_ids):
            if min(gs, ps) <= frame < max(ge, pe):
                union_count += 1
            if not gt_mask[t]:
                continue
            iou = box_iou(pred[t], gt_boxes[t])
            gt_viou += iou
            gt_count += 1
            if max(gs, ps) <= frame < min(ge, pe):
                viou += iou
        viou /= max(union_count, 1)
        gt_viou /= max(gt_count, 1)
    else:
        anchors = {f: pred[t] for t, f in enumerate(frame_ids) if _is_box(pred[t])}
        tube = dict(zip((int(f) for f in sample['gt_tube_frame_inds']),
                        sample['gt_tube_boxes'].tolist()))
        ious = {}
        for frame, gt_box in tube.items():
            box = _interpolated(anchors, frame)
            ious[frame] = None if box is None else box_iou(box, gt_box)
        if protocol == 'stcat':
            ge_incl = ge - 1
            inter = max(min(ge_incl, pe) - max(gs, ps), 0)
            union = (ge_incl - gs) + (pe - ps) - inter
            tiou = inter / union if union > 0 else 0.0
            viou = sum(iou for f, iou in ious.items() if iou is not None
                       and max(gs, ps) <= f < min(ge_incl, pe))
            viou /= max(max(ge_incl, pe) - min(gs, ps), 1)
            gt_viou = sum(iou or 0.0 for iou in ious.values()) / max(len(tube), 1)
        else:  # hcstvg
            all_frames = max(ge - 1, pe - 1) - min(gs, ps) + 1
            hits = [iou for f, iou in ious.items()
                    if iou is not None and ps <= f <= pe - 1]
            viou = sum(hits) / max(all_frames, 1)
            tiou = len(hits) / max(all_frames, 1)
            gt_viou = sum(iou or 0.0 for iou in ious.values()) / max(ge - gs, 1)
    if not span_ok:
        tiou = viou = 0.0
    return dict(tIoU=tiou, vIoU=viou, gt_vIoU=gt_viou)


# ------------------------------------------------------------------- timing
def run_metric(samples: List[dict], protocol: str,
               batch_size: int = 16) -> STVGMetric:
    metric = STVGMetric(protocol=protocol)
    for start in range(0, len(samples), batch_size):
        metric.process(None, samples[start:start + batch_size])
    metric.compute_metrics(metric.results)
    return metric


def benchmark(samples: List[dict], protocol: str, repeats: int = 3) -> dict:
    """Best-of-``repeats`` wall time of the metric and of the loop.

    Both sides get the same treatment (the minimum over interleaved runs), so
    the ratio is robust to other processes sharing the CPU.
    """
    metric_s = loop_s = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        metric = run_metric(samples, protocol)
        metric_s = min(metric_s, time.perf_counter() - start)
        start = time.perf_counter()
        reference = [reference_scores(s, protocol) for s in samples]
        loop_s = min(loop_s, time.perf_counter() - start)
    max_diff = max(
        float(np.max(np.abs(metric.sample_scores[key] -
                            np.array([r[key] for r in reference]))))
        for key in ('tIoU', 'vIoU', 'gt_vIoU'))
    if max_diff > 1e-9:
        raise AssertionError(f'{protocol}: metric and reference loop differ by '
                             f'{max_diff:.3g}')
    return dict(protocol=protocol, metric_s=metric_s, loop_s=loop_s,
                speedup=loop_s / metric_s, max_abs_diff=max_diff)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--num-samples', type=int, default=10000)
    parser.add_argument('--num-frames', type=int, default=200,
                        help='sampled frames per sample')
    parser.add_argument('--protocol', choices=PROTOCOLS + ('all', ),
                        default='tubedetr')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--repeats', type=int, default=3,
                        help='time each side this many times, keep the best')
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    start = time.perf_counter()
    samples = make_samples(args.num_samples, args.num_frames, args.seed)
    print(f'generated {len(samples)} samples x {args.num_frames} frames in '
          f'{time.perf_counter() - start:.1f} s')
    protocols = PROTOCOLS if args.protocol == 'all' else (args.protocol, )
    results = []
    for protocol in protocols:
        res = benchmark(samples, protocol, args.repeats)
        results.append(res)
        print(f'{protocol:>9}: metric {res["metric_s"]:.3f} s | reference loop '
              f'{res["loop_s"]:.3f} s | speedup {res["speedup"]:.1f}x | max '
              f'|diff| {res["max_abs_diff"]:.2e}')
    summary = dict(
        speedup_vs_loop=round(results[0]['speedup'], 2),
        protocol=results[0]['protocol'],
        metric_s=round(results[0]['metric_s'], 4),
        loop_s=round(results[0]['loop_s'], 4),
        num_samples=args.num_samples, num_frames=args.num_frames,
        max_abs_diff=max(r['max_abs_diff'] for r in results))
    if len(results) > 1:
        summary['speedup_per_protocol'] = {
            r['protocol']: round(r['speedup'], 2) for r in results}
    print(json.dumps(summary))
    return summary


if __name__ == '__main__':
    main(sys.argv[1:])
