"""QuerySpanScoreHead: its targets, its loss, and how the grounder uses it."""
import math

import pytest
import torch

from mmstvg.registry import MODELS
from mmstvg.models.space_decoders.head_structures import HeadInputs
from models_testing_utils import make_batch, make_sample, query_inputs
from projects.spacevllm.spacevllm.addons import QuerySpanScoreHead, span_targets


def test_span_targets_follow_the_sampled_frames_and_padding():
    # frames 0, 6, 13, 19 of 20; span [5, 15) holds frames 6 and 13
    stvg = make_sample('stvg', num_sampled=4, num_frames=20, span=(5, 15))
    # frames 0, 10, 19 of 20; span [0, 11) holds frames 0 and 10
    tvg = make_sample('tvg', num_sampled=3, num_frames=20, span=(0, 11), seed=1)
    rec = make_sample('rec', seed=2)
    targets, valid = span_targets([stvg, tvg, rec], max_frames=4)
    assert targets.tolist() == [[0, 1, 1, 0], [1, 1, 0, 0], [1, 0, 0, 0]]
    assert valid.tolist() == [[True] * 4, [True, True, True, False],
                              [True, False, False, False]]


def test_loss_is_the_mean_binary_cross_entropy_over_real_frames():
    head = QuerySpanScoreHead(hidden_dim=8)
    logits = torch.tensor([[2.0, -1.0, 0.0], [0.5, 9.0, 9.0]])
    targets = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    valid = torch.tensor([[True, True, True], [True, False, False]])
    loss = head.loss_by_targets(logits, targets, valid)['loss_span_score']
    # by hand: -log s(2), -log(1 - s(-1)), -log s(0), -log(1 - s(0.5))
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    expected = -(math.log(sig(2.0)) + math.log(1 - sig(-1.0)) + math.log(0.5) +
                 math.log(1 - sig(0.5))) / 4
    assert float(loss) == pytest.approx(expected, rel=1e-6)
    zero = head.loss_by_targets(logits, targets, torch.zeros_like(valid))['loss_span_score']
    assert float(zero) == 0.0
    with pytest.raises(ValueError, match='query_states'):
        head(query_inputs(torch.zeros(2, 3, 5)))


def test_grounder_trains_the_head_and_scores_boxes_with_it(grounder_cfg):
    grounder_cfg.update(heads=[dict(type='QuerySpanScoreHead')])
    torch.manual_seed(0)
    model = MODELS.build(grounder_cfg)
    samples = [make_sample('stvg', span=(5, 15)), make_sample('stvg', span=(0, 8), seed=1)]
    data = model.data_preprocessor(make_batch(samples), True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_lm', 'loss_bbox', 'loss_iou', 'loss_span_score'}
    # an untrained head is near chance: BCE close to log 2
    assert abs(losses['loss_span_score'].item() - math.log(2)) < 0.2
    model.zero_grad()
    losses['loss_span_score'].backward()
    head_grad = model.frame_score_head.mlp.layers[0].weight.grad
    llm_grads = [p.grad for p in model.llm.parameters() if p.grad is not None]
    assert head_grad.abs().sum() > 0 and any(g.abs().sum() > 0 for g in llm_grads)

    model.eval()
    data = model.data_preprocessor(make_batch([make_sample('stvg')]), False)
    sample = model(**data, mode='predict')[0]
    # pred_box_scores are the head's probabilities on the same prompt pass
    out = model(**data, mode='tensor')
    query = out['hidden_states'][0, out['layouts'][0].query_pos]
    expected = model.frame_score_head(query_inputs(query[None])).sigmoid()[0]
    torch.testing.assert_close(sample.pred_box_scores, expected, atol=1e-5, rtol=1e-5)
    assert not torch.all(sample.pred_box_scores == 1)


def test_a_frame_score_head_needs_queries(grounder_cfg):
    grounder_cfg.update(query_interleaver=None,
                        space_decoder=None, heads=[dict(type='QuerySpanScoreHead')])
    with pytest.raises(ValueError, match='frame_score_head'):
        MODELS.build(grounder_cfg)


def test_the_head_can_read_the_space_decoders_states(grounder_cfg):
    grounder_cfg.update(
        heads=[dict(type='QuerySpanScoreHead')], frame_state_source='space_decoder',
        space_decoder=dict(type='QueryGuidedSpaceDecoder', num_heads=2))
    torch.manual_seed(0)
    model = MODELS.build(grounder_cfg).eval()
    data = model.data_preprocessor(make_batch([make_sample('stvg')]), False)
    sample = model(**data, mode='predict')[0]
    out = model(**data, mode='tensor')
    layout = out['layouts'][0]
    hidden = out['hidden_states']
    decoder_inputs = HeadInputs(hidden[:, layout.query_pos], hidden[:, layout.frame_token_pos],
                                hidden[:, layout.sentence_pos],
                                torch.ones(1, layout.sentence_pos.numel(), dtype=torch.bool))
    boxes, guided = model.space_decoder(decoder_inputs, return_states=True)
    expected = model.frame_score_head(decoder_inputs._replace(query=guided)).sigmoid()[0]
    torch.testing.assert_close(sample.pred_box_scores, expected, atol=1e-5, rtol=1e-5)
    from_queries = model.frame_score_head(decoder_inputs).sigmoid()[0]
    assert (from_queries - expected).abs().amax() > 1e-4


def test_frame_state_source_is_checked(grounder_cfg):
    grounder_cfg = dict(grounder_cfg)
    with pytest.raises(ValueError, match='frame_state_source must be one of'):
        MODELS.build(dict(grounder_cfg, frame_state_source='queries'))
    with pytest.raises(ValueError, match='needs a space_decoder'):
        MODELS.build(dict(grounder_cfg, space_decoder=None, frame_state_source='space_decoder'))


def test_the_head_owns_its_targets_and_loss():
    """``loss(logits, data_samples)`` builds the in-span targets itself."""
    head = QuerySpanScoreHead(hidden_dim=8)
    samples = [make_sample('stvg', span=(5, 15)), make_sample('tvg', num_sampled=3)]
    logits = torch.tensor([[2.0, -1.0, 0.0, 1.0], [0.5, 0.0, -2.0, 9.0]])
    targets, valid = span_targets(samples, max_frames=4)
    assert valid.sum() == 7  # the TVG sample has 3 sampled frames
    expected = head.loss_by_targets(logits, targets, valid)['loss_span_score']
    torch.testing.assert_close(head.loss(logits, samples)['loss_span_score'], expected)


def test_a_temporal_kernel_lets_a_score_see_its_neighbours_but_not_the_padding():
    torch.manual_seed(0)
    head = QuerySpanScoreHead(hidden_dim=8, temporal_kernel=3)
    states = torch.randn(1, 5, 8)
    alone = head(query_inputs(states))
    changed = states.clone()
    changed[0, 3] += 1.0  # frame 3 changes: frames 2, 3, 4 see it, 0 and 1 do not
    scores = head(query_inputs(changed))
    assert torch.equal(scores[0, :2], alone[0, :2])
    assert not torch.isclose(scores[0, 2:], alone[0, 2:]).any()
    # in a batch beside a longer sample: the padding frames (any values) are ignored
    padded = torch.cat([states, torch.randn(1, 2, 8)], dim=1)
    batch = torch.cat([padded, torch.randn(1, 7, 8)])
    mask = torch.tensor([[True] * 5 + [False] * 2, [True] * 7])
    inputs = query_inputs(batch)._replace(frame_mask=mask)
    torch.testing.assert_close(head(inputs)[0, :5], alone[0], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match='odd'):
        QuerySpanScoreHead(hidden_dim=8, temporal_kernel=2)
    assert 'temporal.weight' not in QuerySpanScoreHead(hidden_dim=8).state_dict()
