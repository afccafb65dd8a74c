"""Draw a predicted tube on a video: on the sampled frames, or on every frame.

The model predicts one box per *sampled* frame. A viewer wants the whole
video, so :func:`densify_tube` spreads the tube over every original frame of
the predicted span, and :func:`render_tube_video` draws it chunk by chunk with
:meth:`GroundingVisualizer.draw_frames` (predicted tube only) into an mp4,
without holding the whole video in memory. Each boxed frame's footer shows the
model's box score (interpolated as the box between sampled frames), none when
the model gives no score.

Several sentences about one video (the web demo) are drawn on the same frames
by :func:`draw_tubes` and :func:`render_tubes_video`: each sentence's tube in
its own colour (:data:`SENTENCE_COLORS`), and under the frame one footer per
sentence with its span, drawn by the same
:meth:`GroundingVisualizer.draw_frames`.
"""
import os
import os.path as osp
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np
import torch

from mmstvg.structures import GroundingDataSample, frames_in_span
from mmstvg.visualization import GroundingVisualizer

__all__ = ['densify_scores', 'densify_tube', 'sampled_box_scores', 'span_caption',
           'tube_sample_for_frames', 'SENTENCE_COLORS', 'sentence_color', 'draw_tubes',
           'Mp4StreamWriter', 'render_tube_video', 'render_tubes_video']

#: RGB colours of the sentences drawn on one video, in order: the visualizer's
#: red first; no green, the ground truth's colour.
SENTENCE_COLORS = ((255, 0, 0), (0, 110, 255), (255, 170, 0), (190, 0, 255),
                   (0, 200, 200), (255, 80, 170), (150, 95, 30), (140, 140, 255))


def sentence_color(index: int) -> Tuple[int, int, int]:
    """The colour of the ``index``-th sentence (the palette repeats)."""
    return SENTENCE_COLORS[index % len(SENTENCE_COLORS)]


def densify_tube(sampled_inds: np.ndarray, boxes: np.ndarray, span_frames: Tuple[int, int],
                 frame_inds: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The predicted tube at arbitrary original frames.

    A frame inside the half-open span ``[start, end)`` gets its box by linear
    interpolation, coordinate by coordinate, between the sampled frames of the
    span around it (``np.interp``); before the span's first / after its last
    sampled frame it holds that frame's box. Frames outside the span, or a
    span that holds no sampled frame, get no box.

    Args:
        sampled_inds: ``(T,)`` original indices of the sampled frames,
            non-decreasing (repeats allowed; the first box of a frame counts).
        boxes: ``(T, 4)`` pixel ``xyxy`` boxes of the sampled frames.
        span_frames: the predicted ``[start, end)``.
        frame_inds: ``(N,)`` original frames to give boxes to.

    Returns:
        ``(boxes, mask)``: float32 ``(N, 4)`` (zeros where masked out) and
        bool ``(N,)``.
    """
    sampled_inds = np.asarray(sampled_inds, dtype=np.int64).reshape(-1)
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    frame_inds = np.asarray(frame_inds, dtype=np.int64).reshape(-1)
    out = np.zeros((len(frame_inds), 4), dtype=np.float32)
    keep = frames_in_span(sampled_inds, span_frames)
    inds, first = np.unique(sampled_inds[keep], return_index=True)
    mask = frames_in_span(frame_inds, span_frames) & (len(inds) > 0)
    if not mask.any():
        return out, mask
    anchors = boxes[keep][first]
    for coord in range(4):
        out[mask, coord] = np.interp(frame_inds[mask], inds, anchors[:, coord])
    return out, mask


def span_caption(sentence: str, span_seconds, parse_ok: bool = True) -> str:
    """The caption drawn above the frames: the sentence, then the predicted span.

    The span is on its own line, which the visualizer's caption never cuts
    (:func:`~mmstvg.visualization.drawing.render_caption`): a long sentence
    is shortened, the span always shows.
    """
    if not parse_ok:
        return f'{sentence}\nspan: (no parsable answer)'
    return f'{sentence}\nspan: {float(span_seconds[0]):.2f}s - {float(span_seconds[1]):.2f}s'


def sampled_box_scores(sample: GroundingDataSample) -> Optional[np.ndarray]:
    """The model's box scores of the sampled frames, float64 ``(T,)``, or
    None when it gives none (or no boxes)."""
    if sample.get('pred_boxes') is None or sample.get('pred_box_scores') is None:
        return None
    return sample.pred_box_scores.detach().cpu().numpy().astype(np.float64).reshape(-1)


def densify_scores(sampled_inds: np.ndarray, scores: np.ndarray,
                   span_frames: Tuple[int, int], frame_inds: np.ndarray) -> np.ndarray:
    """The box scores at arbitrary original frames, interpolated as
    :func:`densify_tube` interpolates the boxes (a sampled frame keeps its own
    score; frames outside the span get 0, they show no box).

    Returns:
        float64 ``(N,)``.
    """
    sampled_inds = np.asarray(sampled_inds, dtype=np.int64).reshape(-1)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    frame_inds = np.asarray(frame_inds, dtype=np.int64).reshape(-1)
    out = np.zeros(len(frame_inds), dtype=np.float64)
    keep = frames_in_span(sampled_inds, span_frames)
    inds, first = np.unique(sampled_inds[keep], return_index=True)
    mask = frames_in_span(frame_inds, span_frames)
    if len(inds) and mask.any():
        out[mask] = np.interp(frame_inds[mask], inds, scores[keep][first])
    return out


def tube_sample_for_frames(sample: GroundingDataSample, frame_inds: np.ndarray,
                           boxes: Optional[np.ndarray], mask: np.ndarray,
                           caption: str,
                           scores: Optional[np.ndarray] = None) -> GroundingDataSample:
    """A data sample carrying the prediction on given original frames.

    Args:
        sample: the predicted sample (metainfo and ``pred_span_*``).
        frame_inds: ``(N,)`` original frames to draw.
        boxes: ``(N, 4)`` pixel boxes on those frames, or None (TVG).
        mask: ``(N,)`` frames that show a box.
        caption: the text drawn above each frame.
        scores: ``(N,)`` the boxes' scores on those frames (the footer shows
            them after ``Pred``), or None: no score is drawn.

    Returns:
        A new sample with only prediction fields (no ground truth).
    """
    meta = dict(sample.metainfo)
    frame_inds = np.asarray(frame_inds, dtype=np.int64)
    presentation = meta.get('presentation_times')  # a variable-frame-rate video
    times = (frame_inds / float(meta['fps']) if presentation is None else
             np.asarray(presentation, dtype=np.float64)[frame_inds])
    meta.update(frame_inds=frame_inds, frame_times=times, sentence=caption)
    drawn = GroundingDataSample(metainfo=meta)
    drawn.pred_span_frames = sample.pred_span_frames.clone()
    drawn.pred_span_seconds = sample.pred_span_seconds.clone()
    if boxes is not None:
        drawn.pred_boxes = torch.as_tensor(np.asarray(boxes, dtype=np.float32))
        drawn.pred_box_mask = torch.as_tensor(np.asarray(mask, dtype=bool))
        if scores is not None:
            scores = np.asarray(scores, dtype=np.float32).reshape(-1)
            if len(scores) != len(frame_inds):
                raise ValueError(f'{len(scores)} box scores for {len(frame_inds)} frames')
            drawn.pred_box_scores = torch.as_tensor(scores)
    return drawn


class Mp4StreamWriter:
    """Write RGB frames to an mp4 (OpenCV ``mp4v``, readable by decord) in pieces.

    Odd sizes are padded with one black row / column, as
    :meth:`GroundingVisualizer.write_video` does.

    Args:
        out_file: path of the ``.mp4``; its folder is created.
        fps: frame rate.
        fourcc: OpenCV's four-character codec code. ``'mp4v'`` (MPEG-4 part
            2) is what decord and players read but browsers do not play;
            ``'VP80'`` into a ``.webm`` file is VP8, which browsers play
            (OpenCV's wheels carry no H.264 encoder).
    """

    def __init__(self, out_file: str, fps: float, fourcc: str = 'mp4v'):
        self.out_file = out_file
        self.fps = float(fps)
        self.fourcc = fourcc
        self.writer = None
        self.size = None
        self.num_written = 0

    def write(self, frames: np.ndarray) -> None:
        """Append uint8 RGB frames ``(T, H, W, 3)`` of the same size as before."""
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.dtype != np.uint8 or frames.shape[-1] != 3:
            raise ValueError(f'{self.out_file}: frames must be uint8 (T, H, W, 3), '
                             f'got {frames.dtype} {frames.shape}')
        height, width = frames.shape[1:3]
        if self.writer is None:
            self.size = (height + height % 2, width + width % 2)
            if osp.dirname(self.out_file):
                os.makedirs(osp.dirname(self.out_file), exist_ok=True)
            self.writer = cv2.VideoWriter(self.out_file, cv2.VideoWriter_fourcc(*self.fourcc),
                                          self.fps, (self.size[1], self.size[0]))
            if not self.writer.isOpened():
                raise IOError(f'{self.out_file}: OpenCV could not open a '
                              f'{self.fourcc} writer')
        canvas = np.zeros(self.size + (3, ), np.uint8)
        for frame in frames:
            if frame.shape[:2] != (height, width) or (height + height % 2,
                                                      width + width % 2) != self.size:
                raise ValueError(f'{self.out_file}: frame size changed to {frame.shape}')
            canvas[:height, :width] = frame
            self.writer.write(np.ascontiguousarray(canvas[..., ::-1]))
            self.num_written += 1

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()
            self.writer = None

    def __enter__(self) -> 'Mp4StreamWriter':
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def render_tube_video(reader, sample: GroundingDataSample, visualizer: GroundingVisualizer,
                      out_file: str, boxes: Optional[np.ndarray], all_frames: bool = True,
                      fps: Optional[float] = None, chunk_size: int = 32) -> int:
    """Draw a predicted tube and span on a video and write it as an mp4.

    Args:
        reader: the video (``__len__``, ``get_avg_fps``, ``get_batch``;
            see :func:`~mmstvg.apis.inference_pipeline.open_video_source`).
        sample: the predicted sample (``frame_inds``, ``fps``, ``pred_*``).
        visualizer: draws each chunk with ``draw_frames(draw_gt=False)``.
        out_file: the ``.mp4`` to write.
        boxes: ``(T, 4)`` pixel boxes of the sampled frames as reported (e.g.
            clipped to the frame); None for no boxes (TVG).
        all_frames: every original frame at the video's fps, the tube
            interpolated by :func:`densify_tube` (its scores by
            :func:`densify_scores`); False: only the sampled
            frames (their own boxes, in-span frames boxed), at the
            visualizer's real-time rate.
        fps: frame rate of the written video; None as described above.
        chunk_size: frames decoded and drawn at a time.

    Returns:
        The number of frames written.
    """
    meta = sample.metainfo
    sampled = np.asarray(meta['frame_inds'], dtype=np.int64)
    span = tuple(int(v) for v in sample.pred_span_frames.tolist())
    caption = span_caption(meta['sentence'], sample.pred_span_seconds.tolist(),
                           bool(sample.get('pred_parse_ok', True)))
    scores = sampled_box_scores(sample)
    if all_frames:
        targets = np.arange(int(meta['num_frames']), dtype=np.int64)
        fps = fps or float(meta['fps'])
    else:
        targets = sampled
        fps = fps or visualizer._video_fps(sample, len(sampled))
    with Mp4StreamWriter(out_file, fps) as writer:
        for start in range(0, len(targets), chunk_size):
            inds = targets[start:start + chunk_size]
            frames = reader.get_batch(inds.tolist())
            frames = frames.asnumpy() if hasattr(frames, 'asnumpy') else np.asarray(frames)
            chunk_scores = None
            if boxes is None:
                chunk_boxes, mask = None, frames_in_span(inds, span)
            elif all_frames:
                chunk_boxes, mask = densify_tube(sampled, boxes, span, inds)
                if scores is not None:
                    chunk_scores = densify_scores(sampled, scores, span, inds)
            else:
                chunk_boxes = np.asarray(boxes)[start:start + chunk_size]
                mask = frames_in_span(inds, span)
                if scores is not None:
                    chunk_scores = scores[start:start + chunk_size]
            drawn = tube_sample_for_frames(sample, inds, chunk_boxes, mask, caption,
                                           chunk_scores)
            writer.write(visualizer.draw_frames(frames, drawn, draw_gt=False, draw_pred=True,
                                                show_text=True, show_sentence=True))
        return writer.num_written


def _tube_at(sample: GroundingDataSample, boxes: Optional[np.ndarray],
             frame_inds: np.ndarray):
    """One prediction at given original frames: ``(boxes or None, mask, scores
    or None)``, the tube and its scores interpolated as in :func:`densify_tube`
    (a sampled frame keeps its own box)."""
    sampled = np.asarray(sample.metainfo['frame_inds'], dtype=np.int64)
    span = tuple(int(v) for v in sample.pred_span_frames.tolist())
    if boxes is None:
        return None, frames_in_span(frame_inds, span), None
    tube, mask = densify_tube(sampled, boxes, span, frame_inds)
    scores = sampled_box_scores(sample)
    if scores is not None:
        scores = densify_scores(sampled, scores, span, frame_inds)
    return tube, mask, scores


def draw_tubes(frames: np.ndarray, frame_inds: np.ndarray,
               samples: Sequence[GroundingDataSample],
               boxes: Sequence[Optional[np.ndarray]], visualizer: GroundingVisualizer,
               colors: Optional[Sequence[Tuple[int, int, int]]] = None,
               min_width: Optional[int] = None,
               max_width: Optional[int] = None) -> np.ndarray:
    """Draw the predictions of several sentences about one video on its frames.

    Each sentence's tube is drawn in its colour by
    :meth:`GroundingVisualizer.draw_frames` (the later sentences' boxes over
    the earlier ones'), and under the frames come one footer per sentence, in
    the sentences' order: the frame's time, ``Pred`` and the box score in the
    sentence's colour inside its span, the time bar with its span. No caption:
    the sentences are told apart by colour (the caller shows the legend).

    Args:
        frames: uint8 RGB ``(N, H, W, 3)``, original frames of the video.
        frame_inds: ``(N,)`` their original indices.
        samples: the predicted samples, one per sentence, of this video.
        boxes: per sample, ``(T, 4)`` pixel boxes of its sampled frames as
            reported (clipped), or None (no boxes).
        visualizer: draws the tubes and the footers.
        colors: RGB per sample; None: :func:`sentence_color` in order.
        min_width: frames narrower than this are enlarged to it first
            (aspect kept, ``cv2.INTER_LINEAR``, boxes scaled with them), so
            that the footers of a small video can be read.
        max_width: frames wider than this are shrunk to it first
            (``cv2.INTER_AREA``), which bounds the cost of encoding them.

    Returns:
        uint8 RGB ``(N, H' + footers, W', 3)``; the frames occupy the first
        ``H'`` rows (``H' = H`` unless resized).
    """
    frames = np.asarray(frames)
    frame_inds = np.asarray(frame_inds, dtype=np.int64).reshape(-1)
    if len(samples) != len(boxes):
        raise ValueError(f'{len(samples)} samples but {len(boxes)} box arrays')
    if colors is None:
        colors = [sentence_color(k) for k in range(len(samples))]
    height, width = frames.shape[1:3]
    target, interpolation = None, cv2.INTER_LINEAR
    if min_width is not None and width < min_width:
        target = int(min_width)
    elif max_width is not None and width > max_width:
        target, interpolation = int(max_width), cv2.INTER_AREA
    if target is not None:
        size = (target, max(1, int(round(height * target / width))))
        frames = np.stack([cv2.resize(f, size, interpolation=interpolation)
                           for f in frames])
        height, width = frames.shape[1:3]
    canvas, footers = frames, []
    for sample, sample_boxes, color in zip(samples, boxes, colors):
        tube, mask, scores = _tube_at(sample, sample_boxes, frame_inds)
        if tube is not None:  # original pixels -> pixels of the frames drawn on
            ori_h, ori_w = (int(v) for v in sample.metainfo['ori_shape'][:2])
            tube = tube * np.array([width / ori_w, height / ori_h] * 2, np.float32)
        drawn = tube_sample_for_frames(sample, frame_inds, tube, mask, '', scores)
        # the frames as drawn so far are this sample's original frames
        drawn.set_metainfo(dict(ori_shape=(height, width), img_shape=(height, width)))
        out = visualizer.draw_frames(canvas, drawn, draw_gt=False, draw_pred=True,
                                     show_text=True, show_sentence=False,
                                     pred_color=color)
        canvas = out[:, :height]
        footers.append(out[:, height:])
    return np.concatenate([canvas] + footers, axis=1)


def _one_video(samples: Sequence[GroundingDataSample]) -> GroundingDataSample:
    """The first sample, after checking that all describe the same video."""
    if not samples:
        raise ValueError('no predicted samples to draw')
    first = samples[0].metainfo
    for sample in samples[1:]:
        meta = sample.metainfo
        if (int(meta['num_frames']), float(meta['fps']), tuple(meta['ori_shape'][:2])) != (
                int(first['num_frames']), float(first['fps']), tuple(first['ori_shape'][:2])):
            raise ValueError('the samples to draw on one video differ in frame count, '
                             f'fps or size: {first.get("sample_id")} and '
                             f'{meta.get("sample_id")}')
    return samples[0]


def render_tubes_video(reader, samples: Sequence[GroundingDataSample],
                       visualizer: GroundingVisualizer, out_file: str,
                       boxes: Sequence[Optional[np.ndarray]],
                       colors: Optional[Sequence[Tuple[int, int, int]]] = None,
                       min_width: Optional[int] = None,
                       max_width: Optional[int] = None, fourcc: str = 'mp4v',
                       chunk_size: int = 32) -> int:
    """Write every frame of a video with several sentences' tubes drawn.

    Each frame is drawn by :func:`draw_tubes` (every sentence's tube
    interpolated between its sampled frames, one footer per sentence), at the
    video's own frame rate.

    Args:
        reader: the video (``__len__``, ``get_avg_fps``, ``get_batch``).
        samples: the predicted samples of this video, one per sentence.
        visualizer: draws the tubes and footers.
        out_file: the video to write.
        boxes: per sample, its sampled frames' boxes as reported, or None.
        colors: RGB per sample; None: :func:`sentence_color` in order.
        min_width, max_width: see :func:`draw_tubes`.
        fourcc: the codec (see :class:`Mp4StreamWriter`).
        chunk_size: frames decoded and drawn at a time.

    Returns:
        The number of frames written.
    """
    meta = _one_video(samples).metainfo
    targets = np.arange(int(meta['num_frames']), dtype=np.int64)
    with Mp4StreamWriter(out_file, float(meta['fps']), fourcc) as writer:
        for start in range(0, len(targets), chunk_size):
            inds = targets[start:start + chunk_size]
            frames = reader.get_batch(inds.tolist())
            frames = frames.asnumpy() if hasattr(frames, 'asnumpy') else np.asarray(frames)
            writer.write(draw_tubes(frames, inds, samples, boxes, visualizer, colors,
                                    min_width, max_width))
        return writer.num_written
