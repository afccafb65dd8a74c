"""Multiple-choice QA samples through the tiny grounder: prompt, answer-only loss, parsed choice."""
import copy
import sys
from pathlib import Path

import pytest
import torch

from mmstvg.models.grounders import IGNORE_INDEX
from mmstvg.models.llm_backbones.toy_tokenizer import build_toy_tokenizer
from mmstvg.registry import MODELS
from mmstvg.structures import GroundingDataSample

sys.path.insert(0, str(Path(__file__).parents[1] / 'test_models'))
from models_testing_utils import (TINY_VISION, make_batch, make_sample,  # noqa: E402
                                  tiny_llm_config)

OPTIONS = ['red', 'green', 'blue', 'yellow']


@pytest.fixture(scope='module')
def letter_tokenizer_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp('qa_tokenizer')
    build_toy_tokenizer(extra_words=list('ABCD')).save_pretrained(str(path))
    return str(path)


def build_qa_grounder(tokenizer_dir, seed=0, **overrides):
    """The tiny QA grounder; ``overrides`` replace its config's keys."""
    torch.manual_seed(seed)
    vocab = len(build_toy_tokenizer(extra_words=list('ABCD')))
    return MODELS.build(dict(dict(
        type='VideoGroundingLLM',
        vision_encoder=dict(type='HFVisionEncoder', vision_config=dict(TINY_VISION),
                            select_layer=-1, pool_size=2, freeze=True),
        projector=dict(type='MLPProjector'),
        llm=dict(type='HFCausalLM', llm_config=tiny_llm_config(vocab),
                 tokenizer=tokenizer_dir),
        query_interleaver=dict(type='AppendedQueries'),
        space_decoder=dict(type='MLPBoxHead', num_layers=2),
        answer=dict(type='MultipleChoiceAnswer'),
        max_new_tokens=4), **overrides))


def make_qa_sample(choice=2, num_sampled=4, seed=0):
    sample = GroundingDataSample()
    frame_inds = torch.arange(num_sampled).numpy() * 3
    sample.set_metainfo(dict(
        task='mcqa', sample_id=f'q{seed}', video_id=f'qv{seed}', video_path='',
        sentence='what colour is the shape that moves ?\nA. red\nB. green\nC. blue\nD. yellow',
        prompt_template='{sentence}\nanswer with the letter .', options=OPTIONS,
        gt_choice=choice, num_frames=12, fps=3.0, duration=4.0, ori_shape=(40, 60),
        img_shape=(32, 32), frame_inds=frame_inds, frame_times=frame_inds / 3.0))
    return sample


def test_qa_loss_is_the_answer_cross_entropy_only(letter_tokenizer_dir):
    model = build_qa_grounder(letter_tokenizer_dir)
    qa = make_qa_sample(choice=2)
    data = model.data_preprocessor(make_batch([qa]), False)
    embeds, labels, layouts = model.build_sequences(data['inputs'], data['data_samples'], True)
    answer = labels[0][labels[0] != IGNORE_INDEX].tolist()
    tok = model.llm.tokenizer
    # ChatML (qwen_1_5) ends the assistant turn with <|im_end|>, whatever the EOS.
    end = tok.convert_tokens_to_ids('<|im_end|>')
    assert answer == tok('C', add_special_tokens=False)['input_ids'] + [end]
    losses = model.loss(data['inputs'], data['data_samples'])
    assert float(losses['loss_lm']) > 0
    # The heads still run (ZeRO-3 gathers their parameters) but a QA sample
    # has no target frame: its box losses are exactly zero.
    assert float(losses['loss_bbox']) == 0.0 and float(losses['loss_iou']) == 0.0
    losses['loss_bbox'].backward()


def test_mixed_batch_box_loss_comes_from_the_grounding_sample(letter_tokenizer_dir):
    model = build_qa_grounder(letter_tokenizer_dir)
    stvg = make_sample('stvg', num_sampled=4, num_frames=20, span=(5, 15))
    mixed = model.data_preprocessor(make_batch([stvg, make_qa_sample()]), False)
    alone = model.data_preprocessor(make_batch([copy.deepcopy(stvg)]), False)
    with torch.no_grad():
        mixed_losses = model.loss(mixed['inputs'], mixed['data_samples'])
        alone_losses = model.loss(alone['inputs'], alone['data_samples'])
    assert float(mixed_losses['loss_bbox']) > 0
    torch.testing.assert_close(mixed_losses['loss_bbox'], alone_losses['loss_bbox'])


def test_predict_parses_the_choice_and_counts_failures(letter_tokenizer_dir, monkeypatch):
    model = build_qa_grounder(letter_tokenizer_dir).eval()
    replies = iter(['B', 'the shape is purple'])
    monkeypatch.setattr(model.llm, 'decode', lambda ids: next(replies))
    data = model.data_preprocessor(make_batch([make_qa_sample(0), make_qa_sample(1, seed=1)]),
                                   False)
    out = model.predict(data['inputs'], data['data_samples'])
    assert [s.pred_choice for s in out] == [1, -1]
    assert [s.pred_parse_ok for s in out] == [True, False]
    assert 'pred_boxes' not in out[0] and 'pred_span_seconds' not in out[0]
    # what the metric counts, from the samples: 1 failure in 2 predictions
    assert (len(out), sum(not s.pred_parse_ok for s in out)) == (2, 1)


def test_predict_on_a_real_generation_gives_a_valid_field(letter_tokenizer_dir):
    model = build_qa_grounder(letter_tokenizer_dir).eval()
    data = model.data_preprocessor(make_batch([make_qa_sample()]), False)
    (out, ) = model.predict(data['inputs'], data['data_samples'])
    assert isinstance(out.pred_text, str)
    assert out.pred_choice in (-1, 0, 1, 2, 3)
    assert out.pred_parse_ok == (out.pred_choice >= 0)


def test_the_time_pointer_leaves_qa_answers_alone(letter_tokenizer_dir):
    """The toy's time pointer (ours) raises time tokens in span answers only:
    a QA answer's loss is the LM's, though the pointer still runs (zero
    gradients), and a mixed batch predicts a choice and a span."""
    import projects.spacevllm.spacevllm.addons  # noqa: F401  (registers the time pointer)
    model = build_qa_grounder(
        letter_tokenizer_dir, heads=[dict(type='QuerySpanScoreHead')],
        logits_processors=[dict(type='TimeStampPointer')], prompt=dict(template='mmstvg'),
        answer=dict(type='MultipleChoiceAnswer', grounding=dict(type='SnappedSpanAnswer')),
        max_new_tokens=6)
    pointer = model.time_pointer
    qa = model.data_preprocessor(make_batch([make_qa_sample(), make_qa_sample(1, seed=1)]),
                                 False)
    stvg = model.data_preprocessor(
        make_batch([make_sample('stvg', num_sampled=4, num_frames=20, span=(5, 15))]), False)

    def lm_loss(data, with_pointer):
        model.time_pointer = pointer if with_pointer else None
        try:
            return model.loss(data['inputs'], data['data_samples'])
        finally:
            model.time_pointer = pointer

    losses = lm_loss(qa, True)
    torch.testing.assert_close(losses['loss_lm'], lm_loss(qa, False)['loss_lm'])
    assert float(losses['loss_span_score']) == 0.0
    losses['loss_lm'].backward()
    grads = [p.grad for p in pointer.parameters()]
    assert all(g is not None and not g.any() for g in grads)
    # ... while a span answer's loss is the pointer's:
    assert abs(float(lm_loss(stvg, True)['loss_lm']) -
               float(lm_loss(stvg, False)['loss_lm'])) > 1e-4

    model.eval()
    mixed = model.data_preprocessor(make_batch(
        [make_sample('stvg', num_sampled=4, num_frames=20, span=(5, 15)), make_qa_sample()]),
        False)
    with torch.no_grad():
        span, choice = model.predict(mixed['inputs'], mixed['data_samples'])
    assert 'pred_span_seconds' in span and 'pred_choice' not in span
    assert choice.pred_choice in (-1, 0, 1, 2, 3) and 'pred_span_seconds' not in choice
