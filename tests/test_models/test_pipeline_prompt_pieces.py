"""Prompt tokenization in the data pipeline (issue 30): the ids TokenizeGroundingPrompt
makes in a worker are the ids the grounder makes itself, its loss on them is the same
number, and pieces made by other text parts are refused by name."""
import copy
import pickle

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmstvg.datasets.transforms import TokenizeGroundingPrompt, fill_prompt_tokenization
from mmstvg.models.grounders import PROMPT_PIECES_KEY, TextParts
from mmstvg.models.vision_encoders.qwen_vl_vision_encoder import QwenVLVisionEncoder
from mmstvg.registry import MODELS
from mmstvg.structures import GroundingDataSample
from models_testing_utils import (IMAGE_SIZE, TINY_VISION, make_batch, make_sample,
                                  tiny_llm_config)


def _conversation():
    """An open-QA sample of two rounds (LlavaVideoSFTDataset + the pipeline)."""
    sample = GroundingDataSample()
    inds = np.arange(2)
    questions, answers = ['what moves ?', 'where does it go ?'], ['the red circle', 'left']
    sample.set_metainfo(dict(
        task='open_qa', sentence=questions[0], questions=questions, answers=answers,
        sample_id='conv0', video_id='v0', num_frames=2, fps=1.0, duration=2.0,
        ori_shape=(IMAGE_SIZE, IMAGE_SIZE), img_shape=(IMAGE_SIZE, IMAGE_SIZE),
        frame_inds=inds, frame_times=inds / 1.0))
    return sample


def _packed(sample, seed=0):
    """What PackGroundingInputs hands the transform: frames and the sample."""
    frames = make_batch([sample], seed)['inputs'][0]
    return dict(inputs=frames, data_samples=sample)


def _configs(grounder_cfg, qwen2_tokenizer_dir):
    text_box = {k: v for k, v in grounder_cfg.items()
                if k not in ('query_interleaver', 'space_decoder', 'max_new_tokens')}
    chat = dict(grounder_cfg, answer=dict(type='FreeTextAnswer',
                                          grounding=dict(type='SpanAnswer')))
    qwen = dict(grounder_cfg,
                llm=dict(type='HFCausalLM', tokenizer=qwen2_tokenizer_dir,
                         llm_config=tiny_llm_config(151646)),
                answer=dict(type='FreeTextAnswer', grounding=dict(type='SpanAnswer')),
                prompt=dict(template='qwen_1_5'))
    return dict(
        span=(grounder_cfg, [make_sample('stvg', seed=0), make_sample('tvg', seed=1)]),
        rec=(grounder_cfg, [make_sample('rec', seed=2)]),
        text_boxes=(dict(text_box, type='TextBoxGroundingLLM', box_precision=1),
                    [make_sample('stvg', seed=3)]),
        conversation=(chat, [_conversation(), make_sample('stvg', seed=4)]),
        qwen2_chatml=(qwen, [make_sample('stvg', sentence='The red circle moves left.'),
                             _conversation()]))


@pytest.mark.parametrize('case', ['span', 'rec', 'text_boxes', 'conversation',
                                  'qwen2_chatml'])
def test_pipeline_ids_and_loss_equal_the_models_own(case, grounder_cfg,
                                                    qwen2_tokenizer_dir):
    cfg, samples = _configs(grounder_cfg, qwen2_tokenizer_dir)[case]
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(cfg))
    for with_answer in (True, False):
        transform = TokenizeGroundingPrompt(model=copy.deepcopy(cfg),
                                            with_answer=with_answer)
        # the transform travels to the workers by pickle
        transform = pickle.loads(pickle.dumps(transform))
        for sample in samples:
            packed = transform(_packed(copy.deepcopy(sample)))
            tokenized = packed['data_samples'].metainfo[PROMPT_PIECES_KEY]
            assert tokenized.with_answer == with_answer
            own = model.sequence_builder.pieces(sample, sample.num_sampled_frames,
                                                with_answer)
            assert tokenized.pieces == own
            assert pickle.loads(pickle.dumps(tokenized)) == tokenized
    # one training batch: pipeline pieces and in-model pieces give the same loss
    transform = TokenizeGroundingPrompt(model=copy.deepcopy(cfg), with_answer=True)
    batch = make_batch([copy.deepcopy(s) for s in samples])
    piped = make_batch([transform(_packed(copy.deepcopy(s)))['data_samples']
                        for s in samples])
    assert all(PROMPT_PIECES_KEY in s.metainfo for s in piped['data_samples'])
    assert all(PROMPT_PIECES_KEY not in s.metainfo for s in batch['data_samples'])
    model.train()
    own = model.loss(**model.data_preprocessor(batch, True))
    from_pipeline = model.loss(**model.data_preprocessor(piped, True))
    assert own.keys() == from_pipeline.keys()
    for key in own:
        assert torch.equal(own[key], from_pipeline[key]), key


def test_pieces_of_other_text_parts_are_refused_by_name(grounder_cfg, chat_tokenizer_dir):
    model = MODELS.build(copy.deepcopy(grounder_cfg))
    sample = make_sample('stvg')
    other_template = dict(grounder_cfg, prompt=dict(template='mmstvg', sentence_first=True))
    other_tokenizer = dict(grounder_cfg, llm=dict(grounder_cfg['llm'],
                                                  tokenizer=chat_tokenizer_dir))
    for cfg in (other_template, other_tokenizer):
        packed = TokenizeGroundingPrompt(model=cfg)(_packed(copy.deepcopy(sample)))
        batch = make_batch([packed['data_samples']])
        with pytest.raises(ValueError, match="metainfo 'prompt_pieces' was tokenized"):
            model.loss(**model.data_preprocessor(batch, True))
    # the model's own parts pass, and a frame count other than the pieces' is named
    packed = TokenizeGroundingPrompt(model=grounder_cfg)(_packed(copy.deepcopy(sample)))
    model.sequence_builder.pieces(packed['data_samples'], 4, True)
    with pytest.raises(ValueError, match="'prompt_pieces' has 4 frame prefixes"):
        model.sequence_builder.pieces(packed['data_samples'], 6, True)


def test_pieces_for_the_other_mode_are_rebuilt_in_the_model(grounder_cfg):
    """A training sample predicted (or a tensor-mode forward) gets its prompt without
    answer from the model: the pipeline's pieces hold the answer."""
    model = MODELS.build(copy.deepcopy(grounder_cfg))
    sample = make_sample('stvg')
    packed = TokenizeGroundingPrompt(model=grounder_cfg, with_answer=True)(
        _packed(copy.deepcopy(sample)))['data_samples']
    assert (model.sequence_builder.pieces(packed, 4, False) ==
            model.sequence_builder.pieces(sample, 4, False))
    assert model.sequence_builder.pieces(packed, 4, False).answer_ids == []


def test_without_a_model_the_transform_passes_samples_on():
    sample = make_sample('stvg')
    packed = TokenizeGroundingPrompt()(_packed(sample))
    assert PROMPT_PIECES_KEY not in packed['data_samples'].metainfo


def test_per_patch_pieces_for_paired_frames(grounder_cfg, toy_tokenizer_dir):
    """Qwen-VL's paired frames: one time stamp a temporal patch on both sides; the
    frames a grid come from the tower's config without building it."""
    from transformers import AutoTokenizer
    tower = dict(vision_config=dict(model_type='qwen2_5_vl_vision', depth=1,
                                    temporal_patch_size=2))
    assert QwenVLVisionEncoder.config_frames_per_patch(tower) == 2
    assert QwenVLVisionEncoder.config_frames_per_patch(
        dict(tower, temporal_patching='frame')) == 1
    tokenizer = AutoTokenizer.from_pretrained(toy_tokenizer_dir)
    parts = TextParts(tokenizer, dict(type='SpanAnswer'), dict(template='mmstvg'),
                      frames_per_patch=2)
    from mmstvg.models.grounders import SequenceBuilder
    builder = SequenceBuilder(parts.prompt_builder, parts.answer, 2,
                              fingerprint=parts.identity)
    sample = make_sample('stvg', num_sampled=5)
    pieces = builder.pieces(sample, 5, True)
    assert len(pieces.frame_prefix_ids) == 3  # 5 frames -> 3 grids


def test_fill_gives_every_pipeline_the_model(grounder_cfg):
    cfg = Config.fromfile('configs/spacevllm_toy.py')
    filled = fill_prompt_tokenization(cfg)
    assert filled == 3  # train, val, test
    for name, with_answer in (('train_dataloader', True), ('val_dataloader', False),
                              ('test_dataloader', False)):
        step = cfg[name].dataset.pipeline[-1]
        assert step.type == 'TokenizeGroundingPrompt'
        assert step.with_answer == with_answer
        assert step.model.to_dict() == cfg.model.to_dict()
    # filled once: a second call changes nothing
    assert fill_prompt_tokenization(cfg) == 0
    # a model without a prompt leaves the transforms alone
    cfg = Config.fromfile('configs/spacevllm_toy.py')
    cfg.model = dict(type='TrivialBaseline')
    assert fill_prompt_tokenization(cfg) == 0


def test_with_prompt_tokenization_fills_or_adds_the_transform(grounder_cfg):
    """The pipelines built outside build_runner (inferencer, lmms-eval, tools):
    an unfilled transform gets the model; a pipeline without one gets one
    right after PackGroundingInputs; a model without a prompt: unchanged."""
    from mmstvg.datasets.transforms import with_prompt_tokenization
    pipeline = [dict(type='GroundingResize', scale=(8, 8)), dict(type='PackGroundingInputs'),
                dict(type='Other')]
    added = with_prompt_tokenization(pipeline, grounder_cfg)
    assert [s['type'] for s in added] == ['GroundingResize', 'PackGroundingInputs',
                                          'TokenizeGroundingPrompt', 'Other']
    assert added[2]['model'] == grounder_cfg and added[2]['with_answer'] is False
    assert len(pipeline) == 3  # not modified
    named = pipeline[:2] + [dict(type='mmstvg.TokenizeGroundingPrompt', with_answer=False)]
    filled = with_prompt_tokenization(named, grounder_cfg)
    assert len(filled) == 3 and filled[2]['model'] == grounder_cfg
    assert 'model' not in named[2]
    assert with_prompt_tokenization(pipeline, dict(type='TrivialBaseline')) == pipeline
    with pytest.raises(ValueError, match='PackGroundingInputs'):
        with_prompt_tokenization(pipeline[:1], grounder_cfg)


def test_the_model_says_once_that_it_tokenizes(grounder_cfg):
    """A sample without pieces (made by hand) is tokenized in the model, said
    once per model; the transform's own builder says nothing."""
    import logging

    from mmengine.logging import MMLogger

    class Recorder(logging.Handler):
        def emit(self, record):
            if 'tokenized in the model' in record.getMessage():
                notes.append(record.getMessage())

    notes, handler = [], Recorder()
    model = MODELS.build(copy.deepcopy(grounder_cfg))
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        TokenizeGroundingPrompt(model=grounder_cfg)(_packed(make_sample('stvg')))
        assert not notes
        for seed in range(2):
            model.sequence_builder.pieces(make_sample('stvg', seed=seed), 4, True)
    finally:
        logger.removeHandler(handler)
    assert len(notes) == 1 and PROMPT_PIECES_KEY in notes[0]
