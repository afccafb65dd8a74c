"""TimeStampPointer: boundary keys, how its scores reach the logits, and the grounder's use."""
import math

import pytest
import torch
import torch.nn.functional as F

from mmstvg.models.llm_backbones.toy_tokenizer import build_toy_tokenizer
from mmstvg.registry import MODELS
from models_testing_utils import make_batch, make_sample
from projects.spacevllm.spacevllm.addons import SnappedSpanAnswer, TimeStampPointer


def _identity_pointer(dim, previous_scale=2.0):
    pointer = TimeStampPointer(hidden_dim=dim)
    with torch.no_grad():
        for linear, scale in ((pointer.answer_proj, 1.0), (pointer.current_proj, 1.0),
                              (pointer.previous_proj, previous_scale)):
            linear.weight.copy_(torch.eye(dim) * scale)
            if linear.bias is not None:
                linear.bias.zero_()
    return pointer


def test_boundary_keys_read_the_query_states_on_both_sides():
    pointer = _identity_pointer(3)
    q = torch.randn(2, 3, 3)
    keys, valid = pointer.boundary_keys(q, [3, 2])
    # key_j = q_j + 2 q_{j-1}, with q_{-1} = q_T = 0; sample 1 has 2 real frames
    zero = torch.zeros(3)
    expected0 = torch.stack([q[0, 0], q[0, 1] + 2 * q[0, 0], q[0, 2] + 2 * q[0, 1], 2 * q[0, 2]])
    expected1 = torch.stack([q[1, 0], q[1, 1] + 2 * q[1, 0], 2 * q[1, 1], zero])
    torch.testing.assert_close(keys[0], expected0)
    torch.testing.assert_close(keys[1], expected1)
    assert valid.tolist() == [[True] * 4, [True, True, True, False]]
    with pytest.raises(ValueError, match='num_frames'):
        pointer.boundary_keys(q, [4, 2])


def test_scores_are_added_to_their_time_tokens_and_shared_tokens_combine():
    pointer = _identity_pointer(2)
    logits = torch.tensor([[0.5, -1.0, 0.0, 2.0, 0.0, 1.0]])
    state = torch.tensor([[1.0, 0.0]])
    scores = torch.tensor([1.0, 2.0, 3.0, 5.0])
    keys = torch.stack([scores * math.sqrt(2), torch.zeros(4)], dim=-1)[None]
    ids = torch.tensor([[4, 1, 1, 2]])
    valid = torch.tensor([[True, True, True, False]])
    out = pointer.point(logits, state, keys, ids, valid)
    expected = logits.clone()
    expected[0, 4] += 1.0
    expected[0, 1] += math.log(math.exp(2.0) + math.exp(3.0))
    # token 2 belongs to an invalid boundary only: untouched, like 0, 3 and 5
    torch.testing.assert_close(out, expected)
    out.sum().backward()  # differentiable through log-sum-exp
    with pytest.raises(ValueError, match='valid frame boundary'):
        pointer.point(logits, state, keys, ids, torch.zeros_like(valid))


def test_the_snapped_answer_gives_each_boundary_its_answer_token():
    from mmstvg.structures import GroundingDataSample
    tokenizer = build_toy_tokenizer()
    answer_part = SnappedSpanAnswer(tokenizer)
    ids = answer_part.boundary_time_ids([0.0, 0.4, 0.8], duration=1.2)
    assert ids == tokenizer.convert_tokens_to_ids(['0.0', '0.4', '0.8', '1.2'])
    sample = GroundingDataSample(metainfo=dict(task='stvg'))
    sample.gt_span_seconds = torch.tensor([0.3, 0.9])
    text = answer_part.encode(sample, [0.0, 0.4, 0.8], 1.2)
    answer = tokenizer(text, add_special_tokens=False)['input_ids']
    assert ids[1] in answer and ids[3] in answer  # "from 0.4 to 1.2"
    fine = SnappedSpanAnswer(tokenizer, precision=2)
    with pytest.raises(ValueError, match="'3.25'"):
        fine.boundary_time_ids([3.25], duration=4.0)


def _pointer_grounder(grounder_cfg):
    grounder_cfg.update(logits_processors=[dict(type='TimeStampPointer')],
                        answer=dict(type='SnappedSpanAnswer'))
    return grounder_cfg


def test_the_grounder_checks_what_the_pointer_needs(grounder_cfg):
    cfg = dict(grounder_cfg, logits_processors=[dict(type='TimeStampPointer')])
    with pytest.raises(ValueError, match='SnappedSpanAnswer'):
        MODELS.build(cfg)
    cfg = _pointer_grounder(dict(grounder_cfg))
    cfg.update(query_interleaver=None, space_decoder=None)
    with pytest.raises(ValueError, match='time_pointer'):
        MODELS.build(cfg)


def test_generation_and_training_see_the_same_pointer_logits(grounder_cfg, monkeypatch):
    torch.manual_seed(0)
    model = MODELS.build(_pointer_grounder(grounder_cfg))
    model.eval()
    # different frame counts: left padding in generation, right padding in training
    samples = [make_sample('stvg', num_sampled=4, span=(5, 15)),
               make_sample('stvg', num_sampled=6, num_frames=30, span=(3, 20), seed=1)]

    def generate():
        data = model.data_preprocessor(make_batch(samples), False)
        predicted = model(**data, mode='predict')
        return predicted, [model.llm.tokenizer.encode(s.pred_text, add_special_tokens=False)
                           for s in predicted]

    answer_proj = model.time_pointer.answer_proj
    with torch.no_grad():  # scores 0: the pointer adds log(1), the LM alone decides
        weight, bias = answer_proj.weight.clone(), answer_proj.bias.clone()
        answer_proj.weight.zero_(), answer_proj.bias.zero_()
    _, lm_only = generate()
    with torch.no_grad():  # a strong pointer
        answer_proj.weight.copy_(weight * 200.0), answer_proj.bias.copy_(bias)
    predicted, generated = generate()
    for sample, ids, plain in zip(predicted, generated, lm_only):
        times = list(sample.metainfo['frame_times'])
        boundaries = set(model.answer.time_coder.boundary_time_ids(
            times, sample.metainfo['duration']))
        assert boundaries & set(ids) and ids != plain  # the pointer chose tokens

    # teacher-force the generated answers: their tokens are the argmax there too
    texts = {s.metainfo['video_id']: s.pred_text for s in predicted}
    monkeypatch.setattr(model.answer, 'encode',
                        lambda s, times, duration: texts[s.metainfo['video_id']])
    seen, cross_entropy = {}, F.cross_entropy

    def spy(logits, targets, *args, **kwargs):
        seen.update(logits=logits.detach(), targets=targets)
        return cross_entropy(logits, targets, *args, **kwargs)

    import mmstvg.models.grounders.decoding as module
    monkeypatch.setattr(module.F, 'cross_entropy', spy)
    data = model.data_preprocessor(make_batch(samples), True)
    model(**data, mode='loss')
    eos = model.llm.eos_token_id
    keep = seen['targets'] != eos  # generation stopped at max_new_tokens, not EOS
    assert seen['targets'][keep].tolist() == [i for ids in generated for i in ids]
    assert seen['logits'][keep].argmax(-1).tolist() == seen['targets'][keep].tolist()


def test_the_pointer_learns_to_point_at_the_span_boundaries():
    """Frame states that only say "inside the span" (one feature among noise): a
    few hundred steps teach the pointer the start (outside -> inside) and the end
    (inside -> outside, or the duration) boundary, from two answer states."""
    torch.manual_seed(0)
    dim, frames, batch = 16, 8, 64
    vocab = frames + 1
    pointer = TimeStampPointer(hidden_dim=dim)
    optimizer = torch.optim.Adam(pointer.parameters(), lr=1e-2)
    answer = torch.randn(2, dim)  # the states at "from" and at "to"

    def episode():
        length = torch.randint(1, frames, (batch,))
        start = (torch.rand(batch) * (frames - length + 1)).long()
        steps = torch.arange(frames)
        inside = (steps >= start[:, None]) & (steps < (start + length)[:, None])
        states = torch.randn(batch, frames, dim) * 0.3
        states[..., 0] += 2 * inside.float()
        # boundary j is written as token j (token frames = the duration)
        ids = torch.arange(frames + 1).expand(batch, -1)
        rows = torch.arange(batch).repeat_interleave(2)
        logits = pointer(torch.zeros(2 * batch, vocab), answer.repeat(batch, 1),
                         states, [frames] * batch, ids, rows)
        targets = torch.stack([start, start + length], dim=1).flatten()
        return logits, targets

    for _ in range(500):
        logits, targets = episode()
        loss = F.cross_entropy(logits, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        logits, targets = episode()
    accuracy = (logits.argmax(-1) == targets).float().mean().item()
    assert accuracy > 0.95, accuracy


def test_the_pointer_runs_under_bf16_autocast():
    """--amp: the pointer's sums stay float32 (scatter_add needs one dtype)."""
    torch.manual_seed(0)
    pointer = TimeStampPointer(hidden_dim=4)
    states = torch.randn(2, 3, 4)
    ids = torch.tensor([[1, 2, 3, 4], [1, 2, -1, -1]])
    logits = torch.randn(2, 6)
    answer = torch.randn(2, 4)
    reference = pointer(logits, answer, states, [3, 1], ids)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = pointer(logits.bfloat16(), answer, states, [3, 1], ids)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, reference, atol=0.1, rtol=0.05)


def test_the_toy_grounder_trains_one_step_and_predicts_under_bf16_autocast(grounder_cfg):
    """``tools/train.py configs/scratch/spacevllm_scratch.py --amp`` crashed at the first
    iteration in the pointer (``scatter(): Expected self.dtype to be equal to
    src.dtype``); the toy's parts now run a step under CPU bf16 autocast."""
    cfg = _pointer_grounder(grounder_cfg)
    cfg.update(heads=[dict(type='QuerySpanScoreHead')],
               frame_state_source='space_decoder',
               space_decoder=dict(type='ReferencePointSpaceDecoder', num_heads=2,
                                  frame_token_grid=(2, 2)))
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    samples = [make_sample('stvg', span=(5, 15)), make_sample('tvg', num_sampled=3, seed=1)]
    data = model.data_preprocessor(make_batch(samples), True)
    optim = torch.optim.AdamW(model.parameters(), lr=1e-3)
    before = model.time_pointer.answer_proj.weight.detach().clone()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model(**data, mode='loss')
    assert set(losses) == {'loss_lm', 'loss_bbox', 'loss_iou', 'loss_span_score'}
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    optim.step()
    assert not torch.equal(model.time_pointer.answer_proj.weight, before)
    model.eval()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = model(**model.data_preprocessor(make_batch(samples), False), mode='predict')
    assert out[0].pred_boxes.shape == (4, 4) and out[0].pred_box_scores.dtype == torch.float32
