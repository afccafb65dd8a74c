"""A seeded synthetic STVG dataset: moving coloured shapes on a textured background.

Each video shows 2-3 shapes (circle, square, triangle; red, green, blue,
yellow) on a static textured background. One of them is the *target*, named by
a sentence "the <colour> <shape> moves <left|right|up|down>". The target moves
in that direction during the ground-truth span, which covers 25-70 % of the
video at a random position; outside it the target is either absent (it
"appears" and "disappears") or standing still - half of the videos each. The
distractors never share both colour and shape with the target; they stand
still or drift in other directions during the whole video. The per-frame box
of the target is read off its drawn pixels, so it is exact.

Written files (default root ``data/synthetic_stvg``)::

    videos/synth_<split>_<i>.mp4          (OpenCV 'mp4v'; decord reads them)
    images/<split>/synth_<split>_<i>.png  (REC: the frame at the span centre)
    annotations/hcstvg_v1_<split>.json    (HC-STVG v1 raw format, + 'fps')
    annotations/charades_sta_<split>.txt  (TVG: 'VID start end##sentence')
    annotations/video_meta.json           (Charades-STA meta file)
    annotations/refcoco_<split>.json      (REC: MDETR-style COCO json)
    annotations/scenes_<split>.json       (scene records, below)
    annotations/llava_video_<split>.json  (captions + QA in LLaVA-Video's
                                           training format, see
                                           :mod:`.synthetic_language`)

A scene record (one per video, a list in video order) describes every shape::

    {"video_id": "synth_train_00000", "video": "synth_train_00000.mp4",
     "num_frames": 46, "fps": 8.0, "width": 64, "height": 64,
     "sentence": "the red circle moves left", "target_mode": "appear"|"move",
     "target_span_frames": [start, end],
     "objects": [{"role": "target"|"distractor", "color": "red",
                  "shape": "circle", "half_size": 5,
                  "motion": "left"|"right"|"up"|"down"|"still",
                  "move_span_frames": [start, end] | null,
                  "visible_span_frames": [first, last + 1],
                  "visible": [true, ...],          # one per frame
                  "centres": [[x, y], ...]}]}      # one per frame, pixels

Frame spans are half-open ``[start, end)`` 0-based frame indices; seconds
are ``frame / fps``. The target is ``objects[0]``; the distractors follow in
drawing order (the target is drawn last). ``centres`` are the integer pixel
centres ``(x, y)`` of the shape (also where it is not drawn); its drawn
pixels span ``[x - half_size, x + half_size]`` (inclusive, same for y).
``motion`` is the direction of the displacement while the shape is on its
path (``move_span_frames``: the target's span; the whole video for a
drifting distractor); ``visible`` means drawn (a shape drawn over another
one does not make that one invisible). Recording the scenes draws no random
number: videos and the other files are the same as without them.

The HC-STVG files follow the provider's convention (``st_frame`` 1-based,
``bbox`` xywh from ``st_frame`` on) so :class:`HCSTVGDataset` with its default
``st_frame_base=1`` loads them exactly; each entry also carries ``fps`` since
the videos are not 20 s long.
"""
import json
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine.utils import ProgressBar

from mmstvg.structures import paired_box_iou, span_iou
from .synthetic_language import write_llava_video

__all__ = ['generate_synthetic_stvg', 'COLORS', 'SHAPES', 'DIRECTIONS',
           'whole_video_centre_baseline']

#: RGB colours of the shapes.
COLORS: Dict[str, Tuple[int, int, int]] = dict(
    red=(220, 30, 30), green=(30, 185, 45), blue=(40, 80, 235),
    yellow=(240, 215, 30))
SHAPES = ('circle', 'square', 'triangle')
#: Unit displacement (dx, dy) of each direction, image axes (y down).
DIRECTIONS: Dict[str, Tuple[int, int]] = dict(
    left=(-1, 0), right=(1, 0), up=(0, -1), down=(0, 1))


def _draw_shape(canvas: np.ndarray, shape: str, centre: Tuple[int, int],
                half: int, color) -> None:
    cx, cy = centre
    if shape == 'circle':
        cv2.circle(canvas, (cx, cy), half, color, thickness=-1)
    elif shape == 'square':
        cv2.rectangle(canvas, (cx - half, cy - half), (cx + half, cy + half),
                      color, thickness=-1)
    else:
        points = np.array([[cx, cy - half], [cx - half, cy + half],
                           [cx + half, cy + half]], dtype=np.int32)
        cv2.fillPoly(canvas, [points], color)


def _texture(rng: np.random.Generator, size: int) -> np.ndarray:
    """A static muted background: smooth colour blobs, stripes and fine noise."""
    coarse = rng.integers(70, 150, size=(4, 4, 3)).astype(np.uint8)
    background = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    background = background.astype(np.int16)
    yy, xx = np.mgrid[0:size, 0:size]
    period = rng.uniform(6, 14)
    angle = rng.uniform(0, np.pi)
    stripes = 12 * np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)
    background += stripes[..., None].astype(np.int16)
    background += rng.integers(-10, 11, size=background.shape, dtype=np.int16)
    return np.clip(background, 0, 255).astype(np.uint8)


def _path(start: np.ndarray, end: np.ndarray, num: int) -> np.ndarray:
    """``num`` integer positions from ``start`` to ``end`` (inclusive)."""
    if num == 1:
        return np.round(start[None]).astype(np.int64)
    weights = np.linspace(0.0, 1.0, num)[:, None]
    return np.round(start[None] * (1 - weights) + end[None] * weights).astype(np.int64)


def _half_side(rng: np.random.Generator, size: int,
               object_size: Tuple[float, float]) -> int:
    """Half the side of a shape, drawn from ``object_size`` (fractions of ``size``)."""
    low = max(3, round(size * object_size[0]))
    return int(rng.integers(low, max(low + 1, round(size * object_size[1])) + 1))


def _object_record(role: str, color: str, shape: str, half: int,
                   centres: np.ndarray, visible: np.ndarray,
                   path_frames: Tuple[int, int]) -> dict:
    """The scene record of one shape, read off its per-frame centres.

    Args:
        role: ``'target'`` or ``'distractor'``.
        color / shape: its colour and shape names.
        half: half its side in pixels.
        centres: ``(num_frames, 2)`` integer ``(x, y)`` centres, also on
            frames where it is not drawn.
        visible: ``(num_frames,)`` whether it is drawn on each frame.
        path_frames: half-open ``[start, end)`` frames on which it follows
            its path (outside them it stands still).

    Returns:
        The record described in the module docstring: ``motion`` is the
        direction of the displacement over the path, or ``'still'`` (and
        ``move_span_frames`` None) when the path does not move it.
    """
    start, end = path_frames
    shift = centres[end - 1] - centres[start]
    motion = 'still'
    for name, unit in DIRECTIONS.items():
        if (np.sign(shift) == np.array(unit)).all():
            motion = name
    if motion == 'still' and shift.any():
        raise ValueError(f'the {color} {shape} moves by {shift.tolist()}, along no '
                         'single direction')
    shown = np.flatnonzero(visible)
    return dict(
        role=role, color=color, shape=shape, half_size=int(half), motion=motion,
        move_span_frames=None if motion == 'still' else [int(start), int(end)],
        visible_span_frames=[int(shown[0]), int(shown[-1]) + 1],
        visible=[bool(v) for v in visible],
        centres=[[int(x), int(y)] for x, y in centres])


def _make_video(rng: np.random.Generator, size: int, num_frames: int,
                span_fraction: Tuple[float, float], num_distractors: Sequence[int],
                object_size: Tuple[float, float] = (0.08, 0.12),
                appear_prob: float = 0.5):
    """Frames (RGB) and the annotation of one synthetic video.

    The annotation's ``objects`` are the scene records of the shapes (see
    :func:`_object_record`), the target first, then the distractors in the
    order they are drawn (the target is drawn last, on top).
    """
    half = _half_side(rng, size, object_size)
    lo, hi = half + 1, size - half - 2
    span_len = int(round(rng.uniform(*span_fraction) * num_frames))
    span_len = int(np.clip(span_len, 2, num_frames - 1))
    start = int(rng.integers(0, num_frames - span_len + 1))
    end = start + span_len
    appear = bool(rng.random() < appear_prob)
    color = str(rng.choice(list(COLORS)))
    shape = str(rng.choice(SHAPES))
    direction = str(rng.choice(list(DIRECTIONS)))
    dx, dy = DIRECTIONS[direction]

    # The target's path: at least 40 % of the free range along the direction.
    travel = int(rng.integers(int(0.4 * (hi - lo)), hi - lo + 1))
    along_start = int(rng.integers(lo, hi - travel + 1))
    across = int(rng.integers(lo, hi + 1))
    if dx:
        begin = np.array([along_start if dx > 0 else along_start + travel, across])
    else:
        begin = np.array([across, along_start if dy > 0 else along_start + travel])
    finish = begin + travel * np.array([dx, dy])
    moving = _path(begin.astype(float), finish.astype(float), span_len)
    target_pos = np.empty((num_frames, 2), dtype=np.int64)
    target_pos[:start] = moving[0]
    target_pos[start:end] = moving
    target_pos[end:] = moving[-1]
    visible = np.ones(num_frames, dtype=bool)
    if appear:
        visible[:start] = False
        visible[end:] = False

    # Scene records read the draws below; they add none.
    objects = [_object_record('target', color, shape, half, target_pos, visible,
                              (start, end))]
    distractors = []
    taken = {(color, shape)}
    for _ in range(int(rng.choice(num_distractors))):
        while True:
            d_color, d_shape = str(rng.choice(list(COLORS))), str(rng.choice(SHAPES))
            if (d_color, d_shape) not in taken:
                break
        taken.add((d_color, d_shape))
        d_half = _half_side(rng, size, object_size)
        d_lo, d_hi = d_half + 1, size - d_half - 2
        p0 = rng.integers(d_lo, d_hi + 1, size=2).astype(float)
        if rng.random() < 0.4:
            p1 = p0
        else:
            other = [d for d in DIRECTIONS if d != direction]
            ddx, ddy = DIRECTIONS[str(rng.choice(other))]
            dist = rng.uniform(0.3, 0.8) * (d_hi - d_lo)
            p1 = np.clip(p0 + dist * np.array([ddx, ddy]), d_lo, d_hi)
        d_path = _path(p0, p1, num_frames)
        distractors.append((d_color, d_shape, d_half, d_path))
        objects.append(_object_record('distractor', d_color, d_shape, d_half, d_path,
                                      np.ones(num_frames, dtype=bool), (0, num_frames)))

    background = _texture(rng, size)
    frames = np.empty((num_frames, size, size, 3), dtype=np.uint8)
    boxes = []
    mask = np.zeros((size, size), dtype=np.uint8)
    for t in range(num_frames):
        frame = background.copy()
        for d_color, d_shape, d_half, d_path in distractors:
            _draw_shape(frame, d_shape, tuple(int(v) for v in d_path[t]), d_half,
                        COLORS[d_color])
        if visible[t]:
            centre = tuple(int(v) for v in target_pos[t])
            _draw_shape(frame, shape, centre, half, COLORS[color])
            if start <= t < end:
                mask[:] = 0
                _draw_shape(mask, shape, centre, half, 1)
                ys, xs = np.nonzero(mask)
                boxes.append([int(xs.min()), int(ys.min()),
                              int(xs.max() + 1 - xs.min()),
                              int(ys.max() + 1 - ys.min())])
        frames[t] = frame
    annotation = dict(
        color=color, shape=shape, direction=direction, mode='appear' if appear else 'move',
        start=start, end=end, boxes_xywh=boxes,
        sentence=f'the {color} {shape} moves {direction}',
        phrase=f'the {color} {shape}', objects=objects)
    return frames, annotation


def _write_video(path: str, frames_rgb: np.ndarray, fps: float) -> None:
    height, width = frames_rgb.shape[1:3]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps,
                             (width, height))
    if not writer.isOpened():
        raise RuntimeError(f'OpenCV cannot write {path} with the mp4v codec')
    for frame in frames_rgb:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()


def whole_video_centre_baseline(entries: Dict[str, dict],
                                box_fraction: float = 0.5) -> Dict[str, float]:
    """Scores of always answering the whole video and a centred box.

    Computed with the span/box helpers on every frame of each video (the
    protocol's sampled frames = all frames): tIoU of ``[0, img_num)`` with the
    span, and vIoU = sum over span frames of IoU(centre box, GT box) /
    ``img_num`` (the union of the spans is the whole video).

    Args:
        entries: HC-STVG v1 raw entries (``st_frame`` 1-based).
        box_fraction: the centred box is this fraction of the frame's sides.

    Returns:
        ``{'m_tIoU': ..., 'm_vIoU': ...}`` in [0, 1].
    """
    t_ious, v_ious = [], []
    for entry in entries.values():
        num, width, height = entry['img_num'], entry['width'], entry['height']
        start = entry['st_frame'] - 1
        end = start + len(entry['bbox'])
        t_ious.append(float(span_iou(np.array([0, num]), np.array([start, end]))))
        gt = np.asarray(entry['bbox'], dtype=np.float64)
        gt[:, 2:] += gt[:, :2]
        bw, bh = width * box_fraction, height * box_fraction
        centre = np.array([(width - bw) / 2, (height - bh) / 2,
                           (width + bw) / 2, (height + bh) / 2])
        v_ious.append(float(paired_box_iou(gt, centre[None]).sum() / num))
    return dict(m_tIoU=float(np.mean(t_ious)), m_vIoU=float(np.mean(v_ious)))


def generate_synthetic_stvg(out_dir: str = 'data/synthetic_stvg',
                            num_train: int = 300,
                            num_val: int = 60,
                            num_test: int = 0,
                            size: int = 64,
                            frame_range: Tuple[int, int] = (32, 48),
                            fps: float = 8.0,
                            span_fraction: Tuple[float, float] = (0.25, 0.7),
                            num_distractors: Sequence[int] = (1, 2),
                            object_size: Tuple[float, float] = (0.08, 0.12),
                            appear_prob: float = 0.5,
                            seed: int = 0,
                            write_tvg: bool = True,
                            write_rec: bool = True,
                            write_language: bool = True,
                            show_progress: bool = False) -> dict:
    """Write the synthetic STVG set (videos + HC-STVG / TVG / REC / scene / LLaVA-Video files).

    Same arguments and seed give the same files.

    Args:
        out_dir: root folder (created).
        num_train / num_val / num_test: videos per split. Each video is
            drawn from its own seed ``(seed, split, index)``, so a larger
            split keeps its first videos and the splits never share one; a
            split of 0 videos writes no files.
        size: frame side in pixels (square frames).
        frame_range: inclusive range of frames per video.
        fps: frame rate of the videos.
        span_fraction: range of the span's share of the video.
        num_distractors: choices of the number of distractor shapes.
        object_size: range of a shape's half side, as fractions of ``size``.
        appear_prob: share of videos whose target is absent outside its
            span (it "appears"); in the others it stands still there.
        seed: the random seed.
        write_tvg: also write the Charades-STA-format files.
        write_rec: also write the REC images and MDETR-style json.
        write_language: also write ``llava_video_<split>.json``, captions
            and QA in words made from the scene records (no random draw;
            see :func:`mmstvg.datasets.synthetic_language.write_llava_video`).
            The scene records themselves are always written.
        show_progress: a progress bar per split on stderr (mmengine's
            ``ProgressBar``); it touches no random state.

    Returns:
        A summary: ``{'root', 'num_videos': {split: n}, 'files': [...],
        'val_baseline': {'m_tIoU', 'm_vIoU'}}`` (the whole-video + centre-box
        baseline on val, :func:`whole_video_centre_baseline`).
    """
    if size % 2:
        raise ValueError(f'size must be even for mp4, got {size}')
    video_dir = osp.join(out_dir, 'videos')
    ann_dir = osp.join(out_dir, 'annotations')
    os.makedirs(video_dir, exist_ok=True)
    os.makedirs(ann_dir, exist_ok=True)
    files: List[str] = []
    meta: Dict[str, dict] = {}
    summary: Dict[str, object] = dict(root=out_dir, num_videos={})
    baseline: Optional[Dict[str, float]] = None
    splits = (('train', num_train), ('val', num_val), ('test', num_test))
    for split_id, (split, count) in enumerate(splits):
        if split == 'test' and not count:
            continue  # sets made before the test split existed keep their files
        hcstvg: Dict[str, dict] = {}
        scenes: List[dict] = []
        tvg_lines: List[str] = []
        images, annotations = [], []
        if write_rec:
            os.makedirs(osp.join(out_dir, 'images', split), exist_ok=True)
        bar = ProgressBar(count, file=sys.stderr) if show_progress and count else None
        for index in range(count):
            rng = np.random.default_rng([seed, split_id, index])
            num_frames = int(rng.integers(frame_range[0], frame_range[1] + 1))
            frames, ann = _make_video(rng, size, num_frames, span_fraction,
                                      num_distractors, object_size, appear_prob)
            vid = f'synth_{split}_{index:05d}'
            _write_video(osp.join(video_dir, vid + '.mp4'), frames, fps)
            hcstvg[vid + '.mp4'] = dict(
                bbox=ann['boxes_xywh'],
                st_time=ann['start'] / fps,
                ed_time=ann['end'] / fps,
                img_num=num_frames,
                caption=ann['sentence'],
                width=size,
                height=size,
                st_frame=ann['start'] + 1,
                fps=fps)
            meta[vid] = dict(num_frames=num_frames, fps=fps, height=size,
                             width=size, duration=num_frames / fps)
            scenes.append(dict(
                video_id=vid, video=vid + '.mp4', num_frames=num_frames, fps=fps,
                width=size, height=size, sentence=ann['sentence'],
                target_mode=ann['mode'], target_span_frames=[ann['start'], ann['end']],
                objects=ann['objects']))
            tvg_lines.append(f'{vid} {ann["start"] / fps:.4f} '
                             f'{ann["end"] / fps:.4f}##{ann["sentence"]}.')
            if write_rec:
                mid = (ann['start'] + ann['end']) // 2
                file_name = f'{split}/{vid}.png'
                cv2.imwrite(osp.join(out_dir, 'images', file_name),
                            cv2.cvtColor(frames[mid], cv2.COLOR_RGB2BGR))
                box = ann['boxes_xywh'][mid - ann['start']]
                images.append(dict(id=index, file_name=file_name, height=size,
                                   width=size, caption=ann['phrase'],
                                   dataset_name='synthetic_rec',
                                   original_id=index))
                annotations.append(dict(id=index, image_id=index, bbox=box,
                                        area=box[2] * box[3], iscrowd=0,
                                        category_id=1))
            if bar is not None:
                bar.update()
        if bar is not None:
            sys.stderr.write('\n')
        path = osp.join(ann_dir, f'hcstvg_v1_{split}.json')
        with open(path, 'w') as f:
            json.dump(hcstvg, f)
        files.append(path)
        if write_tvg:
            path = osp.join(ann_dir, f'charades_sta_{split}.txt')
            with open(path, 'w') as f:
                f.write('\n'.join(tvg_lines) + '\n')
            files.append(path)
        if write_rec:
            path = osp.join(ann_dir, f'refcoco_{split}.json')
            with open(path, 'w') as f:
                json.dump(dict(images=images, annotations=annotations,
                               categories=[dict(id=1, name='object')]), f)
            files.append(path)
        path = osp.join(ann_dir, f'scenes_{split}.json')
        with open(path, 'w') as f:
            json.dump(scenes, f)
        files.append(path)
        if write_language:
            path = osp.join(ann_dir, f'llava_video_{split}.json')
            write_llava_video(scenes, path)
            files.append(path)
        summary['num_videos'][split] = count
        if split == 'val' and count:
            baseline = whole_video_centre_baseline(hcstvg)
    if write_tvg:
        path = osp.join(ann_dir, 'video_meta.json')
        with open(path, 'w') as f:
            json.dump(meta, f)
        files.append(path)
    summary['files'] = files
    summary['val_baseline'] = baseline
    return summary
