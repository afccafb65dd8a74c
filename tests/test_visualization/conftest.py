"""A hand-made STVG data sample with GT and predicted tubes at known pixels.

Original frames are 48 x 64 (H x W); four frames are sampled at original
indices 0, 4, 8, 12 of a 16-frame, 4 fps video (times 0, 1, 2, 3 s).

- GT span ``[4, 12)`` -> frames 1 and 2 are masked; GT box
  ``(10, 8, 30, 24)`` on every row (so an unmasked row that were drawn
  would show).
- Predicted span ``[8, 16)`` -> frames 2 and 3 are masked; predicted box
  ``(36, 20, 56, 40)`` on every row.
"""
import numpy as np
import pytest
import torch

from mmstvg.structures import GroundingDataSample

GT_BOX = (10.0, 8.0, 30.0, 24.0)
PRED_BOX = (36.0, 20.0, 56.0, 40.0)


def build_sample(sample_id: str = 'vid_a#0', **meta) -> GroundingDataSample:
    metainfo = dict(
        task='stvg',
        sample_id=sample_id,
        video_id=sample_id.split('#')[0],
        sentence='the red ball rolls to the left',
        ori_shape=(48, 64),
        num_frames=16,
        fps=4.0,
        duration=4.0,
        frame_inds=np.array([0, 4, 8, 12]),
        frame_times=np.array([0.0, 1.0, 2.0, 3.0]))
    metainfo.update(meta)
    sample = GroundingDataSample(metainfo=metainfo)
    sample.gt_span_frames = torch.tensor([4, 12])
    sample.gt_span_seconds = torch.tensor([1.0, 3.0])
    sample.gt_boxes = torch.tensor([GT_BOX] * 4)
    sample.gt_box_mask = torch.tensor([False, True, True, False])
    sample.pred_span_frames = torch.tensor([8, 16])
    sample.pred_span_seconds = torch.tensor([2.0, 4.0])
    sample.pred_boxes = torch.tensor([PRED_BOX] * 4)
    sample.pred_box_scores = torch.tensor([0.1, 0.2, 0.9, 0.8])
    sample.pred_box_mask = torch.tensor([False, False, True, True])
    return sample


@pytest.fixture
def stvg_sample():
    """A factory of the sample described in the module docstring."""
    return build_sample
