"""Draw ground-truth and predicted tubes on the sampled frames of a sample.

A spatio-temporal grounding result is a time span plus one box per frame in
that span. :class:`GroundingVisualizer` draws both the ground truth and the
prediction of one :class:`~mmstvg.structures.GroundingDataSample` on its
sampled frames:

- the GT box (green) on the frames where ``gt_box_mask`` is True and the
  predicted box (red) on the frames where ``pred_box_mask`` is True, as
  outlines drawn *inward*: a box ``[x1, x2) x [y1, y2)`` in pixels colours
  columns ``x1 .. x1 + w - 1`` and ``x2 - w .. x2 - 1`` (``w`` the line
  width), likewise for rows, so the outline never leaves the box;
- below each frame, a label row (the frame's time, then ``GT`` and ``Pred``
  coloured when the frame lies in that span, grey when it does not, and the
  box score) and a time bar over the whole video: the GT span in the upper
  half, the predicted span in the lower half, a white tick at the frame;
- the sentence, wrapped, as a caption above a grid of all frames (pictures)
  or above every frame (videos);
- images (task ``rec``) carry no time: their footer is the label row alone.

Picture grids are capped at ``max_grid_size`` pixels a side: the frames of a
large video are drawn smaller first (so the text is drawn at the size it is
read at), and a grid still over the cap is shrunk to fit.

Drawing is plain numpy slicing and ``cv2.putText`` (:mod:`.drawing`,
:mod:`.time_bar`), not MMEngine's matplotlib-backed ``draw_bboxes``: boxes land
on exact pixels, and 64 frames of 384 px draw in well under 0.1 s on one CPU
core (measured: ~0.07 s).
"""
import math
import os
import os.path as osp
from typing import List, Optional, Tuple, Union

import cv2
import numpy as np
import torch
from mmengine.visualization import Visualizer

from mmstvg.registry import VISUALIZERS
from mmstvg.structures import GroundingDataSample
from .drawing import (Color, draw_box_outline, render_caption, sample_name,
                      to_even, to_numpy)
from .time_bar import footer_layout, render_footers

FramesLike = Union[np.ndarray, torch.Tensor]

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp')
VIDEO_EXTENSIONS = ('.mp4', )


@VISUALIZERS.register_module()
class GroundingVisualizer(Visualizer):
    """Draws GT vs predicted tubes and spans on the frames of a sample.

    Args:
        name: instance name (MMEngine's :class:`ManagerMixin`).
        image: optional image to start with (MMEngine's ``set_image``).
        vis_backends: MMEngine vis backends (``LocalVisBackend``,
            ``TensorboardVisBackend`` ...) that ``add_datasample`` sends its
            picture to (see its ``add_to_backends``).
        save_dir: directory of the vis backends.
        gt_color: RGB colour of the ground truth. Defaults to green.
        pred_color: RGB colour of the prediction. Defaults to red.
        line_width: box outline width in pixels of the drawn frames; None
            picks ``max(1, round(min(H, W) / 160))`` (2 px at 384 px).
        font_scale: cv2 font scale of labels and captions; None picks
            ``clip(W / 800, 0.3, 1.0)``.
        video_fps: frame rate of written videos; None plays the sampled frames
            in real time (``T / duration``, clipped to [1, 30]).
        grid_ncols: columns of the picture grid; None picks ``ceil(sqrt(T))``.
        max_caption_lines: the sentence is wrapped to at most this many lines
            (the last one ends with ``...`` when cut).
        grid_gap: pixels of white between grid cells.
        max_grid_size: longest side in pixels of a picture grid (png, the
            window, the vis backends); None for no cap.
        fig_save_cfg: passed to MMEngine's :class:`Visualizer`.
        fig_show_cfg: passed to MMEngine's :class:`Visualizer`.
    """

    def __init__(self,
                 name: str = 'visualizer',
                 image: Optional[np.ndarray] = None,
                 vis_backends: Optional[Union[dict, List[dict]]] = None,
                 save_dir: Optional[str] = None,
                 gt_color: Color = (0, 255, 0),
                 pred_color: Color = (255, 0, 0),
                 line_width: Optional[int] = None,
                 font_scale: Optional[float] = None,
                 video_fps: Optional[float] = None,
                 grid_ncols: Optional[int] = None,
                 max_caption_lines: int = 3,
                 grid_gap: int = 2,
                 max_grid_size: Optional[int] = 4096,
                 fig_save_cfg: dict = dict(frameon=False),
                 fig_show_cfg: dict = dict(frameon=False)) -> None:
        super().__init__(
            name=name,
            image=image,
            vis_backends=vis_backends,
            save_dir=save_dir,
            fig_save_cfg=fig_save_cfg,
            fig_show_cfg=fig_show_cfg)
        self.gt_color = tuple(int(c) for c in gt_color)
        self.pred_color = tuple(int(c) for c in pred_color)
        self.line_width = line_width
        self.font_scale = font_scale
        self.video_fps = video_fps
        self.grid_ncols = grid_ncols
        self.max_caption_lines = max_caption_lines
        self.grid_gap = grid_gap
        if max_grid_size is not None and max_grid_size < 16:
            raise ValueError(f'max_grid_size must be at least 16 px, got {max_grid_size}')
        self.max_grid_size = max_grid_size

    # ------------------------------------------------------------------ frames
    @staticmethod
    def frames_to_numpy(frames: FramesLike,
                        data_sample: Optional[GroundingDataSample] = None
                        ) -> np.ndarray:
        """View frames as a uint8 RGB array ``(T, H, W, 3)`` without copying.

        Args:
            frames: a numpy array ``(T, H, W, 3)`` or ``(H, W, 3)``, or a
                tensor ``(T, 3, H, W)`` or ``(3, H, W)`` (the pipeline's
                ``inputs``), uint8 RGB.
            data_sample: only used to name the sample in errors.

        Returns:
            A uint8 array ``(T, H, W, 3)``, possibly a strided view of the
            input: copy it before drawing on it.

        Raises:
            ValueError: when the frames are not uint8 or not 3-channel.
        """
        if isinstance(frames, torch.Tensor):
            if frames.dtype != torch.uint8:
                raise ValueError(f'{sample_name(data_sample)}: frames must be '
                                 f'uint8, got {frames.dtype}')
            if frames.ndim == 3:
                frames = frames[None]
            if frames.ndim != 4 or frames.shape[1] != 3:
                raise ValueError(f'{sample_name(data_sample)}: frame tensors '
                                 'must be (T, 3, H, W), got '
                                 f'{tuple(frames.shape)}')
            return frames.detach().cpu().numpy().transpose(0, 2, 3, 1)
        array = np.asarray(frames)
        if array.dtype != np.uint8:
            raise ValueError(f'{sample_name(data_sample)}: frames must be '
                             f'uint8, got {array.dtype}')
        if array.ndim == 3:
            array = array[None]
        if array.ndim != 4 or array.shape[-1] != 3:
            raise ValueError(f'{sample_name(data_sample)}: frame arrays '
                             f'must be (T, H, W, 3), got {array.shape}')
        return array

    @staticmethod
    def box_scale(frame_size: Tuple[int, int],
                  data_sample: GroundingDataSample) -> Tuple[float, float]:
        """Factors ``(sx, sy)`` from original pixels to pixels of the frames.

        Frames at the original size (``ori_shape``) need no scaling. Frames
        that came out of the pipeline's resize (and bottom/right padding) are
        at least ``img_shape`` large and get ``img_shape / ori_shape``.

        Args:
            frame_size: ``(H, W)`` of the frames to draw on.
            data_sample: carries ``ori_shape`` and optionally ``img_shape``.

        Returns:
            ``(sx, sy)``, the width and height factors.

        Raises:
            ValueError: when the frame size fits neither shape.
        """
        meta = data_sample.metainfo
        height, width = frame_size
        ori_shape = meta.get('ori_shape')
        if ori_shape is None:
            ori_shape = (meta['height'], meta['width']) if (
                'height' in meta and 'width' in meta) else None
        if ori_shape is None:
            raise ValueError(f'{sample_name(data_sample)}: the data sample has '
                             'no ori_shape, needed to place its boxes')
        ori_h, ori_w = (int(v) for v in ori_shape[:2])
        if (height, width) == (ori_h, ori_w):
            return 1.0, 1.0
        img_shape = meta.get('img_shape')
        if img_shape is not None:
            img_h, img_w = (int(v) for v in img_shape[:2])
            if height >= img_h and width >= img_w:
                return img_w / ori_w, img_h / ori_h
        raise ValueError(
            f'{sample_name(data_sample)}: frames of size {(height, width)} '
            f'match neither ori_shape {(ori_h, ori_w)} nor img_shape '
            f'{img_shape} (padded at the bottom/right)')

    # ------------------------------------------------------------ text bands
    def render_caption(self, text: str, width: int) -> np.ndarray:
        """The sentence as a wrapped text band ``(h, width, 3)``.

        See :func:`~mmstvg.visualization.drawing.render_caption`; uses this
        visualizer's ``font_scale`` and ``max_caption_lines``.
        """
        return render_caption(text, width, self.font_scale,
                              self.max_caption_lines)

    def footer_layout(self, width: int, time_bar: bool = True) -> dict:
        """Geometry of the footer under a frame of this width.

        See :func:`~mmstvg.visualization.time_bar.footer_layout`.
        """
        return footer_layout(width, self.font_scale, time_bar)

    # ---------------------------------------------------------------- drawing
    def _draw_tube(self, frames: np.ndarray, data_sample: GroundingDataSample,
                   prefix: str, color: Color, scale: Tuple[float, float],
                   line_width: int) -> None:
        """Draw the ``gt`` or ``pred`` boxes on the frames of their mask."""
        boxes = data_sample.get(f'{prefix}_boxes')
        if boxes is None:
            return
        boxes = to_numpy(boxes).astype(np.float64).reshape(-1, 4)
        if boxes.shape[0] != frames.shape[0]:
            raise ValueError(f'{sample_name(data_sample)}: {prefix}_boxes has '
                             f'{boxes.shape[0]} rows for {frames.shape[0]} '
                             'frames')
        mask = data_sample.get(f'{prefix}_box_mask')
        mask = np.ones(len(boxes), dtype=bool) if mask is None else to_numpy(
            mask).astype(bool).reshape(-1)
        if mask.shape[0] != frames.shape[0]:
            raise ValueError(f'{sample_name(data_sample)}: {prefix}_box_mask '
                             f'has {mask.shape[0]} entries for '
                             f'{frames.shape[0]} frames')
        factors = np.array([scale[0], scale[1], scale[0], scale[1]])
        for k in np.flatnonzero(mask):
            draw_box_outline(frames[k], boxes[k] * factors, color, line_width)

    def draw_frames(self,
                    frames: FramesLike,
                    data_sample: Optional[GroundingDataSample],
                    draw_gt: bool = True,
                    draw_pred: bool = True,
                    show_text: bool = True,
                    show_sentence: bool = True,
                    max_width: Optional[int] = None,
                    pred_color: Optional[Color] = None) -> np.ndarray:
        """Draw the GT and predicted tubes of a sample on its sampled frames.

        Args:
            frames: the sample's sampled frames, uint8 RGB, a numpy array
                ``(T, H, W, 3)`` or a tensor ``(T, 3, H, W)``; either at the
                original size (``ori_shape``) or the pipeline's resized (and
                bottom/right padded) frames, whose boxes are then scaled by
                ``img_shape / ori_shape``.
            data_sample: the sample; its boxes are in original pixels, xyxy.
                None returns the frames undrawn.
            draw_gt: draw ``gt_boxes`` where ``gt_box_mask`` and the GT span.
            draw_pred: draw ``pred_boxes`` where ``pred_box_mask`` and the
                predicted span.
            show_text: add a footer under each frame (time, span flags,
                box score, time bar).
            show_sentence: with ``show_text``, also put the sentence as a
                caption above every frame.
            max_width: frames wider than this are shrunk to it (aspect kept,
                ``cv2.INTER_AREA``) before drawing, boxes with them.
            pred_color: RGB colour of the predicted boxes and span; None:
                the visualizer's ``pred_color``. Several predictions drawn on
                the same frames (one per sentence) are told apart by it.

        Returns:
            uint8 RGB array ``(T, H', W, 3)``; ``H' = H`` without text, else
            ``H`` plus the footer (and caption) heights. The frame itself
            occupies rows ``[caption_h, caption_h + H)``. With ``max_width``
            below the frame width, ``W`` and ``H`` are the shrunk size.

        Raises:
            ValueError: naming the sample and field on inconsistent input.
        """
        source = self.frames_to_numpy(frames, data_sample)
        if data_sample is None:
            return source.copy()
        num, height, width = source.shape[:3]
        meta = data_sample.metainfo
        if 'frame_inds' in meta and len(meta['frame_inds']) != num:
            raise ValueError(f'{sample_name(data_sample)}: {num} frames given '
                             f'for {len(meta["frame_inds"])} frame_inds')
        scale = self.box_scale((height, width), data_sample)
        pred_color = self.pred_color if pred_color is None else tuple(
            int(c) for c in pred_color)
        if max_width is not None and width > max_width:
            new_w = max(1, int(max_width))
            new_h = max(1, int(round(height * new_w / width)))
            source = np.stack([
                cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_AREA)
                for frame in source
            ])
            scale = (scale[0] * new_w / width, scale[1] * new_h / height)
            height, width = new_h, new_w

        # One canvas for caption, frame and footer: the frames are copied
        # (and transposed from a tensor) once, straight into it.
        caption = footers = None
        if show_text:
            footers = render_footers(
                data_sample, width, num,
                gt_color=self.gt_color if draw_gt else None,
                pred_color=pred_color if draw_pred else None,
                font_scale=self.font_scale)
            if show_sentence:
                caption = self.render_caption(meta.get('sentence', ''), width)
        caption_h = 0 if caption is None else caption.shape[0]
        footer_h = 0 if footers is None else footers.shape[1]
        canvas = np.empty((num, caption_h + height + footer_h, width, 3),
                          dtype=np.uint8)
        drawn = canvas[:, caption_h:caption_h + height]
        drawn[:] = source
        if caption is not None:
            canvas[:, :caption_h] = caption
        if footers is not None:
            canvas[:, caption_h + height:] = footers

        line_width = self.line_width or max(1, int(round(min(height, width) / 160)))
        if draw_gt:
            self._draw_tube(drawn, data_sample, 'gt', self.gt_color, scale,
                            line_width)
        if draw_pred:
            self._draw_tube(drawn, data_sample, 'pred', pred_color, scale,
                            line_width)
        return canvas

    def _grid_ncols(self, num: int, ncols: Optional[int] = None) -> int:
        """Columns of a grid of ``num`` frames."""
        ncols = ncols or self.grid_ncols or int(math.ceil(math.sqrt(num)))
        return max(1, min(int(ncols), num))

    def grid_frame_width(self, num: int, height: int, width: int,
                         ncols: Optional[int] = None) -> int:
        """Width to draw ``num`` frames of ``height x width`` at for a grid.

        The widest frames whose grid (frames, footers, gaps) fits
        ``max_grid_size`` on both sides, and at most ``width``; the caption
        is left out, so :meth:`make_grid` may still shrink the grid a little.
        """
        if self.max_grid_size is None:
            return width
        ncols = self._grid_ncols(num, ncols)
        nrows = int(math.ceil(num / ncols))
        gap = self.grid_gap
        cell_w = (self.max_grid_size - (ncols - 1) * gap) / ncols
        cell_h = (self.max_grid_size - (nrows - 1) * gap) / nrows
        footer_h = self.footer_layout(width)['height']
        factor = min(1.0, cell_w / width, cell_h / (height + footer_h))
        return max(1, min(width, int(math.floor(width * factor))))

    def make_grid(self,
                  frames: np.ndarray,
                  ncols: Optional[int] = None,
                  caption: Optional[str] = None) -> np.ndarray:
        """Tile frames row by row into one picture.

        Args:
            frames: uint8 array ``(T, H, W, 3)``.
            ncols: columns; None uses ``grid_ncols`` or ``ceil(sqrt(T))``.
            caption: optional text rendered in a band above the grid.

        Returns:
            uint8 array of ``rows * H + (rows - 1) * gap`` (plus the caption)
            by ``ncols * W + (ncols - 1) * gap``; cell ``(r, c)`` starts at
            ``(r * (H + gap), c * (W + gap))`` below the caption; unused
            cells are black, gaps white. A grid over ``max_grid_size``
            on a side is then shrunk to fit (``cv2.INTER_AREA``).
        """
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[0] == 0:
            raise ValueError(f'make_grid needs frames (T, H, W, 3) with T > 0, '
                             f'got {frames.shape}')
        num, height, width = frames.shape[:3]
        ncols = self._grid_ncols(num, ncols)
        nrows = int(math.ceil(num / ncols))
        gap = self.grid_gap
        grid = np.full((nrows * height + (nrows - 1) * gap,
                        ncols * width + (ncols - 1) * gap, 3), 255, np.uint8)
        for k in range(nrows * ncols):
            row, col = divmod(k, ncols)
            y, x = row * (height + gap), col * (width + gap)
            grid[y:y + height, x:x + width] = frames[k] if k < num else 0
        if caption is not None:
            grid = np.concatenate(
                [self.render_caption(caption, grid.shape[1]), grid], axis=0)
        longest = max(grid.shape[:2])
        if self.max_grid_size is not None and longest > self.max_grid_size:
            factor = self.max_grid_size / longest
            size = (max(1, int(grid.shape[1] * factor)),
                    max(1, int(grid.shape[0] * factor)))
            grid = cv2.resize(grid, size, interpolation=cv2.INTER_AREA)
        return grid

    @staticmethod
    def write_video(frames: np.ndarray, out_file: str, fps: float) -> None:
        """Write RGB frames to an mp4 (OpenCV's ``mp4v``) that decord reads.

        Odd heights or widths are padded by one black row/column.

        Args:
            frames: uint8 array ``(T, H, W, 3)``, RGB.
            out_file: path of the ``.mp4``; its folder is created.
            fps: frame rate.

        Raises:
            IOError: when OpenCV cannot open the writer.
        """
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[0] == 0 or frames.dtype != np.uint8:
            raise ValueError(f'{out_file}: write_video needs uint8 frames '
                             f'(T, H, W, 3) with T > 0, got {frames.shape} '
                             f'{frames.dtype}')
        num, height, width = frames.shape[:3]
        even_h, even_w = to_even(height), to_even(width)
        if (even_h, even_w) != (height, width):
            padded = np.zeros((num, even_h, even_w, 3), np.uint8)
            padded[:, :height, :width] = frames
            frames = padded
        if osp.dirname(out_file):
            os.makedirs(osp.dirname(out_file), exist_ok=True)
        writer = cv2.VideoWriter(out_file, cv2.VideoWriter_fourcc(*'mp4v'),
                                 float(fps), (even_w, even_h))
        if not writer.isOpened():
            raise IOError(f'{out_file}: OpenCV could not open an mp4v writer')
        try:
            for frame in frames:
                writer.write(np.ascontiguousarray(frame[..., ::-1]))
        finally:
            writer.release()

    def _video_fps(self, data_sample: Optional[GroundingDataSample],
                   num: int) -> float:
        """``video_fps``, or the real-time rate of the sampled frames."""
        if self.video_fps:
            return float(self.video_fps)
        meta = data_sample.metainfo if data_sample is not None else {}
        duration = meta.get('duration')
        if not duration and meta.get('fps') and meta.get('num_frames'):
            duration = meta['num_frames'] / meta['fps']
        if not duration:
            return 4.0
        return float(np.clip(num / float(duration), 1.0, 30.0))

    def add_datasample(self,
                       name: str,
                       image: FramesLike,
                       data_sample: Optional[GroundingDataSample] = None,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       show: bool = False,
                       wait_time: float = 0,
                       out_file: Optional[str] = None,
                       step: int = 0,
                       add_to_backends: Optional[bool] = None) -> None:
        """Draw a sample and write it to a file, the vis backends or a window.

        Args:
            name: image name for the vis backends and the window.
            image: the sample's frames (see :meth:`draw_frames`).
            data_sample: the sample with GT and/or prediction fields.
            draw_gt: draw the ground truth.
            draw_pred: draw the prediction.
            show: show the grid in a window (needs a display).
            wait_time: seconds the window stays open (0 = until closed).
            out_file: ``.png``/``.jpg`` writes the grid of frames with the
                sentence on top; ``.mp4`` writes the drawn frames as a video
                with the sentence on every frame.
            step: global step for the vis backends.
            add_to_backends: send the grid to the vis backends with
                ``add_image`` (e.g. TensorBoard); None does so only when no
                ``out_file`` is given (as mmdet's visualizers do).

        Raises:
            ValueError: on an unknown ``out_file`` extension.
        """
        ext = osp.splitext(out_file)[1].lower() if out_file else ''
        if out_file and ext not in IMAGE_EXTENSIONS + VIDEO_EXTENSIONS:
            raise ValueError(f'{out_file}: unknown extension {ext!r}; use one of '
                             f'{IMAGE_EXTENSIONS + VIDEO_EXTENSIONS}')
        if add_to_backends is None:
            add_to_backends = out_file is None
        sentence = None if data_sample is None else data_sample.metainfo.get(
            'sentence')

        if ext in VIDEO_EXTENSIONS:
            drawn = self.draw_frames(
                image, data_sample, draw_gt, draw_pred, show_text=True,
                show_sentence=False)
            if sentence is not None:
                caption = self.render_caption(sentence, drawn.shape[2])
                video = np.concatenate([
                    np.broadcast_to(caption, (len(drawn), ) + caption.shape),
                    drawn
                ], axis=1)
            else:
                video = drawn
            self.write_video(video, out_file,
                             self._video_fps(data_sample, len(drawn)))
        if ext in IMAGE_EXTENSIONS or show or add_to_backends:
            frames = self.frames_to_numpy(image, data_sample)
            max_width = self.grid_frame_width(*frames.shape[:3])
            drawn = self.draw_frames(
                frames, data_sample, draw_gt, draw_pred, show_text=True,
                show_sentence=False, max_width=max_width)
            grid = self.make_grid(drawn, caption=sentence)
            if ext in IMAGE_EXTENSIONS:
                if osp.dirname(out_file):
                    os.makedirs(osp.dirname(out_file), exist_ok=True)
                # Fast PNG compression: a grid can be max_grid_size square.
                params = [cv2.IMWRITE_PNG_COMPRESSION, 1] if ext == '.png' else []
                if not cv2.imwrite(out_file, grid[..., ::-1], params):
                    raise IOError(f'{out_file}: OpenCV could not write it')
            if show:
                self.show(grid, win_name=name, wait_time=wait_time)
            if add_to_backends:
                self.add_image(name, grid, step)
