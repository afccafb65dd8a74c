"""SpaceVLLM's Query-Guided Space Decoder: outputs, variants, masks, losses, fitting."""
import math

import pytest
import torch
from mmdet.models.losses import GIoULoss, L1Loss

from mmstvg.models.space_decoders.head_structures import HeadInputs
from mmstvg.registry import SPACE_DECODERS
from projects.spacevllm.spacevllm import (QueryGuidedSpaceDecoder,
                                          ReferencePointSpaceDecoder,
                                          parameter_free_cross_attention)

ATTENTIONS = ['learnable', 'parameter_free']
DIM = 16


def _states(batch=2, frames=3, tokens=4, words=5, dim=DIM, seed=0):
    gen = torch.Generator().manual_seed(seed)
    query = torch.randn(batch, frames, dim, generator=gen)
    visual = torch.randn(batch, frames, tokens, dim, generator=gen)
    text = torch.randn(batch, words, dim, generator=gen)
    mask = torch.ones(batch, words, dtype=torch.bool)
    mask[1, 3:] = False  # the second sentence has 3 real tokens
    return query, visual, text, mask


def _decoder(attention, **kwargs):
    torch.manual_seed(0)
    return QueryGuidedSpaceDecoder(hidden_dim=DIM, attention=attention, num_heads=2,
                                   **kwargs).eval()


def _reference_decoder(attention, **kwargs):
    torch.manual_seed(0)
    return ReferencePointSpaceDecoder(hidden_dim=DIM, attention=attention, num_heads=2,
                                      **kwargs).eval()


@pytest.mark.parametrize('attention', ATTENTIONS)
def test_output_shape_and_range(attention):
    decoder = _decoder(attention)
    boxes = decoder(HeadInputs(*_states()))
    assert boxes.shape == (2, 3, 4)
    assert ((boxes > 0) & (boxes < 1)).all()


def test_parameter_free_attention_by_hand():
    # D = 1, query 0: every key scores 0, so the weights are uniform.
    query = torch.zeros(1, 1, 1)
    context = torch.tensor([[[1.0], [3.0]]])
    assert parameter_free_cross_attention(query, context).item() == pytest.approx(2.0)
    only_first = torch.tensor([[True, False]])
    assert parameter_free_cross_attention(query, context, only_first).item() == 1.0
    # No real key at all: nothing is attended (0, not NaN).
    none = torch.tensor([[False, False]])
    assert parameter_free_cross_attention(query, context, none).item() == 0.0
    # D = 1, query 2, keys 0 and 1: weights softmax([0, 2]) -> 1 * e^2 / (1 + e^2).
    out = parameter_free_cross_attention(torch.full((1, 1, 1), 2.0),
                                         torch.tensor([[[0.0], [1.0]]]))
    assert out.item() == pytest.approx(math.exp(2) / (1 + math.exp(2)), abs=1e-6)


def test_parameter_free_matches_a_per_frame_reference():
    decoder = _decoder('parameter_free')
    query, visual, text, mask = _states()
    boxes = decoder(HeadInputs(query, visual, text, mask))
    scale = 1 / math.sqrt(DIM)
    for b in range(2):
        words = text[b][mask[b]]
        for t in range(3):
            frame = visual[b, t]
            enhanced = frame + torch.softmax(frame @ words.T * scale, dim=-1) @ words
            guided = query[b, t] + torch.softmax(
                query[b, t] @ enhanced.T * scale, dim=-1) @ enhanced
            expected = decoder.box_mlp(guided).sigmoid()
            torch.testing.assert_close(boxes[b, t], expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('attention', ATTENTIONS)
def test_batched_over_samples_and_frames(attention):
    """Frame t's box reads only frame t's states and its own sample's sentence."""
    decoder = _decoder(attention)
    query, visual, text, mask = _states()
    boxes = decoder(HeadInputs(query, visual, text, mask))
    for b, t in [(0, 1), (1, 2)]:
        visual2 = visual.clone()
        visual2[b, t] += 1.0
        query2 = query.clone()
        query2[b, t] += 1.0
        for changed in (decoder(HeadInputs(query, visual2, text, mask)),
                        decoder(HeadInputs(query2, visual, text, mask))):
            moved = (changed - boxes).abs().amax(dim=-1) > 1e-4
            expected = torch.zeros(2, 3, dtype=torch.bool)
            expected[b, t] = True
            assert torch.equal(moved, expected)
    # The sentence of sample 0 moves every frame of sample 0 and nothing of sample 1.
    text2 = text.clone()
    text2[0, 0] += 1.0
    moved = (decoder(HeadInputs(query, visual, text2, mask)) - boxes).abs().amax(dim=-1) > 1e-4
    assert torch.equal(moved, torch.tensor([[True] * 3, [False] * 3]))


def test_parameter_counts_of_both_variants():
    # Box MLP 16 -> 16 -> 16 -> 4 (3 layers, hidden width 16).
    mlp = (16 * 16 + 16) + (16 * 16 + 16) + (16 * 4 + 4)
    assert mlp == 612
    free = _decoder('parameter_free')
    names = [name for name, _ in free.named_parameters()]
    assert names and all(name.startswith('box_mlp.') for name in names)
    assert sum(p.numel() for p in free.parameters()) == mlp

    # Each learnable layer: q/k/v in-projection 3*16*16 + 3*16, out-projection
    # 16*16 + 16, LayerNorm 2*16.
    per_layer = (3 * 16 * 16 + 3 * 16) + (16 * 16 + 16) + 2 * 16
    assert per_layer == 1120
    learnable = _decoder('learnable')
    assert sum(p.numel() for p in learnable.parameters()) == 2 * per_layer + mlp

    wide = QueryGuidedSpaceDecoder(hidden_dim=DIM, attention='parameter_free',
                                   mlp_dim=8, num_mlp_layers=2)
    assert sum(p.numel() for p in wide.parameters()) == (16 * 8 + 8) + (8 * 4 + 4)


@pytest.mark.parametrize('attention', ATTENTIONS)
def test_text_mask_is_respected(attention):
    decoder = _decoder(attention)
    query, visual, text, mask = _states()
    boxes = decoder(HeadInputs(query, visual, text, mask))

    padded = text.clone()
    padded[1, 3:] += 100 * torch.randn(2, DIM)  # sample 1's padding only
    assert (decoder(HeadInputs(query, visual, padded, mask)) - boxes).abs().max() <= 1e-6

    real = text.clone()
    real[1, 2] += 1.0  # sample 1's last real token
    assert (decoder(HeadInputs(query, visual, real, mask)) - boxes)[1].abs().max() > 1e-4


@pytest.mark.parametrize('attention', ATTENTIONS)
def test_sample_without_sentence_skips_the_text_attention(attention):
    decoder = _decoder(attention)
    query, visual, text, mask = _states()
    mask[0] = False
    visual.requires_grad_(True)
    boxes = decoder(HeadInputs(query, visual, text, mask))
    assert torch.isfinite(boxes).all()
    boxes.sum().backward()
    assert torch.isfinite(visual.grad).all()
    # Sample 0's boxes ignore its text states entirely.
    moved = decoder(HeadInputs(query, visual, text + torch.randn_like(text), mask))
    assert (moved[0] - boxes[0]).abs().max() <= 1e-6
    if attention == 'parameter_free':
        # ... and equal the reading with the text attention left out.
        scale = 1 / math.sqrt(DIM)
        for t in range(3):
            frame = visual[0, t]
            guided = query[0, t] + torch.softmax(
                query[0, t] @ frame.T * scale, dim=-1) @ frame
            torch.testing.assert_close(boxes[0, t], decoder.box_mlp(guided).sigmoid())


def test_losses_are_mmdets_with_detr_weights_and_hand_values():
    decoder = _decoder('parameter_free')
    assert type(decoder.loss_bbox) is L1Loss and decoder.loss_bbox.loss_weight == 5.0
    assert type(decoder.loss_iou) is GIoULoss and decoder.loss_iou.loss_weight == 2.0

    pred = torch.tensor([[[0.5, 0.5, 0.2, 0.2], [0.9, 0.9, 0.1, 0.1]]])
    gt = torch.tensor([[[0.5, 0.5, 0.4, 0.4], [0.0, 0.0, 0.0, 0.0]]])
    box_mask = torch.tensor([[True, False]])
    losses = decoder.loss_by_targets(pred, gt, box_mask)
    # L1: |0.2 - 0.4| + |0.2 - 0.4| = 0.4 over 1 box, times 5.
    assert losses['loss_bbox'].item() == pytest.approx(2.0, abs=1e-6)
    # GIoU: boxes [.4,.4,.6,.6] in [.3,.3,.7,.7]: IoU = .04 / .16 = .25, the
    # enclosing box is the union, so GIoU = .25; loss (1 - .25) * 2.
    assert losses['loss_iou'].item() == pytest.approx(1.5, abs=1e-4)


@pytest.mark.parametrize('attention', ATTENTIONS)
def test_frames_outside_the_span_get_exactly_zero_gradient(attention):
    decoder = _decoder(attention).train()
    query, visual, text, mask = _states()
    boxes = decoder(HeadInputs(query, visual, text, mask))
    boxes.retain_grad()
    gt = torch.tensor([0.5, 0.5, 0.3, 0.3]).expand(2, 3, 4)
    box_mask = torch.tensor([[False, True, True], [True, False, False]])
    losses = decoder.loss_by_targets(boxes, gt, box_mask)
    (losses['loss_bbox'] + losses['loss_iou']).backward()
    assert torch.equal(boxes.grad[~box_mask], torch.zeros(3, 4))
    assert (boxes.grad[box_mask].abs().sum(dim=-1) > 0).all()


def test_batch_without_any_box_has_zero_loss_and_zero_gradient():
    decoder = _decoder('learnable')
    boxes = decoder(HeadInputs(*_states()))
    boxes.retain_grad()
    losses = decoder.loss_by_targets(boxes, torch.zeros(2, 3, 4),
                                     torch.zeros(2, 3, dtype=torch.bool))
    assert losses['loss_bbox'].item() == 0.0 and losses['loss_iou'].item() == 0.0
    (losses['loss_bbox'] + losses['loss_iou']).backward()
    assert torch.equal(boxes.grad, torch.zeros(2, 3, 4))


@pytest.mark.parametrize('attention', ATTENTIONS)
def test_a_few_adam_steps_fit_a_fixed_box(attention):
    decoder = _decoder(attention).train()
    states = _states(seed=3)
    target = torch.tensor([0.3, 0.6, 0.2, 0.4]).expand(2, 3, 4)
    box_mask = torch.ones(2, 3, dtype=torch.bool)
    optimizer = torch.optim.Adam(decoder.parameters(), lr=1e-2)
    history = []
    for _ in range(60):
        losses = decoder.loss_by_targets(decoder(HeadInputs(*states)), target, box_mask)
        loss = losses['loss_bbox'] + losses['loss_iou']
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    # Measured: about 30x (learnable) and 25x (parameter-free) in 60 steps.
    assert history[-1] < history[0] / 10, history


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="attention must be one of"):
        QueryGuidedSpaceDecoder(hidden_dim=DIM, attention='cosine')
    with pytest.raises(ValueError, match='not divisible by num_heads=3'):
        QueryGuidedSpaceDecoder(hidden_dim=DIM, num_heads=3)
    decoder = _decoder('parameter_free')
    query, visual, text, mask = _states()
    with pytest.raises(ValueError, match='frame_states must be'):
        decoder(HeadInputs(query, visual[:, :2], text, mask))
    with pytest.raises(ValueError, match='hidden_dim=16'):
        decoder(HeadInputs(query[..., :8], visual, text, mask))
    with pytest.raises(ValueError, match='text_mask must be'):
        decoder(HeadInputs(query, visual, text, mask[:, :4]))
    with pytest.raises(ValueError, match='text_states must be'):
        decoder(HeadInputs(query, visual, text[:1], mask[:1]))


def test_registered_and_built_by_type_string():
    built = SPACE_DECODERS.build(
        dict(type='QueryGuidedSpaceDecoder', hidden_dim=8, attention='parameter_free',
             loss_bbox=dict(type='mmdet.L1Loss', loss_weight=1.0)))
    assert isinstance(built, QueryGuidedSpaceDecoder)
    assert built.attention == 'parameter_free'
    assert built.loss_bbox.loss_weight == 1.0


@pytest.mark.parametrize('attention', ATTENTIONS)
def test_frame_position_embedding_tells_token_places_apart(attention):
    """Without num_frame_tokens, the head is blind to the order of a frame's
    tokens (attention is permutation invariant); with it, it is not."""
    query, frames, text, mask = _states(batch=2, frames=1, tokens=4)
    reversed_frames = frames.flip(2)
    plain = _decoder(attention)
    with_pos = _reference_decoder(attention, num_frame_tokens=4)
    assert with_pos.frame_pos_embed.shape == (4, DIM)
    assert sum(p.numel() for p in with_pos.parameters()) - sum(
        p.numel() for p in plain.parameters()) == 4 * DIM
    assert torch.allclose(plain(HeadInputs(query, frames, text, mask)),
                          plain(HeadInputs(query, reversed_frames, text, mask)), atol=1e-6)
    assert not torch.allclose(with_pos(HeadInputs(query, frames, text, mask)),
                              with_pos(HeadInputs(query, reversed_frames, text, mask)), atol=1e-4)
    with pytest.raises(ValueError, match='num_frame_tokens=4'):
        with_pos(HeadInputs(*_states(batch=2, frames=1, tokens=3)))


@pytest.mark.parametrize('attention', ATTENTIONS)
def test_reference_points_put_the_box_centre_on_the_scored_token(attention):
    """With frame_token_grid, a score peaked on one token and zero offsets put
    the box centre at that token's cell centre on the grid."""
    decoder = _reference_decoder(attention, frame_token_grid=(2, 2))
    query, frames, text, mask = _states(batch=2, frames=3, tokens=4)
    assert decoder.token_centres.tolist() == [[0.25, 0.25], [0.75, 0.25], [0.25, 0.75],
                                              [0.75, 0.75]]
    with torch.no_grad():
        last = decoder.box_mlp.layers[-1]
        last.weight.zero_()
        last.bias.zero_()
        score = decoder.location_score.layers[-1]
        score.weight.zero_()
        score.bias.zero_()
    # Uniform scores: the reference is the grid's centre; offsets 0; size 0.5.
    boxes = decoder(HeadInputs(query, frames, text, mask))
    assert torch.allclose(boxes, torch.full_like(boxes, 0.5), atol=1e-6)
    # Scores from a fixed direction that only token 2 (bottom-left) has.
    with torch.no_grad():
        direction = torch.zeros(DIM)
        direction[0] = 1.0
        score.weight[0] = 0
        decoder.location_score.layers[0].weight.zero_()
        decoder.location_score.layers[0].bias.zero_()
        decoder.location_score.layers[0].weight[0, 0] = 1.0
        score.weight[0, 0] = 1000.0
    enhanced = torch.zeros(6, 4, DIM)
    enhanced[:, 2, 0] = 1.0
    reference = decoder.reference_points(torch.zeros(6, 1, DIM), enhanced)
    assert torch.allclose(reference, torch.tensor([[0.25, 0.75]]).expand(6, 2), atol=1e-4)
    with pytest.raises(ValueError, match='frame_token_grid'):
        decoder.reference_points(torch.zeros(6, 1, DIM), torch.zeros(6, 3, DIM))


@pytest.mark.parametrize('attention', ATTENTIONS)
def test_guided_states_know_the_sentence_and_give_the_boxes(attention):
    decoder = _reference_decoder(attention, frame_token_grid=(2, 2))
    query, visual, text, mask = _states()
    boxes, states = decoder(HeadInputs(query, visual, text, mask), return_states=True)
    torch.testing.assert_close(boxes, decoder(HeadInputs(query, visual, text, mask)))
    assert states.shape == query.shape
    # the box MLP reads exactly these states (its size terms, without the reference)
    torch.testing.assert_close(boxes[..., 2:], decoder.box_mlp(states)[..., 2:].sigmoid())
    # the same query and frame with another sentence: other states
    _, other = decoder(HeadInputs(query, visual, text.flip(1), mask), return_states=True)
    assert (states - other).abs().amax() > 1e-3
    if attention == 'parameter_free':  # by hand: q' = q + softmax(q V'^T / sqrt(D)) V'
        enhanced = visual[0, 0] + parameter_free_cross_attention(
            visual[0, 0][None], text[0][None], mask[0][None])[0]
        weights = (query[0, 0] @ enhanced.T / math.sqrt(DIM)).softmax(-1)
        torch.testing.assert_close(states[0, 0], query[0, 0] + weights @ enhanced,
                                   atol=1e-5, rtol=1e-5)


def test_the_papers_decoder_has_no_toy_options():
    """Reference points and token positions are ReferencePointSpaceDecoder's (ours)."""
    with pytest.raises(TypeError, match='frame_token_grid'):
        QueryGuidedSpaceDecoder(hidden_dim=DIM, frame_token_grid=(2, 2))
    plain = _decoder('learnable')
    grid = _reference_decoder('learnable', frame_token_grid=(2, 2))
    # the subclass adds exactly the location-score MLP, and its boxes come from
    # the same guided states (the size terms are the paper's sigmoid(MLP(q')))
    extra = {n for n, _ in grid.named_parameters()} - {n for n, _ in plain.named_parameters()}
    assert extra and all(n.startswith('location_score.') for n in extra)
    query, visual, text, mask = _states()
    _, states = plain(HeadInputs(query, visual, text, mask), return_states=True)
    boxes = grid(HeadInputs(query, visual, text, mask))
    torch.testing.assert_close(boxes[..., 2:],
                               plain(HeadInputs(query, visual, text, mask))[..., 2:])
    assert states.shape == query.shape


@pytest.mark.parametrize('attention', ATTENTIONS)
def test_sine_positions_on_the_keys_tell_token_places_apart(attention):
    """positional_encoding (ours): the keys know their cell, and it adds no parameter."""
    query, frames, text, mask = _states(batch=2, frames=1, tokens=4)
    reversed_frames = frames.flip(2)
    with_pos = _decoder(attention, positional_encoding=dict(normalize=True))
    assert sum(p.numel() for p in with_pos.parameters()) == sum(
        p.numel() for p in _decoder(attention).parameters())
    assert not torch.allclose(with_pos(HeadInputs(query, frames, text, mask)),
                              with_pos(HeadInputs(query, reversed_frames, text, mask)), atol=1e-4)
    with pytest.raises(ValueError, match='5 visual tokens'):
        with_pos(HeadInputs(*_states(batch=2, frames=1, tokens=5)))


def test_sine_positions_of_a_grid_with_row_newlines():
    """2 x 2 tokens with LLaVA's newline after each row (P = 6): the grid's
    tokens get mmdet's encoding of a 2 x 2 map, the newlines get none."""
    from mmdet.models.layers import SinePositionalEncoding
    decoder = _decoder('learnable', positional_encoding=dict(normalize=True))
    pos = decoder.frame_token_positions(6, torch.device('cpu'))
    expected = SinePositionalEncoding(DIM // 2, normalize=True)(
        torch.zeros(1, 2, 2, dtype=torch.bool))[0].permute(1, 2, 0).reshape(4, DIM)
    grid = [0, 1, 3, 4]  # row-major, the newlines are tokens 2 and 5
    torch.testing.assert_close(pos[grid], expected)
    assert (pos[[2, 5]] == 0).all()
    half = DIM // 2  # mmdet puts y first, then x
    torch.testing.assert_close(pos[0, :half], pos[1, :half])  # same row
    torch.testing.assert_close(pos[0, half:], pos[3, half:])  # same column
    assert not torch.allclose(pos[0], pos[4])
    # A square grid without newlines is the same map.
    torch.testing.assert_close(decoder.frame_token_positions(4, torch.device('cpu')),
                               expected)


def test_reference_points_skip_llavas_row_newlines():
    """row_newline=True: P = rows * (cols + 1); a newline token, however high it
    scores, is never a reference point; a grid token is, at its own cell."""
    decoder = _reference_decoder('learnable', frame_token_grid=(2, 2), row_newline=True)
    assert decoder.grid_token_index.tolist() == [0, 1, 3, 4]
    with torch.no_grad():
        layers = decoder.location_score.layers
        layers[0].weight.zero_()
        layers[0].bias.zero_()
        layers[0].weight[0, 0] = 1.0
        layers[-1].weight.zero_()
        layers[-1].bias.zero_()
        layers[-1].weight[0, 0] = 1000.0
    enhanced = torch.zeros(3, 6, DIM)
    enhanced[:, 2, 0] = 5.0  # the first row's newline: ignored
    enhanced[:, 4, 0] = 1.0  # bottom right
    reference = decoder.reference_points(torch.zeros(3, 1, DIM), enhanced)
    assert torch.allclose(reference, torch.tensor([[0.75, 0.75]]).expand(3, 2), atol=1e-4)
    assert decoder(HeadInputs(*_states(batch=2, frames=2, tokens=6))).shape == (2, 2, 4)
    with pytest.raises(ValueError, match='row_newline=True'):
        decoder(HeadInputs(*_states(batch=2, frames=2, tokens=4)))


@pytest.mark.parametrize('tokens, grid, newline', [(16, (4, 4), False), (20, (4, 4), True)])
def test_auto_grid_reads_the_layout_from_the_token_count(tokens, grid, newline):
    """frame_token_grid='auto' gives the fixed grid's boxes, for square grids with
    and without LLaVA's row newlines, and names a token count that fits neither."""
    fixed = _reference_decoder('learnable', frame_token_grid=grid, row_newline=newline)
    auto = _reference_decoder('learnable', frame_token_grid='auto')
    assert {n for n, _ in auto.named_parameters()} == {n for n, _ in fixed.named_parameters()}
    auto.load_state_dict(fixed.state_dict())
    states = _states(batch=2, frames=2, tokens=tokens)
    torch.testing.assert_close(auto(HeadInputs(*states)), fixed(HeadInputs(*states)))
    with pytest.raises(ValueError, match='18 visual tokens'):
        auto(HeadInputs(*_states(batch=2, frames=1, tokens=18)))
    with pytest.raises(ValueError, match='row_newline'):
        ReferencePointSpaceDecoder(hidden_dim=DIM, frame_token_grid='auto', row_newline=True)


def test_auto_grid_takes_each_videos_own_grid():
    """frame_token_grid='auto' with frame_grids: two videos of 12 tokens, one on
    a 2 x 6 grid (wide) and one on 3 x 4; a score peaked on token k puts each
    video's reference point on the centre of its own grid's cell k, and a grid
    that does not hold the frames' tokens is an error naming both."""
    decoder = _reference_decoder('learnable', frame_token_grid='auto')
    with torch.no_grad():
        layers = decoder.location_score.layers
        layers[0].weight.zero_()
        layers[0].bias.zero_()
        layers[0].weight[0, 0] = 1.0
        layers[-1].weight.zero_()
        layers[-1].bias.zero_()
        layers[-1].weight[0, 0] = 1000.0
    tokens = 12
    enhanced = torch.zeros(2 * tokens, tokens, DIM)  # 2 videos x 12 frames
    enhanced[torch.arange(2 * tokens), torch.arange(tokens).repeat(2), 0] = 1.0
    reference = decoder.reference_points(torch.zeros(2 * tokens, 1, DIM), enhanced,
                                         frame_grids=[(2, 6), (3, 4)])
    wide = [[(k % 6 + 0.5) / 6, (k // 6 + 0.5) / 2] for k in range(tokens)]
    tall = [[(k % 4 + 0.5) / 4, (k // 4 + 0.5) / 3] for k in range(tokens)]
    assert wide[:2] == [[1 / 12, 0.25], [0.25, 0.25]] and tall[5] == [0.375, 0.5]
    assert torch.equal(reference, torch.tensor(wide + tall))
    # through forward: the grids reach the reference points
    states = _states(batch=2, frames=3, tokens=tokens)
    boxes = decoder(HeadInputs(*states, frame_grids=[(2, 6), (3, 4)]))
    assert boxes.shape == (2, 3, 4)
    assert not torch.allclose(boxes, decoder(HeadInputs(*states, frame_grids=[(3, 4), (2, 6)])))
    with pytest.raises(ValueError, match=r'video 1 has a 3 x 5 token grid \(15 cells\) but '
                                         r'its frames have 12 visual tokens'):
        decoder(HeadInputs(*states, frame_grids=[(2, 6), (3, 5)]))
    # without the grids, 12 tokens read as LLaVA's 3 x 3 + row newlines: other boxes
    assert not torch.allclose(boxes, decoder(HeadInputs(*states)))
