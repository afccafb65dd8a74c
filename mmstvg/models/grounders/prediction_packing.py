"""Post-processing: a parsed answer and per-frame boxes -> the sample's ``pred_*`` fields."""
from typing import Optional, Sequence, Tuple

import numpy as np
import torch

from mmstvg.models.language.free_text_answer import is_conversation_sample
from mmstvg.models.language.multiple_choice_answer import is_qa_sample
from mmstvg.structures import GroundingDataSample, denormalize_boxes, frames_in_span, \
    seconds_to_frames

__all__ = ['pack_prediction', 'pack_answers']


def pack_prediction(sample: GroundingDataSample, text: str,
                    span: Optional[Tuple[float, float]],
                    boxes: Optional[torch.Tensor],
                    box_scores: Optional[torch.Tensor] = None) -> None:
    """Set the ``pred_*`` fields of one data sample.

    Args:
        sample: the data sample (its metainfo: task, fps, frames, size).
        text: the generated answer (``''`` when none was generated).
        span: the parsed span in seconds; None: the answer was malformed,
            scored as the empty span ``[0, 0)``.
        boxes: ``(T, 4)`` normalised ``cxcywh`` per sampled frame, or None.
        box_scores: ``(T,)`` each box's confidence; None: every box scores 1.
    """
    meta = sample.metainfo
    sample.pred_text = text
    sample.pred_parse_ok = span is not None
    if span is None:
        span, span_frames = (0.0, 0.0), (0, 0)
    elif meta['task'] == 'rec':
        span_frames = (0, int(meta.get('num_frames', 1)))
    else:
        span_frames = seconds_to_frames(span, float(meta['fps']), int(meta['num_frames']))
    sample.pred_span_frames = torch.tensor(span_frames, dtype=torch.long)
    sample.pred_span_seconds = torch.tensor(span, dtype=torch.float32)
    if boxes is None or meta['task'] == 'tvg':
        return
    num_frames = sample.num_sampled_frames
    frame_inds = np.asarray(meta['frame_inds'])
    sample.pred_boxes = denormalize_boxes(boxes[:num_frames], meta['ori_shape']).cpu()
    sample.pred_box_scores = (torch.ones(num_frames) if box_scores is None else
                              box_scores[:num_frames].float().cpu())
    sample.pred_box_mask = torch.from_numpy(frames_in_span(frame_inds, span_frames))


def pack_answers(data_samples: Sequence[GroundingDataSample], texts: Sequence[str], answer,
                 boxes: Optional[torch.Tensor],
                 box_scores: Optional[torch.Tensor] = None) -> None:
    """Parse each generated text with the answer part and pack the sample.

    Args:
        data_samples: the batch's samples, filled in place.
        texts: each sample's generated text ('' where nothing was generated).
        answer: the answer part (parses spans, and boxes where ``boxes`` is
            None; counts the predictions and failures; packs the chosen option
            of a multiple-choice sample).
        boxes: ``(B, T, 4)`` normalised boxes of a space decoder, or None:
            the boxes come from the texts. A conversation sample's text is
            its prediction (``pred_text``, :meth:`FreeTextAnswer.pack_text`).
        box_scores: ``(B, T)`` scores of those boxes, or None.
    """
    for b, (sample, text) in enumerate(zip(data_samples, texts)):
        if is_qa_sample(sample):  # a chosen option, no span or boxes
            answer.pack_choice(sample, text)
            continue
        if is_conversation_sample(sample):  # free text, no span or boxes
            answer.pack_text(sample, text)
            continue
        if boxes is not None:
            sample_boxes = boxes[b].float()
            sample_scores = None if box_scores is None else box_scores[b]
        else:
            sample_boxes = answer.boxes_from_text(sample, text)
            sample_scores = (None if sample_boxes is None else
                             answer.box_scores_from_text(sample_boxes))
        pack_prediction(sample, text, answer.parse(sample, text), sample_boxes,
                        sample_scores)
        answer.update_counters(sample)
