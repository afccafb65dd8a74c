"""Builders of the sample dicts the grounding metrics receive."""
from typing import Dict, Optional, Sequence

import numpy as np
import pytest
import torch

from mmstvg.structures import GroundingDataSample

#: The box every annotated frame of the default tube carries.
GT_BOX = (0., 0., 10., 10.)


def make_stvg_sample(frame_inds: Sequence[int] = (0, 2, 4, 6, 8),
                     gt_span: Sequence[int] = (2, 6),
                     tube: Optional[Dict[int, Sequence[float]]] = None,
                     pred_span: Optional[Sequence[int]] = None,
                     pred_boxes: Optional[Sequence[Sequence[float]]] = None,
                     parse_ok: Optional[bool] = True,
                     qtype: str = '',
                     sample_id: str = 'video#0',
                     num_frames: int = 10,
                     fps: float = 1.0,
                     dataset_name: str = 'toy') -> dict:
    """``GroundingDataSample.to_dict()`` of one STVG sample.

    The ground-truth tube defaults to :data:`GT_BOX` at every frame of the
    half-open ``gt_span``; ``gt_boxes`` / ``gt_box_mask`` are derived at the
    sampled frames, as the pipeline does. Prediction fields are set only when
    given (``pred_span=None`` and ``pred_boxes=None``: no prediction).
    """
    frame_inds = np.asarray(frame_inds, dtype=np.int64)
    if tube is None:
        tube = {f: GT_BOX for f in range(gt_span[0], gt_span[1])}
    sample = GroundingDataSample(metainfo=dict(
        sample_id=sample_id, video_id=sample_id.split('#')[0], task='stvg',
        dataset_name=dataset_name, qtype=qtype, num_frames=num_frames, fps=fps,
        duration=num_frames / fps, frame_inds=frame_inds,
        frame_times=frame_inds / fps))
    sample.gt_span_frames = torch.tensor(gt_span, dtype=torch.long)
    sample.gt_span_seconds = torch.tensor(gt_span, dtype=torch.float64) / fps
    mask = np.array([f in tube and gt_span[0] <= f < gt_span[1]
                     for f in frame_inds])
    boxes = np.zeros((len(frame_inds), 4), dtype=np.float32)
    boxes[mask] = [tube[f] for f in frame_inds[mask]]
    sample.gt_boxes = torch.from_numpy(boxes)
    sample.gt_box_mask = torch.from_numpy(mask)
    tube_inds = sorted(tube)
    sample.gt_tube_frame_inds = torch.tensor(tube_inds, dtype=torch.long)
    sample.gt_tube_boxes = torch.tensor([tube[f] for f in tube_inds],
                                        dtype=torch.float32).reshape(-1, 4)
    if pred_span is not None:
        sample.pred_span_frames = torch.tensor(pred_span, dtype=torch.long)
        sample.pred_span_seconds = torch.tensor(pred_span,
                                                dtype=torch.float64) / fps
        sample.pred_text = f'from {pred_span[0]}s to {pred_span[1]}s'
        sample.pred_parse_ok = parse_ok
    if pred_boxes is not None:
        sample.pred_boxes = torch.tensor(pred_boxes,
                                         dtype=torch.float32).reshape(-1, 4)
        if pred_span is not None:
            sample.pred_box_mask = torch.from_numpy(
                (frame_inds >= pred_span[0]) & (frame_inds < pred_span[1]))
    return sample.to_dict()


@pytest.fixture
def stvg_sample():
    """The :func:`make_stvg_sample` builder."""
    return make_stvg_sample
