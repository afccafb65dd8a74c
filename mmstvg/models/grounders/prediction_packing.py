"""Post-processing: a decoded answer and per-frame boxes -> the sample's ``pred_*`` fields."""
from typing import List, Optional, Sequence, Tuple

import torch

from mmstvg.models.language.answer_coder_table import AnswerCoderTable
from mmstvg.models.language.base_answer_coder import AnswerResult
from mmstvg.models.language.choice_text import OPTION_LETTERS
from mmstvg.models.space_decoders.box_predictions import pack_boxes
from mmstvg.structures import GroundingDataSample, seconds_to_frames

__all__ = ['pack_prediction', 'pack_choice', 'count_text_boxes', 'pack_answers',
           'box_rows']


def pack_prediction(sample: GroundingDataSample, text: str,
                    span: Optional[Tuple[float, float]],
                    boxes: Optional[torch.Tensor],
                    box_scores: Optional[torch.Tensor] = None,
                    whole_span: bool = False) -> None:
    """Set the ``pred_*`` fields of one data sample.

    Args:
        sample: the data sample (its metainfo: task, fps, frames, size).
        text: the generated answer (``''`` when none was generated).
        span: the parsed span in seconds; None: the answer was malformed,
            scored as the empty span ``[0, 0)``.
        boxes: ``(T, 4)`` normalised ``cxcywh`` per sampled frame (boxes
            written as text), or None (a prediction without boxes, or boxes
            a head's ``predict`` writes afterwards).
        box_scores: ``(T,)`` each box's confidence; None: every box scores 1.
        whole_span: the span is the whole input (an image): every frame.
    """
    meta = sample.metainfo
    sample.pred_text = text
    sample.pred_parse_ok = span is not None
    if span is None:
        span, span_frames = (0.0, 0.0), (0, 0)
    elif whole_span:
        span_frames = (0, int(meta.get('num_frames', 1)))
    else:
        span_frames = seconds_to_frames(span, float(meta['fps']), int(meta['num_frames']))
    sample.pred_span_frames = torch.tensor(span_frames, dtype=torch.long)
    sample.pred_span_seconds = torch.tensor(span, dtype=torch.float32)
    if boxes is not None:
        pack_boxes(sample, boxes, box_scores)


def pack_choice(sample: GroundingDataSample, text: str, result: AnswerResult) -> None:
    """Set a multiple-choice sample's ``pred_text``, ``pred_parse_ok``, ``pred_choice``
    (``-1`` when unparsable) and ``pred_letter`` (``''`` then)."""
    sample.pred_text = text
    sample.pred_parse_ok = result.ok
    sample.pred_choice = result.choice
    sample.pred_letter = OPTION_LETTERS[result.choice] if result.ok else ''


def count_text_boxes(sample: GroundingDataSample, num_malformed: int) -> None:
    """Set ``pred_num_malformed_boxes`` and ``pred_num_missing_boxes`` (the frames of
    the predicted span left without a box), which the metrics sum."""
    missing = 0
    if 'pred_boxes' in sample:
        missing = int((sample.pred_box_mask & ~sample.pred_box_scores.bool()).sum())
    sample.pred_num_malformed_boxes = num_malformed
    sample.pred_num_missing_boxes = missing


def pack_answers(data_samples: Sequence[GroundingDataSample], texts: Sequence[str],
                 answer: AnswerCoderTable, text_boxes: bool = True) -> None:
    """Decode each generated text with its task's coder and pack the sample.

    Args:
        data_samples: the batch's samples, filled in place.
        texts: each sample's generated text ('' where nothing was generated).
        answer: the grounder's answer coders (decodes spans, chosen options,
            and boxes written as text; logs the replies it cannot read).
            A conversation sample's text is its prediction (``pred_text``,
            stripped).
        text_boxes: pack the boxes the texts hold (a model without a space
            decoder); False: the heads' ``predict`` writes the boxes.
    """
    for sample, text in zip(data_samples, texts):
        result = answer.decode(sample, text)
        prediction = answer.coder(sample).prediction
        if prediction == 'choice':  # a chosen option, no span or boxes
            pack_choice(sample, text, result)
            continue
        if prediction == 'text':  # free text, no span or boxes
            sample.pred_text = text.strip()
            continue
        sample_boxes, sample_scores = None, None
        if text_boxes and answer.has_boxes(sample):
            sample_boxes, sample_scores = result.boxes, result.box_scores
        pack_prediction(sample, text, result.span, sample_boxes, sample_scores,
                        whole_span=answer.whole_span(sample))
        if result.num_malformed_boxes is not None:
            count_text_boxes(sample, result.num_malformed_boxes)


def box_rows(data_samples: Sequence[GroundingDataSample],
             answer: AnswerCoderTable) -> List[int]:
    """The samples whose prediction holds per-frame boxes (a head's ``predict`` rows)."""
    return [b for b, sample in enumerate(data_samples)
            if answer.coder(sample).prediction == 'grounding' and answer.has_boxes(sample)]
