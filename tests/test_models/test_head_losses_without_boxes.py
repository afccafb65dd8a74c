"""Heads run their loss modules on a batch without targets (ZeRO-3: same calls on every rank)."""
import torch

from mmstvg.registry import MODELS
from models_testing_utils import make_batch, make_sample, query_inputs
from projects.spacevllm.spacevllm.addons import QuerySpanScoreHead  # (registers it)


def _count_calls(module):
    calls = []
    module.register_forward_hook(lambda *args: calls.append(1))
    return calls


def _assert_zero_grads(module):
    params = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    assert params
    for name, param in params:
        assert param.grad is not None, name
        assert torch.count_nonzero(param.grad) == 0, name


def test_a_batch_without_boxes_calls_the_box_losses_for_exactly_zero(grounder_cfg):
    torch.manual_seed(0)
    model = MODELS.build(dict(grounder_cfg, heads=[dict(type='QuerySpanScoreHead')]))
    bbox_calls = _count_calls(model.space_decoder.loss_bbox)
    iou_calls = _count_calls(model.space_decoder.loss_iou)
    samples = [make_sample('tvg', seed=1), make_sample('tvg', seed=2, span=(0, 8))]
    losses = model(**model.data_preprocessor(make_batch(samples), True), mode='loss')
    assert len(bbox_calls) == 1 and len(iou_calls) == 1
    assert losses['loss_bbox'].item() == 0.0 and losses['loss_iou'].item() == 0.0
    assert losses['loss_span_score'].item() > 0
    (losses['loss_bbox'] + losses['loss_iou']).backward()
    _assert_zero_grads(model.space_decoder)
    # The LM and span losses are untouched by the zero box losses' graph.
    assert torch.isfinite(losses['loss_lm']) and losses['loss_lm'].item() > 0


def test_a_batch_without_spans_calls_the_span_score_loss_for_exactly_zero():
    torch.manual_seed(0)
    head = QuerySpanScoreHead(hidden_dim=8)
    calls = _count_calls(head.loss_span_score)
    samples = [make_sample('tvg', seed=s) for s in (1, 2)]
    for sample in samples:  # neither a span nor a REC image: no valid frame
        del sample.gt_span_frames
    loss = head.loss(head(query_inputs(torch.randn(2, 4, 8))), samples)['loss_span_score']
    assert len(calls) == 1 and loss.item() == 0.0
    loss.backward()
    _assert_zero_grads(head)
