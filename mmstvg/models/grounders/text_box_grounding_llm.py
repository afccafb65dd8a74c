"""The text-box baseline: the LLM writes every box as text (LLaVA-ST / Shikra style)."""
from typing import Optional

import torch

from mmstvg.models.language.box_text import format_frame_boxes, parse_frame_boxes
from mmstvg.registry import MODELS
from mmstvg.structures import GroundingDataSample, bbox_cxcywh_to_xyxy, bbox_xyxy_to_cxcywh

from .video_grounding_llm import VideoGroundingLLM

__all__ = ['TextBoxGroundingLLM']


@MODELS.register_module()
class TextBoxGroundingLLM(VideoGroundingLLM):
    """A grounder without queries or space decoder: boxes are generated text.

    Training answers (``format_frame_boxes``, normalised ``xyxy``)::

        STVG: "The event happens from 1.0 to 3.0 seconds. frame 1: [0.12, 0.30,
               0.45, 0.80]; frame 2: [...]"      (frames with a GT box)
        TVG:  "The event happens from 1.0 to 3.0 seconds."
        REC:  "frame 0: [0.12, 0.30, 0.45, 0.80]"

    At test time the span and the boxes are parsed from the generated text. A
    sampled frame inside the predicted span without a well-formed box gets a
    zero box with score 0 (scored as a miss); malformed entries are counted in
    :attr:`num_malformed_boxes`, frames in the span left without a box in
    :attr:`num_missing_boxes`. Every box costs ~12-25 generated tokens, which
    is why this baseline is much slower than a space decoder.

    Args:
        box_precision: digits of the box coordinates in the text.
        max_new_tokens: generation budget (it must cover the boxes).
        query_interleaver: must stay None or ``NoQueries``-like (no queries
            are read).
        **kwargs: the other arguments of :class:`VideoGroundingLLM` (no
            ``space_decoder``).
    """

    def __init__(self, *args, box_precision: int = 2, max_new_tokens: int = 512,
                 space_decoder: Optional[dict] = None, **kwargs):
        if space_decoder is not None:
            raise ValueError('TextBoxGroundingLLM writes boxes as text: it has no '
                             'space_decoder')
        super().__init__(*args, max_new_tokens=max_new_tokens, space_decoder=None,
                         **kwargs)
        self.box_precision = box_precision
        self.num_malformed_boxes = 0
        self.num_missing_boxes = 0

    def answer_text(self, sample: GroundingDataSample) -> Optional[str]:
        meta = sample.metainfo
        task = meta['task']
        boxes_text = ''
        if 'gt_boxes' in sample and 'gt_box_mask' in sample:
            height, width = meta['ori_shape']
            scale = sample.gt_boxes.new_tensor([width, height, width, height])
            mask = sample.gt_box_mask.bool()
            indices = mask.nonzero().flatten().tolist()
            boxes = (sample.gt_boxes[mask].float() / scale).tolist()
            boxes_text = format_frame_boxes(indices, boxes, self.box_precision)
        if task == 'rec':
            if not boxes_text:
                raise KeyError(f"REC sample {meta.get('video_id')!r} has no gt_boxes")
            return boxes_text
        span = sample.gt_span_seconds.tolist()
        times = meta.get('frame_times')
        span_text = self.prompt_builder.answer_text(
            task, span, None if times is None else list(times), meta.get('duration'))
        return f'{span_text} {boxes_text}' if boxes_text else span_text

    def generates_text(self, sample: GroundingDataSample) -> bool:
        return True

    def boxes_from_text(self, sample: GroundingDataSample,
                        text: str) -> Optional[torch.Tensor]:
        num_frames = sample.num_sampled_frames
        parsed, malformed = parse_frame_boxes(text, num_frames)
        self.num_malformed_boxes += malformed
        boxes = torch.zeros(num_frames, 4)
        for index, box in parsed.items():
            boxes[index] = bbox_xyxy_to_cxcywh(torch.tensor(box))
        return boxes

    def _fill_prediction(self, sample: GroundingDataSample, text: str,
                         boxes: Optional[torch.Tensor],
                         box_scores: Optional[torch.Tensor] = None) -> None:
        super()._fill_prediction(sample, text, boxes, box_scores)
        if 'pred_boxes' not in sample:
            return
        has_box = bbox_cxcywh_to_xyxy(boxes)[:, 2:].gt(0).all(-1)
        sample.pred_box_scores = has_box.float()
        self.num_missing_boxes += int((sample.pred_box_mask & ~has_box).sum())
