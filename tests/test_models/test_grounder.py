import numpy as np
import pytest
import torch
from mmengine.optim import build_optim_wrapper

from mmstvg.models.grounders import IGNORE_INDEX, gather_head_inputs
from mmstvg.models.language import format_span
from mmstvg.registry import MODELS
from mmstvg.structures import denormalize_boxes
from models_testing_utils import make_batch, make_sample


def build(cfg, seed=0):
    torch.manual_seed(seed)
    return MODELS.build(cfg)


def test_sequence_layout_and_label_mask(grounder_cfg):
    model = build(grounder_cfg)
    tok = model.llm.tokenizer
    sample = make_sample('stvg', num_sampled=4, num_frames=20, fps=5.0, span=(5, 15))
    data = model.data_preprocessor(make_batch([sample]), False)
    video = model.encode_videos(data['inputs'], data['data_samples'])[0]
    embeds, labels, layouts = model.build_sequences(data['inputs'], data['data_samples'],
                                                    with_answer=True)
    embeds, labels, layout = embeds[0], labels[0], layouts[0]
    # 4 frames x (time stamp "0.0" "s" + 2x2 pooled tokens) then 4 appended queries
    assert video.shape == (4, 4, 64)
    start = layout.video_start
    assert layout.frame_prefix_pos.tolist() == [start, start + 6, start + 12, start + 18]
    assert layout.frame_token_pos[1].tolist() == list(range(start + 8, start + 12))
    assert layout.query_pos.tolist() == list(range(start + 24, start + 28))
    # the answer (9 word tokens + EOS) is the only labelled part, at the very end
    answer = tok(format_span(1.0, 3.0), add_special_tokens=False)['input_ids'] + [3]
    assert len(answer) == 10 and layout.length == embeds.shape[0] == labels.shape[0]
    assert layout.prompt_len == layout.length - 10
    labelled = (labels != IGNORE_INDEX).nonzero().flatten().tolist()
    assert labelled == list(range(layout.length - 10, layout.length))
    assert labels[layout.prompt_len:].tolist() == answer
    # the embeddings sit where the layout says
    emb = model.llm.embed_tokens
    frame_times = ['0.0', '1.2', '2.6', '3.8']  # frames 0, 6, 13, 19 at 5 fps
    for t, time in enumerate(frame_times):
        time_id = tok.convert_tokens_to_ids(time)
        assert torch.equal(embeds[layout.frame_prefix_pos[t]], emb(torch.tensor(time_id)))
        assert torch.equal(embeds[layout.frame_token_pos[t]], video[t])
        query = model.query_interleaver.query_embed[0] + \
            model.query_interleaver.frame_index_embed[t]
        assert torch.equal(embeds[layout.query_pos[t]], query)
    sentence = tok('the red circle moves left', add_special_tokens=False)['input_ids']
    assert torch.equal(embeds[layout.sentence_pos], emb(torch.tensor(sentence)))
    assert torch.equal(embeds[layout.prompt_len:], emb(torch.tensor(answer)))


def test_sentence_first_puts_the_question_before_the_video(grounder_cfg):
    video_first = build(grounder_cfg)
    grounder_cfg['prompt'] = dict(template='mmstvg', sentence_first=True)
    model = build(grounder_cfg)
    sample = make_sample('stvg', num_sampled=4, num_frames=20, fps=5.0, span=(5, 15))
    data = model.data_preprocessor(make_batch([sample]), False)
    embeds, labels, layouts = model.build_sequences(data['inputs'], data['data_samples'],
                                                    with_answer=True)
    layout = layouts[0]
    _, _, reference = video_first.build_sequences(data['inputs'], data['data_samples'],
                                                  with_answer=True)
    # Same tokens, other order: the sentence ends before the video starts and
    # the prompt ends right after the video (no text after it but the turn).
    sentence = layout.sentence_pos.tolist()
    assert sentence == list(range(sentence[0], sentence[0] + 5))
    assert sentence[-1] < layout.video_start
    assert reference[0].sentence_pos[0] > reference[0].video_start
    assert layout.length == reference[0].length
    assert layout.query_pos.tolist() == list(range(layout.video_start + 24,
                                                   layout.video_start + 28))
    assert layout.prompt_len == reference[0].prompt_len
    emb = model.llm.embed_tokens
    tok = model.llm.tokenizer
    words = tok('the red circle moves left', add_special_tokens=False)['input_ids']
    assert torch.equal(embeds[0][layout.sentence_pos], emb(torch.tensor(words)))
    labelled = (labels[0] != IGNORE_INDEX).nonzero().flatten().tolist()
    assert labelled == list(range(layout.prompt_len, layout.length))


def test_loss_goes_down_and_predict_reads_the_learned_answer(grounder_cfg):
    model = build(grounder_cfg)
    samples = [make_sample('stvg', span=(5, 15), seed=0),
               make_sample('tvg', num_sampled=3, span=(0, 10), seed=1),
               make_sample('rec', seed=2)]
    data = model.data_preprocessor(make_batch(samples), True)
    optim = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=3e-3)
    first = last = None
    for step in range(60):
        losses = model(**data, mode='loss')
        assert set(losses) == {'loss_lm', 'loss_bbox', 'loss_iou'}
        total = sum(losses.values())
        optim.zero_grad()
        total.backward()
        optim.step()
        first = first or {k: v.item() for k, v in losses.items()}
        if step == 29:
            last = {k: v.item() for k, v in losses.items()}
    # stated factor: every loss term below half of its first value in 30 steps;
    # 30 more steps memorise the batch's answers
    for key in first:
        assert last[key] < 0.5 * first[key], (key, first[key], last[key])
    model.eval()
    out = model(**data, mode='predict')
    stvg, tvg, rec = out
    assert stvg.pred_text == 'The event happens from 1.0 to 3.0 seconds.'
    assert stvg.pred_parse_ok and stvg.pred_span_frames.tolist() == [5, 15]
    assert stvg.pred_span_seconds.tolist() == [1.0, 3.0]
    # sampled frames 0, 6, 13, 19: frames 6 and 13 are inside [5, 15)
    assert stvg.pred_box_mask.tolist() == [False, True, True, False]
    assert stvg.pred_boxes.shape == (4, 4) and stvg.pred_box_scores.tolist() == [1.0] * 4
    assert tvg.pred_text == 'The event happens from 0.0 to 2.0 seconds.'
    assert tvg.pred_span_frames.tolist() == [0, 10] and 'pred_boxes' not in tvg
    assert rec.pred_parse_ok and rec.pred_span_frames.tolist() == [0, 1]
    assert rec.pred_box_mask.tolist() == [True] and rec.pred_boxes.shape == (1, 4)
    # boxes are pixel xyxy of the original frame (40 x 60): the learned box is close
    gt = samples[0].gt_boxes[1]
    assert torch.allclose(stvg.pred_boxes[1], gt, atol=6.0)
    # the samples carry what the metrics count: 3 predictions, none unparsable
    assert [s.pred_parse_ok for s in out] == [True] * 3
    for sample in out:
        sample.check()


def test_boxes_from_the_generation_pass_match_a_full_forward(grounder_cfg):
    model = build(grounder_cfg).eval()
    samples = [make_sample('stvg', num_sampled=4, seed=0),
               make_sample('stvg', num_sampled=2, sentence='a blue square appears',
                           seed=1)]
    data = model.data_preprocessor(make_batch(samples), False)
    batched = model(**data, mode='predict')
    with torch.no_grad():
        tensors = model(**data, mode='tensor')
    embeds, _, layouts = model.build_sequences(data['inputs'], data['data_samples'], False)
    for b, sample in enumerate(batched):
        t = sample.num_sampled_frames
        ori = sample.metainfo['ori_shape']
        full = denormalize_boxes(tensors['pred_boxes'][b, :t], ori)
        assert torch.allclose(sample.pred_boxes, full, atol=1e-4)
        # a forward over prompt + generated answer reads the same query states
        answer = model.llm.tokenizer(sample.pred_text, add_special_tokens=False)['input_ids']
        assert len(answer) > 0
        seq = torch.cat([embeds[b], model.llm.embed_tokens(torch.tensor(answer))])[None]
        with torch.no_grad():
            hidden, _ = model.llm(seq, attention_mask=torch.ones(1, seq.shape[1]).long())
            boxes = model.space_decoder(gather_head_inputs(hidden, layouts[b:b + 1]))
        assert torch.allclose(sample.pred_boxes, denormalize_boxes(boxes[0], ori), atol=1e-4)
        # one sample alone (no left padding) gives the same text and boxes
        alone = model.data_preprocessor(make_batch([make_sample(
            'stvg', num_sampled=t, seed=b,
            sentence=sample.metainfo['sentence'])], seed=0), False)
        alone['inputs'] = data['inputs'][b:b + 1, :t]
        single = model(**alone, mode='predict')[0]
        assert single.pred_text == sample.pred_text
        assert torch.allclose(single.pred_boxes, sample.pred_boxes, atol=1e-4)


def test_malformed_answers_are_counted_not_raised(grounder_cfg, monkeypatch):
    model = build(grounder_cfg).eval()
    answers = iter(['The event happens soon', 'from 3.0 to 1.0 seconds',
                    'The event happens from 0.5 to 9.9 seconds.'])
    monkeypatch.setattr(model.llm, 'decode', lambda ids: next(answers))
    samples = [make_sample('stvg', seed=i) for i in range(3)]
    out = model(**model.data_preprocessor(make_batch(samples), False), mode='predict')
    for bad in out[:2]:
        assert bad.pred_parse_ok is False
        assert bad.pred_span_frames.tolist() == [0, 0]
        assert bad.pred_span_seconds.tolist() == [0.0, 0.0]
        assert bad.pred_box_mask.tolist() == [False] * 4
    good = out[2]
    # 9.9 s is clipped to the 4.0 s video; frames [round(0.5 * 5), 20) = [2, 20)
    assert good.pred_parse_ok and good.pred_span_seconds.tolist() == [0.5, 4.0]
    assert good.pred_span_frames.tolist() == [2, 20]
    assert good.pred_box_mask.tolist() == [False, True, True, True]
    # the samples carry what the metrics count: 2 failures in 3 predictions
    assert [s.pred_parse_ok for s in out] == [False, False, True]


def test_each_part_is_swapped_by_naming_another_type(grounder_cfg, chat_tokenizer_dir):
    cfg = dict(grounder_cfg)
    cfg['vision_encoder'] = dict(type='HFVisionEncoder', select_layer=-2, pool_size=1,
                                 vision_config=dict(cfg['vision_encoder']['vision_config'],
                                                    model_type='clip_vision_model'))
    cfg['projector'] = dict(type='LinearProjector')
    cfg['llm'] = dict(cfg['llm'], tokenizer=chat_tokenizer_dir)
    cfg['query_interleaver'] = dict(type='NoQueries')
    cfg['space_decoder'] = None
    cfg['prompt'] = dict(template='mmstvg', time_style='prompt_list')
    model = build(cfg)
    names = [type(getattr(model, n)).__name__ for n in model.PART_NAMES]
    assert names == ['HFVisionEncoder', 'LinearProjector', 'NoneType', 'NoQueries', 'HFCausalLM',
                     'NoneType']
    assert type(model.vision_encoder.model).__name__ == 'CLIPVisionModel'
    sample = make_sample('stvg', num_sampled=3)
    data = model.data_preprocessor(make_batch([sample]), True)
    pieces = model.sequence_builder.pieces(data['data_samples'][0], 3, True)
    head = model.llm.tokenizer.decode(pieces.head_ids)
    # frames 0, 10, 19 at 5 fps, listed in the prompt
    assert head.startswith('<|im_start|> system') and 'at 0.0 s, 2.0 s, 3.8 s.' in head
    assert pieces.frame_prefix_ids == [[], [], []]
    assert model.llm.tokenizer.decode(pieces.tail_ids).strip().endswith('assistant')
    _, _, layouts = model.build_sequences(data['inputs'], data['data_samples'], True)
    # CLIP: 16 patches (CLS dropped), no prefix, no queries
    assert layouts[0].frame_token_pos.shape == (3, 16) and layouts[0].query_pos.numel() == 0
    assert set(model(**data, mode='loss')) == {'loss_lm'}
    pred = model(**data, mode='predict')[0]
    assert 'pred_span_frames' in pred and 'pred_boxes' not in pred
    with pytest.raises(ValueError, match='query_interleaver'):
        build(dict(grounder_cfg, query_interleaver=None))


def _optim_wrapper(model):
    return build_optim_wrapper(model, dict(
        type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
        paramwise_cfg=dict(custom_keys={
            'projector': dict(lr_mult=10.0), 'llm': dict(lr_mult=0.1),
            'space_decoder': dict(lr_mult=2.0, decay_mult=0.0)})))


def test_per_part_learning_rates_from_paramwise_cfg(grounder_cfg):
    model = build(grounder_cfg)
    lr_of = {}
    for group in _optim_wrapper(model).optimizer.param_groups:
        for param in group['params']:
            lr_of[id(param)] = (group['lr'], group['weight_decay'])
    assert lr_of[id(model.projector.linear_1.weight)] == (pytest.approx(1e-2), 0.05)
    assert lr_of[id(model.llm.decoder.layers[0].mlp.up_proj.weight)][0] == \
        pytest.approx(1e-4)
    assert lr_of[id(model.space_decoder.mlp[0].weight)] == (pytest.approx(2e-3), 0.0)
    assert lr_of[id(model.query_interleaver.query_embed)] == (pytest.approx(1e-3), 0.05)


def test_freezing_from_the_config(grounder_cfg):
    model = build(dict(grounder_cfg, freeze_parts=['llm']))
    # the vision encoder is frozen by its own flag, the LLM by freeze_parts
    assert not any(p.requires_grad for p in model.vision_encoder.parameters())
    assert not any(p.requires_grad for p in model.llm.parameters())
    assert all(p.requires_grad for p in model.projector.parameters())
    wrapper = _optim_wrapper(model)
    llm_before = model.llm.decoder.layers[0].mlp.up_proj.weight.clone()
    proj_before = model.projector.linear_1.weight.clone()
    data = model.data_preprocessor(make_batch([make_sample()]), True)
    wrapper.update_params(sum(model(**data, mode='loss').values()))
    assert torch.equal(model.llm.decoder.layers[0].mlp.up_proj.weight, llm_before)
    assert not torch.equal(model.projector.linear_1.weight, proj_before)
    with pytest.raises(ValueError, match='unknown part'):
        build(dict(grounder_cfg, freeze_parts=['backbone']))


def test_tvg_only_batch_keeps_box_graph_and_zero_box_loss(grounder_cfg):
    model = build(grounder_cfg)
    samples = [make_sample('tvg', span=(2, 8))]
    losses = model(**model.data_preprocessor(make_batch(samples), True), mode='loss')
    assert losses['loss_bbox'].item() == 0 and losses['loss_iou'].item() == 0
    assert losses['loss_bbox'].requires_grad
    assert np.isfinite(losses['loss_lm'].item())


def test_bf16_parts_train_and_predict(grounder_cfg):
    cfg = dict(grounder_cfg)
    cfg['vision_encoder'] = dict(cfg['vision_encoder'], dtype='bf16')
    cfg['llm'] = dict(cfg['llm'], dtype='bf16')
    model = build(cfg)
    data = model.data_preprocessor(make_batch([make_sample(), make_sample('rec')]), True)
    assert model.llm.dtype == torch.bfloat16
    assert model.encode_videos(data['inputs'], data['data_samples'])[0].dtype == \
        torch.bfloat16
    losses = model(**data, mode='loss')
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    assert model.projector.linear_1.weight.grad.dtype == torch.float32
    model.eval()
    out = model(**data, mode='predict')
    assert out[0].pred_boxes.dtype == torch.float32 and out[1].pred_boxes.shape == (1, 4)


def test_missing_fields_name_the_sample(grounder_cfg):
    model = build(grounder_cfg)
    sample = make_sample('stvg', seed=3)
    del sample.gt_span_seconds
    data = model.data_preprocessor(make_batch([sample]), True)
    with pytest.raises(KeyError, match="'vid3'.*gt_span_seconds"):
        model(**data, mode='loss')
    sample = make_sample('stvg', seed=4)
    meta = dict(sample.metainfo)
    del meta['ori_shape']
    bare = sample.new(metainfo=meta)
    with pytest.raises(KeyError, match="'vid4'.*ori_shape"):
        model(**model.data_preprocessor(make_batch([bare]), True), mode='loss')
    with pytest.raises(RuntimeError, match='invalid mode'):
        model(**data, mode='train')


def test_a_mixtures_prompt_template_replaces_the_question(grounder_cfg):
    model = build(grounder_cfg)
    tok = model.llm.tokenizer
    plain = make_sample('stvg')
    templated = make_sample('stvg')
    templated.set_metainfo(dict(prompt_template='Where is this object: {sentence}'))
    data = model.data_preprocessor(make_batch([plain, templated]), False)
    embeds, _, layouts = model.build_sequences(data['inputs'], data['data_samples'],
                                               with_answer=True)
    # The text right before the sentence is the template's (or the default
    # question's) text before {sentence}.
    for b, question in ((0, ['Find', 'when', 'and', 'where', 'this', 'happens', ':']),
                        (1, ['Where', 'is', 'this', 'object', ':'])):
        ids = tok.convert_tokens_to_ids(question)
        start = int(layouts[b].sentence_pos[0])
        assert torch.equal(embeds[b][start - len(ids):start],
                           model.llm.embed_tokens(torch.tensor(ids)))
    bad = make_sample('stvg')
    bad.set_metainfo(dict(prompt_template='no field here'))
    data = model.data_preprocessor(make_batch([bad]), False)
    with pytest.raises(ValueError, match='has no {sentence} field'):
        model.build_sequences(data['inputs'], data['data_samples'], with_answer=True)


class _PairMeanPooler(torch.nn.Module):
    """Test pooler: the mean of each pair of a frame's projected tokens (built
    with ``embed_dim`` and called with the frames' patch grid, as
    :class:`LlavaFeaturePooler`)."""

    def __init__(self, embed_dim):
        super().__init__()
        self.embed_dim = embed_dim

    def forward(self, tokens, grid):
        assert tokens.shape[-1] == self.embed_dim
        frames, num, dim = tokens.shape
        return tokens.reshape(frames, num // 2, 2, dim).mean(2)


def test_feature_pooler_runs_on_the_projected_tokens(grounder_cfg):
    MODELS.register_module(name='_PairMeanPooler', module=_PairMeanPooler, force=True)
    plain = build(grounder_cfg)
    pooled = build(dict(grounder_cfg, feature_pooler=dict(type='_PairMeanPooler')))
    data = plain.data_preprocessor(make_batch([make_sample()]), False)
    reference = plain.encode_videos(data['inputs'], data['data_samples'])[0]
    tokens = pooled.encode_videos(data['inputs'], data['data_samples'])[0]
    # 4 frames of 2x2 = 4 projected tokens each -> 2 tokens each, the pairs' means
    assert reference.shape == (4, 4, 64) and tokens.shape == (4, 2, 64)
    assert torch.allclose(tokens, reference.reshape(4, 2, 2, 64).mean(2), atol=1e-6)
    _, _, layouts = pooled.build_sequences(data['inputs'], data['data_samples'], False)
    assert layouts[0].frame_token_pos.shape == (4, 2)


class _WideBoxHead(torch.nn.Module):
    """Test head: five numbers a frame, or raw (no sigmoid) boxes."""

    def __init__(self, hidden_dim, raw=False):
        super().__init__()
        self.linear = torch.nn.Linear(hidden_dim, 4 if raw else 5)
        self.raw = raw

    def forward(self, head_inputs):
        return self.linear(head_inputs.query) * (100.0 if self.raw else 1.0)


class _StrayQueries(torch.nn.Module):
    """Test interleaver: frames only, and a query index past the segment."""

    def __init__(self, embed_dim):
        super().__init__()

    def forward(self, visual_tokens, frame_prefix_embeds=None):
        from mmstvg.models.query_interleavers import InterleavedVideo, lay_out_frames
        video, token_index, prefix_index = lay_out_frames(visual_tokens, frame_prefix_embeds)
        query_index = torch.arange(visual_tokens.shape[0]) + video.shape[0]
        return InterleavedVideo(video, token_index, prefix_index, query_index)


def test_part_outputs_are_checked_against_the_contract(grounder_cfg):
    from mmstvg.registry import QUERY_INTERLEAVERS, SPACE_DECODERS
    SPACE_DECODERS.register_module(name='_WideBoxHead', module=_WideBoxHead, force=True)
    QUERY_INTERLEAVERS.register_module(name='_StrayQueries', module=_StrayQueries,
                                       force=True)
    data_of = lambda model: model.data_preprocessor(  # noqa: E731
        make_batch([make_sample(), make_sample(seed=1)]), True)
    model = build(dict(grounder_cfg, space_decoder=dict(type='_WideBoxHead')))
    with pytest.raises(ValueError, match=r'_WideBoxHead must return boxes of shape '
                                         r'\(B, T, 4\) = \(2, 4, 4\), got \(2, 4, 5\)'):
        model(**data_of(model), mode='loss')
    model = build(dict(grounder_cfg, space_decoder=dict(type='_WideBoxHead', raw=True)))
    with pytest.raises(ValueError, match=r'_WideBoxHead must return normalised cxcywh '
                                         r'boxes in \[0, 1\]'):
        model(**data_of(model), mode='loss')
    model = build(dict(grounder_cfg, query_interleaver=dict(type='_StrayQueries')))
    with pytest.raises(ValueError, match=r'_StrayQueries: query_index must lie in '
                                         r'\[0, 24\)'):
        model(**data_of(model), mode='loss')


def test_the_space_decoder_owns_its_box_targets_and_loss():
    """``loss(pred_boxes, data_samples)``: targets normalised from the samples' boxes."""
    from mmstvg.models.space_decoders import MLPBoxHead, box_targets
    head = MLPBoxHead(hidden_dim=8, num_layers=1)
    stvg = make_sample('stvg', num_sampled=4, span=(5, 15), ori_shape=(40, 60))
    stvg.gt_boxes[1] = torch.tensor([6.0, 4.0, 30.0, 20.0])
    samples = [stvg, make_sample('tvg', num_sampled=3, seed=1)]
    targets, mask = box_targets(samples, max_frames=4)
    # frame 1 of a 60 x 40 frame: xyxy [6, 4, 30, 20] -> cxcywh [0.3, 0.3, 0.4, 0.4]
    torch.testing.assert_close(targets[0, 1], torch.tensor([0.3, 0.3, 0.4, 0.4]))
    assert mask.tolist() == [[False, True, True, False], [False] * 4]
    pred = torch.rand(2, 4, 4)
    expected = head.loss_by_targets(pred, targets, mask)
    losses = head.loss(pred, samples)
    assert set(losses) == {'loss_bbox', 'loss_iou'}
    for key in losses:
        torch.testing.assert_close(losses[key], expected[key])
