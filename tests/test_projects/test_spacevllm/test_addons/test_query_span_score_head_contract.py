"""The frame score head used without the grounder: forward -> loss and -> predict."""
import pytest
import torch
from mmengine.registry import init_default_scope

from mmstvg.registry import MODELS
from models_testing_utils import make_sample, query_inputs
import projects.spacevllm.spacevllm.addons  # noqa: F401  (registers QuerySpanScoreHead)

DIM = 8


@pytest.fixture
def head():
    init_default_scope('mmstvg')
    torch.manual_seed(0)
    return MODELS.build(dict(type='QuerySpanScoreHead', hidden_dim=DIM))


def test_forward_then_loss(head):
    states = torch.randn(2, 4, DIM, generator=torch.Generator().manual_seed(0))
    logits = head(query_inputs(states))
    assert tuple(logits.shape) == (2, 4) and logits.dtype == torch.float32
    samples = [make_sample('stvg', seed=0), make_sample('tvg', span=(2, 13), seed=1)]
    loss = head.loss(logits, samples)['loss_span_score']
    assert float(loss) > 0
    loss.backward()
    assert head.mlp.layers[0].weight.grad is not None


def test_predict_scores_the_boxes_of_a_box_head():
    head_logits = torch.tensor([[0.0, 2.0, -2.0, 1.0, 5.0], [1.0, 1.0, 1.0, 1.0, 1.0]])
    boxed, unboxed = make_sample('stvg', num_sampled=4), make_sample('tvg', num_sampled=4)
    boxed.pred_boxes = torch.zeros(4, 4)
    boxed.pred_box_scores = torch.ones(4)
    init_default_scope('mmstvg')
    MODELS.build(dict(type='QuerySpanScoreHead', hidden_dim=DIM)).predict(
        head_logits, [boxed, unboxed])
    assert boxed.pred_box_scores.tolist() == pytest.approx(
        torch.tensor([0.0, 2.0, -2.0, 1.0]).sigmoid().tolist())
    assert 'pred_box_scores' not in unboxed  # no boxes to score
