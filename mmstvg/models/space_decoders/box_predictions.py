"""Per-frame boxes -> a sample's ``pred_boxes`` / ``pred_box_scores`` / ``pred_box_mask``.

The one place where normalised ``cxcywh`` boxes become absolute ``xyxy``
pixels of the original frame, for a space decoder's boxes
(:meth:`BaseSpaceDecoder.predict`) and for boxes written as text alike.
"""
from typing import Optional

import numpy as np
import torch

from mmstvg.structures import GroundingDataSample, denormalize_boxes, frames_in_span

__all__ = ['pack_boxes']


def pack_boxes(sample: GroundingDataSample, boxes: torch.Tensor,
               box_scores: Optional[torch.Tensor] = None) -> None:
    """Set a sample's box predictions from its boxes and its predicted span.

    Args:
        sample: the data sample; its metainfo gives ``frame_inds`` and
            ``ori_shape``, and ``pred_span_frames`` (half-open frame indices
            of the original video, set by the answer's packing) which frames
            count (``pred_box_mask``).
        boxes: ``(T, 4)`` normalised ``cxcywh`` per sampled frame (rows past
            the sample's sampled frames are padding, dropped).
        box_scores: ``(T,)`` each box's confidence; None: every box scores 1.
    """
    meta = sample.metainfo
    num_frames = sample.num_sampled_frames
    span = tuple(int(x) for x in sample.pred_span_frames.tolist())
    sample.pred_boxes = denormalize_boxes(boxes[:num_frames], meta['ori_shape']).cpu()
    sample.pred_box_scores = (torch.ones(num_frames) if box_scores is None else
                              box_scores[:num_frames].float().cpu())
    sample.pred_box_mask = torch.from_numpy(frames_in_span(np.asarray(meta['frame_inds']),
                                                           span))
