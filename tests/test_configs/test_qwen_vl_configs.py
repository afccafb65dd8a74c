"""The Qwen2.5-VL and Qwen3-VL configs train, test and parse at reduced width.

Each config is built through its own part types from a reduced-width
Qwen2.5-VL / Qwen3-VL checkpoint written by ``save_pretrained`` (the real
tower architecture, the real Qwen2 tokenizer) with the one override
``config_overrides.shrink_qwen_vl``; HC-STVG v1 16:9 videos at 25 fps.
"""
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config

import mmstvg.models.grounders.video_grounding_llm as grounder_module
from mmstvg.engine.runner_builder import build_runner
from tests.fixtures.hcstvg_videos import write_hcstvg_16x9
from tests.test_configs.config_overrides import (FULL_SIZE_FRAMES, FULL_SIZE_PIXELS,
                                                 QWEN3_VL_PIXELS, shrink_qwen_vl,
                                                 write_qwen2_5_vl_checkpoint,
                                                 write_qwen3_vl_checkpoint)

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_ROOT = osp.join(REPO_ROOT, 'configs')
ANSWER = 'The event happens from 0.4 to 1.2 seconds.'

#: backbone -> (its checkpoint directory in ``assets``, the config's path,
#: the LLM part, the reduced frame size)
BACKBONES = {
    'qwen2_5_vl': ('qwen', 'checkpoints/Qwen2.5-VL-7B-Instruct', 'QwenVLCausalLM',
                   FULL_SIZE_PIXELS),
    'qwen3_vl': ('qwen3', 'checkpoints/Qwen3-VL-8B-Instruct', 'Qwen3VLCausalLM',
                 QWEN3_VL_PIXELS),
}

#: the merged token grid of the reduced 96 x 54 HC-STVG frames after smart_resize
QWEN_GRIDS = dict(qwen2_5_vl=(1, 2), qwen3_vl=(1, 2))


@pytest.fixture(scope='module')
def assets(tmp_path_factory, qwen2_tokenizer_dir):
    root = tmp_path_factory.mktemp('qwen_vl')
    qwen = write_qwen2_5_vl_checkpoint(str(root / 'Qwen2.5-VL-7B-Instruct'),
                                       qwen2_tokenizer_dir)
    qwen3 = write_qwen3_vl_checkpoint(str(root / 'Qwen3-VL-8B-Instruct'),
                                      qwen2_tokenizer_dir)
    data = str(root / 'hcstvg_16x9') + '/'
    write_hcstvg_16x9(data, num_train=4, num_test=2, size=(96, 54), fps=25.0)
    return dict(qwen=qwen, qwen3=qwen3, data=data)


@pytest.mark.parametrize('backbone', ['qwen2_5_vl', 'qwen3_vl'])
def test_qwen_vl_text_box_baseline_builds(backbone, assets, tmp_path):
    # Its train / test run is the SpaceVLLM one's minus the heads, at 5x the
    # CPU time (boxes as text: ~250 answer tokens a sample); built here.
    checkpoint, _, llm_type, pixels = BACKBONES[backbone]
    cfg = Config.fromfile(osp.join(CONFIG_ROOT, f'baselines/text_boxes_{backbone}_hcstvg.py'))
    shrink_qwen_vl(cfg, assets[checkpoint], assets['data'], str(tmp_path / 'work'),
                   pixels=pixels)
    model = build_runner(cfg).model
    assert type(model).__name__ == 'TextBoxGroundingLLM'
    assert type(model.query_interleaver).__name__ == 'NoQueries'
    assert model.space_decoder is None
    assert type(model.llm).__name__ == llm_type
    assert type(model.projector).__name__ == 'IdentityProjector'
    # boxes in the base model's own grounding convention
    assert model.answer.answer.coordinates == dict(qwen2_5_vl='resized_pixels',
                                            qwen3_vl='grid_1000')[backbone]


@pytest.mark.parametrize('backbone', ['qwen2_5_vl', 'qwen3_vl'])
def test_qwen_vl_config_trains_tests_and_parses(backbone, assets, tmp_path, monkeypatch):
    checkpoint, path, llm_type, pixels = BACKBONES[backbone]
    cfg = Config.fromfile(osp.join(CONFIG_ROOT, f'spacevllm_{backbone}_hcstvg.py'))
    assert cfg.model.llm.pretrained_model_name_or_path == path
    assert cfg.model.llm.dtype == 'bf16' and cfg.model.llm.gradient_checkpointing
    shrink_qwen_vl(cfg, assets[checkpoint], assets['data'], str(tmp_path / 'work'),
                   max_iters=3, pixels=pixels)
    cfg.model.max_new_tokens = 8  # CPU time: a random model rarely stops early
    runner = build_runner(cfg)
    model = runner.model
    assert (type(model).__name__, type(model.query_interleaver).__name__,
            type(model.space_decoder).__name__) == (
                'VideoGroundingLLM', 'InterleavedQueries', 'ReferencePointSpaceDecoder')
    assert type(model.vision_encoder).__name__ == 'QwenVLVisionEncoder'
    # reference points on each video's own (here 1 x 2) grid, which the
    # grounder passes in the head inputs (checked below); 'auto' alone reads
    # only square grids
    assert model.space_decoder.frame_token_grid == 'auto'
    assert type(model.llm).__name__ == llm_type
    assert model.llm.hf_model.model.visual is None  # the tower lives in the vision part
    assert len(model.llm.tokenizer) == 151657  # Qwen2's and the vision tokens
    # the base model's own input: paired frames, its chat template and markers
    assert model.vision_encoder.frames_per_patch == 2
    decode = model.llm.tokenizer.decode
    pieces = model.prompt_builder.build('stvg', 'a man runs', 2.0, [0.25, 1.0])
    deepstack_rows = []
    if backbone == 'qwen2_5_vl':
        assert decode(pieces.head_ids).endswith('<|im_start|>user\n<|vision_start|>')
        assert decode(pieces.between_ids).startswith('<|vision_end|>')
        assert pieces.frame_prefix_ids == [[], []] and pieces.frame_suffix_ids == []
    if backbone == 'qwen3_vl':
        # Qwen3-VL's stamp before each temporal patch's vision markers
        assert [decode(ids) for ids in pieces.frame_prefix_ids] == [
            '<0.2 seconds><|vision_start|>', '<1.0 seconds><|vision_start|>']
        assert [decode(ids) for ids in pieces.frame_suffix_ids] == ['<|vision_end|>'] * 2
        assert decode(pieces.head_ids) == '<|im_start|>user\n'
        # DeepStack: every LLM pass over a prompt gets the tower's 2 levels at
        # the visual tokens (2 samples x 4 temporal patches x 1 x 2 tokens)
        assert model.vision_encoder.num_deepstack_layers == model.llm.num_deepstack_layers == 2
        forward = model.llm.forward

        def recording_forward(*args, **kwargs):
            if kwargs.get('visual_pos_masks') is not None:
                assert len(kwargs['deepstack_visual_embeds']) == 2
                deepstack_rows.append(int(kwargs['visual_pos_masks'].sum()))
            return forward(*args, **kwargs)

        monkeypatch.setattr(model.llm, 'forward', recording_forward)
    grids = []  # the token grid of each video that reaches the space decoder
    decoder_forward = model.space_decoder.forward

    def recording_decoder(head_inputs, **kwargs):
        grids.append(head_inputs.frame_grids)
        return decoder_forward(head_inputs, **kwargs)

    monkeypatch.setattr(model.space_decoder, 'forward', recording_decoder)
    before = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    runner.train()
    assert grids == [[QWEN_GRIDS[backbone]] * 2] * 3
    if backbone == 'qwen3_vl':
        assert deepstack_rows == [2 * FULL_SIZE_FRAMES // 2 * 2] * 3
    hub = runner.message_hub
    losses = {k: hub.get_scalar(k).data[0] for k in hub.log_scalars
              if k.startswith('train/loss')}
    assert 'train/loss_lm' in losses
    if model.space_decoder is not None:
        assert {'train/loss_bbox', 'train/loss_iou'} <= set(losses)
    for key, history in losses.items():
        assert len(history) == 3 and all(math.isfinite(v) for v in history), key
    moved = {n.split('.')[0] for n, p in model.named_parameters()
             if n in before and not torch.equal(before[n], p.detach())}
    assert 'llm' in moved

    metrics = runner.test()  # real greedy generation with M-RoPE positions
    assert metrics['stvg/num_samples'] == 2
    assert all(math.isfinite(metrics[k]) for k in ('stvg/m_tIoU', 'stvg/m_vIoU'))

    # Once more with the answer fixed: the real tokenizer's multi-token times
    # are decoded, parsed and mapped to frames at 25 fps.
    answer_ids = model.llm.tokenizer(ANSWER, add_special_tokens=False).input_ids
    monkeypatch.setattr(grounder_module, 'greedy_generate',
                        lambda llm, hidden, cache, mask, active, *args, **kw: [
                            list(answer_ids) if a else [] for a in active])
    seen = []
    predict = model.predict

    def recording_predict(inputs, data_samples):
        out = predict(inputs, data_samples)
        seen.extend(out)
        return out

    model.predict = recording_predict
    runner.test()
    assert len(seen) == 2
    for sample in seen:
        assert sample.pred_span_seconds.tolist() == pytest.approx([0.4, 1.2])
        assert sample.pred_span_frames.tolist() == [10, 30]
        assert sample.num_sampled_frames == FULL_SIZE_FRAMES
        if model.space_decoder is not None:
            assert sample.pred_parse_ok
            assert sample.pred_boxes.shape == (FULL_SIZE_FRAMES, 4)


@pytest.mark.parametrize('backbone', ['qwen2_5_vl', 'qwen3_vl'])
def test_the_per_frame_layout_is_a_named_option(backbone, assets, tmp_path):
    # temporal_patching='frame': one token grid, one query and one time stamp a
    # frame (the layout before the base model's own became the default)
    checkpoint, _, _, pixels = BACKBONES[backbone]
    cfg = Config.fromfile(osp.join(CONFIG_ROOT, f'spacevllm_{backbone}_hcstvg.py'))
    shrink_qwen_vl(cfg, assets[checkpoint], assets['data'], str(tmp_path / 'work'),
                   pixels=pixels)
    cfg.model.vision_encoder.temporal_patching = 'frame'
    cfg.model.prompt = dict(template='qwen_1_5', time_style='frame_prefix')
    runner = build_runner(cfg)
    model = runner.model
    assert model.vision_encoder.frames_per_patch == 1
    data = model.data_preprocessor(next(iter(runner.test_dataloader)), training=False)
    with torch.no_grad():
        out = model(**data, mode='tensor')
    for layout in out['layouts']:
        assert layout.frame_patch is None
        assert layout.frame_token_pos.shape[0] == layout.num_frames == FULL_SIZE_FRAMES
        assert layout.query_pos.numel() == FULL_SIZE_FRAMES
    assert out['pred_boxes'].shape[:2] == (len(out['layouts']), FULL_SIZE_FRAMES)
