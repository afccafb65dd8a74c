"""The data sample that carries one grounding sample from the dataset to the metric."""
from typing import Optional

import numpy as np
import torch
from mmengine.structures import BaseDataElement

#: The grounding tasks (what the grounders localise and the inference API accepts).
TASKS = ('stvg', 'tvg', 'rec')
#: Multiple-choice video QA (answered with an option letter).
QA_TASKS = ('mcqa', )
#: Free-text conversations about a video (captions, open-ended QA): ``questions``
#: and ``answers`` in the metainfo, the answers written as text.
CONVERSATION_TASKS = ('caption', 'open_qa')
#: Every task a data sample may carry.
ALL_TASKS = TASKS + QA_TASKS + CONVERSATION_TASKS


def check_conversation(meta: dict) -> None:
    """Validate a conversation sample's ``questions`` / ``answers`` metainfo.

    Raises:
        ValueError: naming the field: ``questions`` is not a non-empty list of
            text, ``answers`` is not a list of text with as many entries as
            ``questions`` or one fewer.
    """
    questions, answers = meta.get('questions'), meta.get('answers', [])
    if not isinstance(questions, (list, tuple)) or not questions or not all(
            isinstance(q, str) for q in questions):
        raise ValueError(f"task {meta.get('task')!r}: questions must be a non-empty list "
                         f'of str, got {questions!r:.80}')
    if not isinstance(answers, (list, tuple)) or not all(isinstance(a, str) for a in answers):
        raise ValueError(f'answers must be a list of str, got {answers!r:.80}')
    if len(answers) not in (len(questions), len(questions) - 1):
        raise ValueError(f'answers has {len(answers)} entries for {len(questions)} '
                         'questions (one a question, or one fewer)')


class GroundingDataSample(BaseDataElement):
    """One spatio-temporal (STVG), temporal (TVG) or image (REC) grounding sample.

    A REC image is a one-frame video: ``frame_inds == [0]`` and its single box
    is the whole "tube".

    **Meta information** (``set_metainfo``; not moved between devices):

    - ``task`` (str): ``'stvg'``, ``'tvg'`` or ``'rec'`` (grounding,
      :data:`TASKS`), ``'mcqa'`` (multiple-choice QA) or ``'caption'`` /
      ``'open_qa'`` (conversations, :data:`CONVERSATION_TASKS`).
    - ``questions`` / ``answers`` (lists of str; conversations): the user turns
      and the assistant turns, in order; ``answers`` has one entry a question
      (training, scoring) or one fewer (the last question is to be answered).
    - ``sentence`` (str): the query sentence (after any text transform).
    - ``sample_id`` (str, unique in its dataset; names dumps and drawings),
      ``video_id`` (str), ``video_path`` (str), ``dataset_name`` (str, optional),
      ``qtype`` (str, optional: VidSTG's ``'declarative'`` / ``'interrogative'``).
    - ``num_frames`` (int): frame count of the original video.
    - ``fps`` (float) and ``duration`` (float, seconds) of the original video.
    - ``ori_shape`` (tuple): ``(height, width)`` of the original frames.
    - ``img_shape`` / ``pad_shape`` (tuple): ``(height, width)`` after resize /
      padding; ``flip`` (bool).
    - ``frame_inds`` (np.ndarray, int64, ``(T,)``): original indices of the
      sampled frames, ascending.
    - ``frame_times`` (np.ndarray, float64, ``(T,)``): their times in seconds.

    **Ground truth** (data fields, tensors):

    - ``gt_span_frames`` (LongTensor ``(2,)``): half-open ``[start, end)`` in
      original frame indices.
    - ``gt_span_seconds`` (Tensor ``(2,)``): the same span in seconds.
    - ``gt_boxes`` (Tensor ``(T, 4)``): per *sampled* frame, the target's box in
      pixels of the original frame, ``xyxy``; rows where ``gt_box_mask`` is
      False are zeros.
    - ``gt_box_mask`` (BoolTensor ``(T,)``): sampled frames that are inside the
      ground-truth span and carry a box.
    - ``gt_tube_frame_inds`` (LongTensor ``(N,)``) and ``gt_tube_boxes``
      (Tensor ``(N, 4)``): the whole annotated tube at the original frame rate
      (every annotated frame), for protocols that score every annotated frame.

    **Predictions** (data fields, tensors, set by the model):

    - ``pred_span_frames`` (LongTensor ``(2,)``) and ``pred_span_seconds``
      (Tensor ``(2,)``); ``pred_text`` (str): the raw generated answer;
      ``pred_parse_ok`` (bool): whether it parsed.
    - ``pred_boxes`` (Tensor ``(T, 4)``) pixel ``xyxy`` per sampled frame,
      ``pred_box_scores`` (Tensor ``(T,)``), and ``pred_box_mask``
      (BoolTensor ``(T,)``): sampled frames inside the predicted span.

    Every field is optional: a TVG sample has no boxes, a sample before the
    model runs has no predictions. :meth:`num_sampled_frames` and
    :meth:`check` read and validate what is there.
    """

    @property
    def num_sampled_frames(self) -> int:
        """Number of sampled frames ``T`` (1 for an image)."""
        return len(self.metainfo['frame_inds'])

    def check(self) -> 'GroundingDataSample':
        """Validate shapes and conventions of the fields present.

        Raises:
            ValueError: naming the field that breaks a convention.

        Returns:
            The sample itself, so calls can be chained.
        """
        meta = self.metainfo
        task = meta.get('task')
        if task not in ALL_TASKS:
            raise ValueError(f'task must be one of {ALL_TASKS}, got {task!r}')
        if task in CONVERSATION_TASKS:
            check_conversation(meta)
        if 'frame_inds' in meta:
            frame_inds = np.asarray(meta['frame_inds'])
            if frame_inds.ndim != 1 or (np.diff(frame_inds) < 0).any():
                raise ValueError('frame_inds must be a 1-D ascending array')
            times = meta.get('frame_times')
            if times is not None and len(times) != len(frame_inds):
                raise ValueError('frame_times and frame_inds differ in length')
        num = self.num_sampled_frames if 'frame_inds' in meta else None
        for key in ('gt_span_frames', 'pred_span_frames', 'gt_span_seconds',
                    'pred_span_seconds'):
            if key in self and tuple(getattr(self, key).shape) != (2, ):
                raise ValueError(f'{key} must have shape (2,), got '
                                 f'{tuple(getattr(self, key).shape)}')
        for prefix in ('gt', 'pred'):
            boxes = self.get(f'{prefix}_boxes')
            mask = self.get(f'{prefix}_box_mask')
            if boxes is None:
                continue
            if boxes.ndim != 2 or boxes.shape[-1] != 4:
                raise ValueError(f'{prefix}_boxes must be (T, 4), got '
                                 f'{tuple(boxes.shape)}')
            if num is not None and boxes.shape[0] != num:
                raise ValueError(f'{prefix}_boxes has {boxes.shape[0]} rows for '
                                 f'{num} sampled frames')
            if mask is not None and mask.shape != boxes.shape[:1]:
                raise ValueError(f'{prefix}_box_mask must be ({boxes.shape[0]},)')
        return self

    def tube_in_frames(self, prefix: str = 'gt') -> Optional[dict]:
        """The ``{original frame index: xyxy box}`` of a tube over sampled frames.

        Args:
            prefix: ``'gt'`` or ``'pred'``.

        Returns:
            A dict, or None when the sample carries no such boxes.
        """
        boxes = self.get(f'{prefix}_boxes')
        mask = self.get(f'{prefix}_box_mask')
        if boxes is None or mask is None:
            return None
        frame_inds = np.asarray(self.metainfo['frame_inds'])
        boxes = boxes.detach().cpu().numpy() if isinstance(boxes, torch.Tensor) else boxes
        mask = mask.detach().cpu().numpy() if isinstance(mask, torch.Tensor) else mask
        return {int(i): boxes[k].tolist() for k, i in enumerate(frame_inds) if mask[k]}
