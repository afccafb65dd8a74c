"""One candidate STVG sample on its way through the construction filters.

A :class:`CandidateSample` holds what the detector saw on the sampled frames
of one video (every box above the score threshold, and the box chosen per
frame), which frames the filters still keep, and the span once it is refined.
Filters read and change it; :func:`candidate_to_hcstvg_entry` turns a kept one
into an HC-STVG v1 raw entry.

Conventions (``docs/en/conventions.md``): boxes are absolute-pixel ``xyxy`` of
the original frame, frame indices 0-based, spans half-open ``[start, end)``.
The HC-STVG entry written at the end uses the provider's convention instead
(``st_frame`` 1-based, ``bbox`` ``xywh`` for every frame from ``st_frame``).
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmstvg.structures import clip_boxes, paired_box_iou

__all__ = ['FrameDetections', 'CandidateSample', 'choose_boxes',
           'fill_span_boxes', 'candidate_to_hcstvg_entry', 'BOX_CHOICES']

#: How the one box of a frame is chosen among its detections.
BOX_CHOICES = ('highest_score', 'max_iou_with_previous')


@dataclass
class FrameDetections:
    """The detections of one phrase on one frame, best score first.

    Attributes:
        boxes: ``(N, 4)`` absolute-pixel ``xyxy`` boxes, scores above the
            detector's threshold.
        scores: ``(N,)`` their scores, in decreasing order.
    """

    boxes: np.ndarray
    scores: np.ndarray

    def __post_init__(self):
        self.boxes = np.asarray(self.boxes, dtype=np.float64).reshape(-1, 4)
        self.scores = np.asarray(self.scores, dtype=np.float64).reshape(-1)
        if len(self.boxes) != len(self.scores):
            raise ValueError(f'{len(self.boxes)} boxes but {len(self.scores)} scores')
        order = np.argsort(-self.scores, kind='stable')
        self.boxes, self.scores = self.boxes[order], self.scores[order]

    def __len__(self) -> int:
        return len(self.scores)


@dataclass
class CandidateSample:
    """A video, the object picked in its caption, and the detections of it.

    Attributes:
        key: the video's file name relative to the video root (the key of
            the HC-STVG entry written for it).
        caption: the input caption.
        object_phrase: the object the picker chose.
        sentence: the referring sentence written into the annotation.
        num_frames / fps / height / width: of the video.
        frame_inds: ``(S,)`` 0-based indices of the sampled frames,
            increasing.
        detections: one :class:`FrameDetections` per sampled frame.
        chosen_boxes: ``(S, 4)`` the box chosen per sampled frame (``nan``
            where the frame has no detection).
        keep: ``(S,)`` whether a sampled frame still counts as a detection
            of the object (it has a chosen box and no filter dropped it).
        span_frames: the refined half-open span, or ``None`` before
            refinement.
        frames_dropped: frames each filter rule dropped, by rule name.
    """

    key: str
    caption: str
    object_phrase: str
    sentence: str
    num_frames: int
    fps: float
    height: int
    width: int
    frame_inds: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    detections: List[FrameDetections] = field(default_factory=list)
    chosen_boxes: Optional[np.ndarray] = None
    keep: Optional[np.ndarray] = None
    span_frames: Optional[Tuple[int, int]] = None
    frames_dropped: Dict[str, int] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        """Seconds the whole video lasts."""
        return self.num_frames / self.fps

    def set_detections(self, frame_inds: Sequence[int],
                       detections: Sequence[FrameDetections],
                       box_choice: str = 'highest_score') -> None:
        """Store the detections of the sampled frames and choose one box each.

        Boxes are clipped to the frame first; a box with no area left is
        not a detection.
        """
        self.frame_inds = np.asarray(frame_inds, dtype=np.int64).reshape(-1)
        if len(detections) != len(self.frame_inds):
            raise ValueError(f'{len(detections)} detections for '
                             f'{len(self.frame_inds)} sampled frames')
        if np.any(np.diff(self.frame_inds) <= 0):
            raise ValueError('sampled frame indices must increase')
        self.detections = [self._clip(d) for d in detections]
        self.chosen_boxes = choose_boxes(self.detections, box_choice)
        self.keep = ~np.isnan(self.chosen_boxes[:, 0])

    def _clip(self, detections: FrameDetections) -> FrameDetections:
        """Boxes clipped to the frame; those left without area are no detections."""
        boxes = clip_boxes(detections.boxes, (self.height, self.width))
        valid = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        return FrameDetections(boxes[valid], detections.scores[valid])

    def drop_frames(self, drop: np.ndarray, rule: str) -> int:
        """Stop counting the sampled frames in ``drop`` as detections.

        Args:
            drop: ``(S,)`` bool, frames the rule rejects (kept ones only
                are counted).
            rule: the rule's name, for :attr:`frames_dropped`.

        Returns:
            How many kept frames were dropped.
        """
        drop = np.asarray(drop, dtype=bool) & self.keep
        count = int(drop.sum())
        self.keep = self.keep & ~drop
        self.frames_dropped[rule] = self.frames_dropped.get(rule, 0) + count
        return count

    def kept_frame_inds(self) -> np.ndarray:
        """0-based indices of the sampled frames still counted as detections."""
        return self.frame_inds[self.keep]


def choose_boxes(detections: Sequence[FrameDetections],
                 box_choice: str = 'highest_score') -> np.ndarray:
    """The one box per frame among its detections.

    Args:
        detections: per sampled frame, in frame order.
        box_choice: ``'highest_score'`` (the recipe's: the box scored highest
            for the phrase) or ``'max_iou_with_previous'`` (ours, not the
            paper's: after the first detected frame, the box overlapping the
            previous chosen box most, ties to the higher score; it keeps one
            identity when several objects match the phrase).

    Returns:
        ``(S, 4)`` boxes, ``nan`` rows for frames without detections.
    """
    if box_choice not in BOX_CHOICES:
        raise ValueError(f'box_choice must be one of {BOX_CHOICES}, got {box_choice!r}')
    chosen = np.full((len(detections), 4), np.nan)
    previous = None
    for i, frame in enumerate(detections):
        if not len(frame):
            continue
        index = 0
        if box_choice == 'max_iou_with_previous' and previous is not None:
            ious = paired_box_iou(frame.boxes, previous[None])
            index = int(np.argmax(ious))  # first maximum = highest score
        chosen[i] = frame.boxes[index]
        previous = chosen[i]
    return chosen


def fill_span_boxes(frame_inds: np.ndarray, boxes: np.ndarray,
                    span_frames: Tuple[int, int], fill: str = 'linear') -> np.ndarray:
    """One box for every frame of a span from the boxes of some of its frames.

    Args:
        frame_inds: ``(K,)`` increasing frame indices with a box, ``K >= 1``.
        boxes: ``(K, 4)`` their ``xyxy`` boxes.
        span_frames: the half-open span ``[start, end)`` to fill.
        fill: ``'linear'`` interpolates each coordinate between the two
            nearest detected frames (ours, not the paper's: the detector
            runs on sampled frames, the annotation needs every frame);
            ``'nearest'`` copies the box of the nearest detected frame
            (ties to the earlier). Outside the detected frames the first /
            last box is held.

    Returns:
        ``(end - start, 4)`` boxes.
    """
    frame_inds = np.asarray(frame_inds, dtype=np.float64)
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if not len(frame_inds):
        raise ValueError('fill_span_boxes needs at least one detected frame')
    targets = np.arange(span_frames[0], span_frames[1], dtype=np.float64)
    if fill == 'linear':
        return np.stack([np.interp(targets, frame_inds, boxes[:, k]) for k in range(4)],
                        axis=1)
    if fill == 'nearest':
        distance = np.abs(targets[:, None] - frame_inds[None])
        return boxes[np.argmin(distance, axis=1)]
    raise ValueError(f"fill must be 'linear' or 'nearest', got {fill!r}")


def candidate_to_hcstvg_entry(sample: CandidateSample, fill: str = 'linear',
                              decimals: int = 2) -> dict:
    """The HC-STVG v1 raw entry of a kept candidate.

    The span is :attr:`CandidateSample.span_frames` (or, without a refinement
    filter, from the first to the last kept frame). Boxes are filled for every
    frame of the span (:func:`fill_span_boxes`), clipped to the frame and
    written ``xywh``; ``st_frame`` is 1-based and ``ed_frame`` its inclusive
    1-based end, as :class:`~mmstvg.datasets.HCSTVGDataset` reads them. The
    entry carries ``fps`` (the videos need not last 20 s) and, beside the
    keys the dataset reads, ``object`` and ``source_caption``.

    Args:
        sample: a candidate with at least one kept frame.
        fill: see :func:`fill_span_boxes`.
        decimals: boxes and times are rounded to this many decimals.

    Returns:
        The entry (json-serialisable).
    """
    kept = sample.kept_frame_inds()
    if not len(kept):
        raise ValueError(f'{sample.key}: no kept frame to write')
    span = sample.span_frames or (int(kept[0]), int(kept[-1]) + 1)
    inside = (kept >= span[0]) & (kept < span[1])
    if not inside.any():
        raise ValueError(f'{sample.key}: no kept frame inside the span {span}')
    boxes = fill_span_boxes(kept[inside], sample.chosen_boxes[sample.keep][inside],
                            span, fill)
    boxes = clip_boxes(boxes, (sample.height, sample.width))
    xywh = np.round(np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1),
                    decimals)
    start, end = int(span[0]), int(span[1])
    return dict(
        bbox=xywh.tolist(),
        st_frame=start + 1,
        ed_frame=end,
        st_time=round(start / sample.fps, decimals + 2),
        ed_time=round(end / sample.fps, decimals + 2),
        img_num=int(sample.num_frames),
        caption=sample.sentence,
        width=int(sample.width),
        height=int(sample.height),
        fps=float(sample.fps),
        object=sample.object_phrase,
        source_caption=sample.caption)
