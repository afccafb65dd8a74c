"""The text-box baseline's answer coders: every in-span frame's box as text, after the span."""
from typing import Sequence

import torch

from mmstvg.registry import TASK_UTILS
from mmstvg.structures import GroundingDataSample, bbox_cxcywh_to_xyxy, bbox_xyxy_to_cxcywh

from .base_answer_coder import AnswerResult, BaseAnswerCoder
from .box_text import box_extent, format_frame_boxes, parse_frame_boxes
from .span_answer import SpanAnswer
from .whole_image_answer import whole_input_span

__all__ = ['FrameBoxesAnswer', 'SpanAndBoxesAnswer']


@TASK_UTILS.register_module()
class FrameBoxesAnswer(BaseAnswerCoder):
    """The boxes of the frames with a ground-truth box, as text; no span.

    The coder of an image (REC) sample in the text-box baseline
    (``"frame 0: [0.12, 0.30, 0.45, 0.80]"``, :func:`format_frame_boxes`,
    normalised ``xyxy``); its span is the whole image. A sampled frame without
    a well-formed box gets a zero box with score 0 (scored as a miss); the
    malformed entries are counted in the result (``num_malformed_boxes``),
    which the grounder writes to the sample for the metrics.

    Args:
        tokenizer: the LLM's tokenizer (filled in by the grounder).
        box_precision: digits of the box coordinates in the text.
        coordinates: how the coordinates are written (:data:`.box_text.BOX_COORDINATES`):
            ``'normalized'`` (floats in [0, 1]), ``'resized_pixels'``
            (Qwen2.5-VL's grounding convention: integer pixels of the
            resized frame it sees) or ``'grid_1000'`` (Qwen3-VL's: integers
            on a 0-1000 grid), so a base model's own grounding habit carries
            over.
    """

    def __init__(self, tokenizer=None, box_precision: int = 2,
                 coordinates: str = 'normalized'):
        box_extent(coordinates, dict(img_shape=(1, 1)))  # checks the name
        super().__init__(tokenizer)
        self.box_precision = box_precision
        self.coordinates = coordinates

    def boxes_text(self, sample: GroundingDataSample) -> str:
        """The frames with a ground-truth box and their boxes ('' when none)."""
        if 'gt_boxes' not in sample or 'gt_box_mask' not in sample:
            return ''
        meta = sample.metainfo
        height, width = meta['ori_shape']
        scale = sample.gt_boxes.new_tensor([width, height, width, height])
        mask = sample.gt_box_mask.bool()
        indices = mask.nonzero().flatten().tolist()
        boxes = (sample.gt_boxes[mask].float() / scale).tolist()
        return format_frame_boxes(indices, boxes, self.box_precision,
                                  box_extent(self.coordinates, meta))

    def read_boxes(self, sample: GroundingDataSample, text: str,
                   span=None) -> AnswerResult:
        """The result with the boxes of ``text`` (``(T, 4)`` normalised ``cxcywh``,
        zeros where none; score 1 for a frame with a box) and ``span``."""
        num_frames = sample.num_sampled_frames
        parsed, malformed = parse_frame_boxes(text, num_frames,
                                              box_extent(self.coordinates, sample.metainfo))
        boxes = torch.zeros(num_frames, 4)
        for index, box in parsed.items():
            boxes[index] = bbox_xyxy_to_cxcywh(torch.tensor(box))
        scores = bbox_cxcywh_to_xyxy(boxes)[:, 2:].gt(0).all(-1).float()
        return AnswerResult(span=span, boxes=boxes, ok=span is not None, box_scores=scores,
                            num_malformed_boxes=int(malformed))

    def encode(self, sample: GroundingDataSample, times: Sequence[float],
               duration: float) -> str:
        text = self.boxes_text(sample)
        if not text:
            raise KeyError(f"REC sample {sample.metainfo.get('video_id')!r} has no gt_boxes")
        return text

    def decode(self, sample: GroundingDataSample, text: str) -> AnswerResult:
        return self.read_boxes(sample, text, whole_input_span(sample))


@TASK_UTILS.register_module()
class SpanAndBoxesAnswer(FrameBoxesAnswer):
    """A span answer followed by the boxes as text (LLaVA-ST / Shikra style).

    Target answers::

        STVG: "The event happens from 1.0 to 3.0 seconds. frame 1: [0.12, 0.30,
               0.45, 0.80]; frame 2: [...]"      (frames with a GT box)
        TVG:  "The event happens from 1.0 to 3.0 seconds."
        REC:  "frame 0: [0.12, 0.30, 0.45, 0.80]"  (:class:`FrameBoxesAnswer`)

    Every sample generates text (REC too). The frames of the predicted span
    left without a box are counted by the grounder
    (``pred_num_missing_boxes``), the malformed entries here
    (``pred_num_malformed_boxes``); the metrics sum both.

    Args:
        tokenizer: the LLM's tokenizer (filled in by the grounder).
        span: config of the span answer the boxes follow (``SpanAnswer``, or
            a subclass such as SpaceVLLM's ``SnappedSpanAnswer``).
        box_precision: digits of the box coordinates in the text.
        coordinates: how the coordinates are written (see
            :class:`FrameBoxesAnswer`).
    """

    def __init__(self, tokenizer=None, span: dict = dict(type='SpanAnswer'),
                 box_precision: int = 2, coordinates: str = 'normalized'):
        super().__init__(tokenizer, box_precision, coordinates)
        self.span = TASK_UTILS.build(dict(span, tokenizer=tokenizer))
        if not isinstance(self.span, SpanAnswer):
            raise TypeError(f'SpanAndBoxesAnswer: span must build a SpanAnswer, got '
                            f'{type(self.span).__name__}')

    def role_coders(self) -> dict:
        """This coder for STVG and TVG, :class:`FrameBoxesAnswer` for REC."""
        return dict(spatio_temporal=self, temporal=self,
                    spatial=FrameBoxesAnswer(self.tokenizer, self.box_precision,
                                             self.coordinates))

    def encode(self, sample: GroundingDataSample, times: Sequence[float],
               duration: float) -> str:
        """The span sentence and the boxes of the frames with one."""
        span_text, boxes_text = self.span.encode(sample, times, duration), \
            self.boxes_text(sample)
        return f'{span_text} {boxes_text}' if boxes_text else span_text

    def decode(self, sample: GroundingDataSample, text: str) -> AnswerResult:
        return self.read_boxes(sample, text, self.span.decode(sample, text).span)
