"""Pack the frames and the ground truth into ``inputs`` + ``GroundingDataSample``."""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mmstvg.registry import TRANSFORMS
from mmstvg.structures import GroundingDataSample

__all__ = ['PackGroundingInputs']

DEFAULT_META_KEYS = (
    'sample_id', 'sample_idx', 'task', 'sentence', 'video_id', 'video_path',
    'dataset_name', 'qtype', 'num_frames', 'fps', 'duration', 'ori_shape',
    'img_shape', 'pad_shape', 'scale_factor', 'flip', 'flip_direction',
    'frame_inds', 'frame_times', 'prompt_template', 'clip_span_frames',
    'gt_spans_seconds_all', 'options', 'gt_choice', 'qa_benchmark', 'qa_category',
    'question_id', 'questions', 'answers', 'data_source', 'ann_file_hash',
    'presentation_times')


@TRANSFORMS.register_module()
class PackGroundingInputs(BaseTransform):
    """Pack a sample as ``{'inputs': uint8 (T, 3, H, W) RGB, 'data_samples':
    GroundingDataSample}``.

    ``inputs`` is a permuted view of the ``(T, H, W, 3)`` frames (no copy;
    call ``.contiguous()`` where a contiguous tensor is needed), or of a copy
    of them where they are read-only (the decoder's kept clip, when no resize,
    flip or pad made new frames).

    Metainfo: every key of ``meta_keys`` present in the results (see
    :class:`mmstvg.structures.GroundingDataSample` for their meaning;
    ``pad_shape`` defaults to ``img_shape`` and ``flip`` to False when no
    pad / flip ran). Ground truth as tensors: ``gt_span_frames`` (long
    ``(2,)``), ``gt_span_seconds`` (float32 ``(2,)``), ``gt_boxes`` (float32
    ``(T, 4)``), ``gt_box_mask`` (bool ``(T,)``), ``gt_tube_frame_inds``
    (long ``(N,)``), ``gt_tube_boxes`` (float32 ``(N, 4)``). A sample without
    ground truth (inference) gets none of them.

    Args:
        meta_keys: the metainfo keys to copy.
    """

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        imgs = np.ascontiguousarray(results['imgs'])
        if not imgs.flags.writeable:  # the decoder's kept clip (no transform copied it)
            imgs = imgs.copy()
        inputs = torch.from_numpy(imgs).permute(0, 3, 1, 2)
        data_sample = GroundingDataSample()
        results.setdefault('pad_shape', results.get('img_shape'))
        results.setdefault('flip', False)
        data_sample.set_metainfo(
            {key: results[key] for key in self.meta_keys if key in results})
        if 'gt_span_frames' in results:
            data_sample.gt_span_frames = torch.as_tensor(
                np.asarray(results['gt_span_frames'], dtype=np.int64))
            data_sample.gt_span_seconds = torch.as_tensor(
                np.asarray(results['gt_span_seconds'], dtype=np.float32))
        if 'gt_boxes' in results:
            data_sample.gt_boxes = torch.from_numpy(
                np.asarray(results['gt_boxes'], dtype=np.float32))
            data_sample.gt_box_mask = torch.from_numpy(
                np.asarray(results['gt_box_mask'], dtype=bool))
        if 'gt_tube_frame_inds' in results:
            data_sample.gt_tube_frame_inds = torch.from_numpy(
                np.asarray(results['gt_tube_frame_inds'], dtype=np.int64))
            data_sample.gt_tube_boxes = torch.from_numpy(
                np.asarray(results['gt_tube_boxes'], dtype=np.float32).reshape(-1, 4))
        # A channels-last view: no copy here, nor when a DataLoader worker
        # moves it to shared memory; the data preprocessor's float conversion
        # reads it once.
        return {'inputs': inputs, 'data_samples': data_sample}

    def __repr__(self) -> str:
        return f'{type(self).__name__}(meta_keys={self.meta_keys})'
