"""A space decoder used without the grounder: forward -> loss and forward -> predict."""
import pytest
import torch
from mmengine.registry import init_default_scope

from mmstvg.models.space_decoders.box_predictions import pack_boxes
from mmstvg.models.space_decoders.head_structures import HeadInputs
from mmstvg.registry import SPACE_DECODERS
from models_testing_utils import make_sample

DIM = 8


def _inputs(batch=2, frames=4, tokens=4, words=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return HeadInputs(torch.randn(batch, frames, DIM, generator=gen),
                      torch.randn(batch, frames, tokens, DIM, generator=gen),
                      torch.randn(batch, words, DIM, generator=gen),
                      torch.ones(batch, words, dtype=torch.bool))


@pytest.fixture
def head():
    init_default_scope('mmstvg')
    torch.manual_seed(0)
    return SPACE_DECODERS.build(dict(type='MLPBoxHead', hidden_dim=DIM, num_layers=2))


def test_head_inputs_unpack_as_the_four_tensors_the_grids_and_the_frame_mask():
    inputs = _inputs()
    query, frames, text, text_mask, frame_grids, frame_mask = inputs
    assert query is inputs.query and text_mask is inputs.text_mask
    assert tuple(frames.shape) == (2, 4, 4, DIM) and tuple(text.shape) == (2, 3, DIM)
    assert frame_grids is None and frame_mask is None  # unknown unless given
    decoded = torch.zeros(2, 4, DIM)
    assert inputs._replace(query=decoded).query is decoded  # what a later head reads


def test_forward_then_loss(head):
    samples = [make_sample('stvg', seed=0), make_sample('tvg', seed=1)]
    boxes = head(_inputs())
    assert tuple(boxes.shape) == (2, 4, 4)
    assert bool(((boxes >= 0) & (boxes <= 1)).all())
    losses = head.loss(boxes, samples)
    assert set(losses) == {'loss_bbox', 'loss_iou'}
    assert all(float(v.detach()) > 0 for v in losses.values())
    # only the STVG sample's in-span frames carry a target
    no_boxes = head.loss(boxes, [make_sample('tvg', seed=1)] * 2)
    assert float(no_boxes['loss_bbox']) == 0 and float(no_boxes['loss_iou']) == 0


def test_predict_writes_pixel_boxes_scores_and_the_span_mask(head):
    sample = make_sample('stvg', num_sampled=4, num_frames=20, ori_shape=(40, 60))
    sample.pred_span_frames = torch.tensor([5, 14])  # frames 0, 6, 13, 19 sampled
    boxes = torch.tensor([[[0.5, 0.5, 0.5, 0.5]] * 5])  # one padding row past T=4
    head.predict(boxes, [sample])
    assert sample.pred_boxes.shape == (4, 4)
    assert sample.pred_boxes[0].tolist() == pytest.approx([15.0, 10.0, 45.0, 30.0])
    assert sample.pred_box_scores.tolist() == [1.0] * 4
    assert sample.pred_box_mask.tolist() == [False, True, True, False]


def test_predict_on_a_real_forward(head):
    samples = [make_sample('stvg', seed=0), make_sample('rec', seed=2)]
    for sample in samples:
        sample.pred_span_frames = torch.tensor([0, 20])
    boxes = head(_inputs())
    head.predict(boxes, samples)
    assert samples[0].pred_boxes.shape == (4, 4)
    assert samples[1].pred_boxes.shape == (1, 4)  # an image: its one frame
    height, width = samples[0].metainfo['ori_shape']
    assert bool((samples[0].pred_boxes[:, 2] <= width + 1e-4).all())
    assert bool((samples[0].pred_boxes[:, 3] <= height + 1e-4).all())


def test_pack_boxes_takes_given_scores():
    sample = make_sample('stvg', num_sampled=4)
    sample.pred_span_frames = torch.tensor([0, 0])
    pack_boxes(sample, torch.full((4, 4), 0.5), torch.tensor([0.1, 0.2, 0.3, 0.4, 0.5]))
    assert sample.pred_box_scores.tolist() == pytest.approx([0.1, 0.2, 0.3, 0.4])
    assert not bool(sample.pred_box_mask.any())  # the empty predicted span
