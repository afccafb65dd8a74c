"""The text-box baseline's answer: the span, then every in-span frame's box as text."""
from typing import Optional, Sequence

import torch

from mmstvg.registry import MODELS
from mmstvg.structures import GroundingDataSample, bbox_cxcywh_to_xyxy, bbox_xyxy_to_cxcywh

from .box_text import box_extent, format_frame_boxes, parse_frame_boxes
from .span_answer import SpanAnswer

__all__ = ['SpanAndBoxesAnswer']


@MODELS.register_module()
class SpanAndBoxesAnswer:
    """A span answer followed by the boxes as text (LLaVA-ST / Shikra style).

    Training answers (``format_frame_boxes``, normalised ``xyxy``)::

        STVG: "The event happens from 1.0 to 3.0 seconds. frame 1: [0.12, 0.30,
               0.45, 0.80]; frame 2: [...]"      (frames with a GT box)
        TVG:  "The event happens from 1.0 to 3.0 seconds."
        REC:  "frame 0: [0.12, 0.30, 0.45, 0.80]"

    Every sample generates text (REC too). A sampled frame without a
    well-formed box gets a zero box with score 0 (scored as a miss);
    malformed entries are counted in :attr:`num_malformed_boxes`, frames in
    the predicted span left without a box in :attr:`num_missing_boxes`; each
    sample also carries its own two counts (``pred_num_malformed_boxes``,
    ``pred_num_missing_boxes``), which the metrics sum and report as
    ``num_malformed_boxes`` / ``num_missing_boxes``.

    Args:
        tokenizer: the LLM's tokenizer (filled in by the grounder).
        span: config of the span answer the boxes follow (``SpanAnswer`` or
            ``SnappedSpanAnswer``).
        box_precision: digits of the box coordinates in the text.
        coordinates: how the coordinates are written (:data:`.box_text.BOX_COORDINATES`):
            ``'normalized'`` (floats in [0, 1]), ``'resized_pixels'``
            (Qwen2.5-VL's grounding convention: integer pixels of the
            resized frame it sees) or ``'grid_1000'`` (Qwen3-VL's: integers
            on a 0-1000 grid), so a base model's own grounding habit carries
            over.
    """

    def __init__(self, tokenizer=None, span: dict = dict(type='SpanAnswer'),
                 box_precision: int = 2, coordinates: str = 'normalized'):
        box_extent(coordinates, dict(img_shape=(1, 1)))  # checks the name
        self.coordinates = coordinates
        self.tokenizer = tokenizer
        self.span = MODELS.build(dict(span, tokenizer=tokenizer))
        if not isinstance(self.span, SpanAnswer):
            raise TypeError(f'SpanAndBoxesAnswer: span must build a SpanAnswer, got '
                            f'{type(self.span).__name__}')
        self.box_precision = box_precision
        self.num_malformed_boxes = 0
        self.num_missing_boxes = 0

    @property
    def num_predictions(self) -> int:
        return self.span.num_predictions

    @property
    def num_parse_failures(self) -> int:
        return self.span.num_parse_failures

    def text(self, sample: GroundingDataSample, frame_times: Sequence[float],
             duration: float) -> str:
        """The span sentence (not for REC) and the boxes of the frames with one."""
        meta = sample.metainfo
        boxes_text = ''
        if 'gt_boxes' in sample and 'gt_box_mask' in sample:
            height, width = meta['ori_shape']
            scale = sample.gt_boxes.new_tensor([width, height, width, height])
            mask = sample.gt_box_mask.bool()
            indices = mask.nonzero().flatten().tolist()
            boxes = (sample.gt_boxes[mask].float() / scale).tolist()
            boxes_text = format_frame_boxes(indices, boxes, self.box_precision,
                                            box_extent(self.coordinates, meta))
        if meta['task'] == 'rec':
            if not boxes_text:
                raise KeyError(f"REC sample {meta.get('video_id')!r} has no gt_boxes")
            return boxes_text
        span_text = self.span.span_text(sample, frame_times, duration)
        return f'{span_text} {boxes_text}' if boxes_text else span_text

    def generates_text(self, sample: GroundingDataSample) -> bool:
        return True

    def parse(self, sample: GroundingDataSample, text: str):
        return self.span.parse(sample, text)

    def boxes_from_text(self, sample: GroundingDataSample,
                        text: str) -> Optional[torch.Tensor]:
        """``(T, 4)`` normalised ``cxcywh``; zeros where no well-formed box."""
        num_frames = sample.num_sampled_frames
        parsed, malformed = parse_frame_boxes(text, num_frames,
                                              box_extent(self.coordinates, sample.metainfo))
        self.num_malformed_boxes += malformed
        sample.pred_num_malformed_boxes = int(malformed)
        boxes = torch.zeros(num_frames, 4)
        for index, box in parsed.items():
            boxes[index] = bbox_xyxy_to_cxcywh(torch.tensor(box))
        return boxes

    def box_scores_from_text(self, boxes: torch.Tensor) -> torch.Tensor:
        """1 for a frame with a box, 0 for a frame left without one."""
        return bbox_cxcywh_to_xyxy(boxes)[:, 2:].gt(0).all(-1).float()

    def update_counters(self, sample: GroundingDataSample) -> None:
        """Count the frames in the predicted span that got no box."""
        missing = 0
        if 'pred_boxes' in sample:
            missing = int((sample.pred_box_mask & ~sample.pred_box_scores.bool()).sum())
        self.num_missing_boxes += missing
        sample.pred_num_missing_boxes = missing
        if 'pred_num_malformed_boxes' not in sample:
            sample.pred_num_malformed_boxes = 0
