"""A hook that draws GT vs predicted tubes of a few samples during val/test."""
import os.path as osp
import warnings
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.runner import BaseLoop
from mmengine.visualization import Visualizer

from mmstvg.registry import HOOKS
from mmstvg.structures import GroundingDataSample
from mmstvg.utils import safe_file_stem
from mmstvg.visualization import GroundingVisualizer


@HOOKS.register_module()
class GroundingVisualizationHook(Hook):
    """Draw ground-truth vs predicted tubes for the first samples of val/test.

    After each val/test iteration whose batch index is a multiple of
    ``interval``, the samples of the batch are drawn with the runner's
    :class:`~mmstvg.visualization.GroundingVisualizer`, until ``num_samples``
    samples of the current val/test run are drawn. Each one is written to
    ``<work_dir>/<timestamp>/<out_dir_name>/<step>/<sample_id>.png`` (the id
    through :func:`~mmstvg.utils.safe_file_stem`: ``a.mp4#0`` -> ``a.mp4_0``) (a grid
    of the frames with the sentence on top) or ``.mp4`` with
    ``save_video=True``; ``step`` is the training iteration (0 in a test run
    without a training loop). With ``add_to_backends`` the grid also goes to
    the visualizer's vis backends (TensorBoard when configured).

    The frames are the data batch's ``inputs`` (uint8 ``(T, 3, H, W)`` per
    sample, before the data preprocessor) and the predictions come from the
    model's output data samples.

    Only the main process draws, so a distributed run writes ``num_samples``
    files, not ``num_samples`` per rank.

    Args:
        enabled: draw at all. Defaults to True.
        interval: draw batches whose index in the val/test loop is a multiple
            of this (1 = the first batches; larger spreads the drawn samples
            over the dataset). Defaults to 1.
        num_samples: samples drawn per val/test run. Defaults to 4.
        draw_gt: draw the ground-truth tube and span. Defaults to True.
        draw_pred: draw the predicted tube and span. Defaults to True.
        save_video: write ``.mp4`` videos instead of ``.png`` grids.
        add_to_backends: also send the grid to the vis backends.
        out_dir_name: folder under ``<work_dir>/<timestamp>``.
    """

    priority = 'NORMAL'

    def __init__(self,
                 enabled: bool = True,
                 interval: int = 1,
                 num_samples: int = 4,
                 draw_gt: bool = True,
                 draw_pred: bool = True,
                 save_video: bool = False,
                 add_to_backends: bool = True,
                 out_dir_name: str = 'vis') -> None:
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        if num_samples < 0:
            raise ValueError(f'num_samples must be >= 0, got {num_samples}')
        self.enabled = enabled
        self.interval = interval
        self.num_samples = num_samples
        self.draw_gt = draw_gt
        self.draw_pred = draw_pred
        self.save_video = save_video
        self.add_to_backends = add_to_backends
        self.out_dir_name = out_dir_name
        self._num_drawn = 0
        self._visualizer: Optional[GroundingVisualizer] = None

    # --------------------------------------------------------------- hooks
    def before_val_epoch(self, runner) -> None:
        """Start counting drawn samples afresh for this validation run."""
        self._num_drawn = 0

    def before_test_epoch(self, runner) -> None:
        """Start counting drawn samples afresh for this test run."""
        self._num_drawn = 0

    def after_val_iter(self,
                       runner,
                       batch_idx: int,
                       data_batch: Optional[dict] = None,
                       outputs: Optional[Sequence] = None) -> None:
        """Draw the batch's samples while fewer than ``num_samples`` are drawn."""
        self._draw_batch(runner, batch_idx, data_batch, outputs, 'val')

    def after_test_iter(self,
                        runner,
                        batch_idx: int,
                        data_batch: Optional[dict] = None,
                        outputs: Optional[Sequence] = None) -> None:
        """Draw the batch's samples while fewer than ``num_samples`` are drawn."""
        self._draw_batch(runner, batch_idx, data_batch, outputs, 'test')

    # ------------------------------------------------------------- helpers
    @property
    def visualizer(self) -> GroundingVisualizer:
        """The runner's visualizer, or a GroundingVisualizer sharing its backends.

        The runner builds the config's ``visualizer`` and makes it the current
        MMEngine instance. When that is not a :class:`GroundingVisualizer`
        (e.g. MMEngine's default), one is made that writes to the same vis
        backends.
        """
        if self._visualizer is None:
            current = Visualizer.get_current_instance()
            if isinstance(current, GroundingVisualizer):
                self._visualizer = current
            else:
                warnings.warn(
                    f'The current visualizer is a {type(current).__name__}; '
                    'GroundingVisualizationHook draws with a '
                    'GroundingVisualizer sharing its vis backends. Set '
                    "visualizer=dict(type='GroundingVisualizer', ...) in the "
                    'config to configure it.')
                visualizer = GroundingVisualizer.get_instance(
                    f'{current.instance_name}_grounding')
                visualizer._vis_backends = current._vis_backends
                self._visualizer = visualizer
        return self._visualizer

    @staticmethod
    def _step(runner, mode: str) -> int:
        """The training iteration, without building a training loop in tests."""
        if mode == 'val':
            return int(runner.iter)
        train_loop = getattr(runner, '_train_loop', None)
        return int(train_loop.iter) if isinstance(train_loop, BaseLoop) else 0

    @staticmethod
    def _sample_frames(inputs, index: int, data_sample: GroundingDataSample):
        """The uint8 frames of one sample, trimmed to its real frame count."""
        frames = inputs[index]
        if isinstance(frames, torch.Tensor) and 'frame_inds' in \
                data_sample.metainfo and frames.ndim == 4:
            frames = frames[:data_sample.num_sampled_frames]
        return frames

    def _sample_id(self, data_sample: GroundingDataSample, mode: str,
                   batch_idx: int, index: int) -> str:
        """``sample_id`` from the metainfo, else one built from the position."""
        meta = data_sample.metainfo
        if meta.get('sample_id') is not None:
            return str(meta['sample_id'])
        prefix = str(meta['video_id']) if meta.get('video_id') is not None \
            else mode
        return f'{prefix}_{batch_idx}_{index}'

    def _draw_batch(self, runner, batch_idx: int, data_batch: Optional[dict],
                    outputs: Optional[Sequence], mode: str) -> None:
        """Draw the samples of one batch (see the class docstring)."""
        if (not self.enabled or self._num_drawn >= self.num_samples
                or batch_idx % self.interval != 0 or not is_main_process()):
            return
        if not outputs:
            return
        if not isinstance(data_batch, dict) or 'inputs' not in data_batch:
            raise KeyError(f'GroundingVisualizationHook: the {mode} data batch '
                           f'{batch_idx} has no "inputs" (the frames to draw on)')
        inputs = data_batch['inputs']
        if len(inputs) < len(outputs):
            raise ValueError(
                f'GroundingVisualizationHook: {mode} batch {batch_idx} has '
                f'{len(inputs)} inputs for {len(outputs)} output data samples')

        step = self._step(runner, mode)
        out_dir = osp.join(runner.work_dir, runner.timestamp, self.out_dir_name,
                           str(step))
        ext = '.mp4' if self.save_video else '.png'
        for index, data_sample in enumerate(outputs):
            if self._num_drawn >= self.num_samples:
                break
            sample_id = self._sample_id(data_sample, mode, batch_idx, index)
            file_name = safe_file_stem(sample_id)
            frames = self._sample_frames(inputs, index, data_sample)
            if not isinstance(frames, (np.ndarray, torch.Tensor)):
                raise TypeError(f'{sample_id}: inputs must hold tensors or '
                                f'arrays, got {type(frames).__name__}')
            self.visualizer.add_datasample(
                f'{mode}_{file_name}',
                frames,
                data_sample,
                draw_gt=self.draw_gt,
                draw_pred=self.draw_pred,
                out_file=osp.join(out_dir, file_name + ext),
                step=step,
                add_to_backends=self.add_to_backends)
            self._num_drawn += 1
