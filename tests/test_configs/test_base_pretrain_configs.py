"""The stage-1 base configs (LLaVA's two stages) train through MMEngine's Runner at tiny
size, one after the other, and the result exports to the llava_qwen layout that the
grounding configs load.

Test overrides only: the sizes (top-level variables of the configs' base), the data
root (a tiny synthetic set with its LLaVA-Video conversation files), the initial
parts' directory, and a 2-3 iteration schedule.
"""
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmstvg.datasets.synthetic import generate_synthetic_stvg
from mmstvg.engine.runner_builder import build_runner
from mmstvg.registry import MODELS
from tests.test_configs.config_overrides import point_data_root
from tools.analysis_tools.base_zero_shot import zero_shot
from tools.misc.create_base_init import create_base_init
from tools.model_converters.export_llava_qwen import export

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO_ROOT, 'configs', 'base_pretrain')
TINY = dict(num_frames=4, image_size=32, vision_width=32, llm_width=64)


@pytest.fixture(scope='module')
def assets(tmp_path_factory):
    root = tmp_path_factory.mktemp('base_pretrain')
    data_root = str(root / 'synthetic')
    generate_synthetic_stvg(data_root, num_train=4, num_val=2, num_test=0, size=32,
                            frame_range=(8, 10), write_tvg=False, write_rec=False)
    cfg = Config.fromfile(osp.join(CONFIGS, 'llava_video_tiny_stage1_align.py'))
    vision = dict(cfg.base_vision_config, hidden_size=TINY['vision_width'],
                  intermediate_size=2 * TINY['vision_width'], image_size=TINY['image_size'])
    llm = dict(cfg.base_llm_config, hidden_size=TINY['llm_width'],
               intermediate_size=2 * TINY['llm_width'], max_position_embeddings=1024)
    init = str(root / 'init') + '/'
    create_base_init(init, vision, llm, tokenizer_ranks=cfg.base_tokenizer_ranks)
    return dict(data_root=data_root + '/', init=init)


def make_tiny(name: str, assets: dict, work_dir: str, max_iters: int) -> Config:
    cfg = Config.fromfile(osp.join(CONFIGS, name))
    for part in ('vision', 'llm', 'tokenizer'):
        key = 'tokenizer' if part == 'tokenizer' else 'pretrained_model_name_or_path'
        owner = cfg.model.vision_encoder if part == 'vision' else cfg.model.llm
        assert owner[key] == cfg.base_init + part
        owner[key] = assets['init'] + part
    point_data_root(cfg, assets['data_root'])
    for step in cfg.train_dataloader.dataset.pipeline:
        if step['type'] == 'UniformSampleFrames':
            step['num_frames'] = TINY['num_frames']
        if step['type'] == 'GroundingResize':
            step['scale'] = (TINY['image_size'], TINY['image_size'])
    cfg.train_dataloader.update(batch_size=2, num_workers=0, persistent_workers=False)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
    cfg.param_scheduler = None
    cfg.default_hooks.checkpoint.interval = max_iters
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.work_dir = work_dir
    cfg.visualizer.name = f'visualizer_{osp.basename(work_dir)}'
    cfg.log_level = 'WARNING'
    cfg.randomness = dict(seed=0)
    return cfg


def trainable_parts(model):
    return {name.split('.')[0] for name, p in model.named_parameters() if p.requires_grad}


def snapshot(model):
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def changed_parts(model, before):
    return {n.split('.')[0] for n, p in model.named_parameters()
            if not torch.equal(before[n], p.detach())}


def test_two_stages_train_and_export(assets, tmp_path, qwen2_tokenizer_dir):
    # Stage 1: the tower frozen; the projector and the (random) LLM on the captions.
    cfg1 = make_tiny('llava_video_tiny_stage1_align.py', assets, str(tmp_path / 's1'), 2)
    runner = build_runner(cfg1)
    model = runner.model
    assert trainable_parts(model) == {'projector', 'llm', 'feature_pooler'}
    dataset = runner.train_dataloader.dataset
    assert {dataset[i]['data_samples'].metainfo['task'] for i in range(len(dataset))} == {
        'caption'}
    assert model.prompt_builder.template == 'qwen_1_5'
    # Qwen2's BPE cut to its first base_tokenizer_ranks ranks + 3 ChatML tokens.
    assert len(model.llm.tokenizer) == cfg1.base_tokenizer_ranks + 3
    assert model.llm.tokenizer.eos_token == '<|im_end|>'
    before = snapshot(model)
    runner.train()
    losses = runner.message_hub.get_scalar('train/loss_lm').data[0]
    assert len(losses) == 2 and all(math.isfinite(v) and v > 0 for v in losses)
    assert changed_parts(model, before) == {'projector', 'llm', 'feature_pooler'}
    stage1 = str(tmp_path / 's1' / 'iter_2.pth')
    assert osp.isfile(stage1)

    # Stage 2: from stage 1, every part (the tower too) on captions and QA.
    cfg2 = make_tiny('llava_video_tiny_stage2_sft.py', assets, str(tmp_path / 's2'), 3)
    assert cfg2.load_from == (f'work_dirs/llava_video_tiny_stage1_align/'
                              f'iter_{cfg1.max_iters}.pth')
    cfg2.load_from = stage1
    runner = build_runner(cfg2)
    model = runner.model
    dataset = runner.train_dataloader.dataset
    assert {dataset[i]['data_samples'].metainfo['task'] for i in range(len(dataset))} == {
        'caption', 'open_qa'}
    assert trainable_parts(model) == {'vision_encoder', 'projector', 'llm', 'feature_pooler'}
    runner.train()
    trained_projector = torch.load(stage1, map_location='cpu', weights_only=False)[
        'state_dict']['projector.linear_1.weight']
    assert not torch.equal(model.projector.linear_1.weight.detach(), trained_projector)
    losses = runner.message_hub.get_scalar('train/loss_lm').data[0]
    assert len(losses) == 3 and all(math.isfinite(v) and v > 0 for v in losses)

    # Export and load back through the full-size path.
    out = export(cfg2, str(tmp_path / 's2' / 'iter_3.pth'), str(tmp_path / 'base'))
    loaded = MODELS.build(dict(
        type='VideoGroundingLLM', llava_onevision_path=out,
        vision_encoder=dict(type='HFVisionEncoder', pretrained_model_name_or_path='unused'),
        projector=dict(type='MLPProjector'),
        llm=dict(type='HFCausalLM', pretrained_model_name_or_path='unused'),
        query_interleaver=dict(type='NoQueries'), answer=dict(type='FreeTextAnswer')))
    theirs = model.state_dict()
    for name, tensor in loaded.state_dict().items():
        assert torch.equal(tensor, theirs[name].to(tensor.device)), name

    # What the exported base says before any grounding training, through the
    # zero-shot tool (two questions a video, every answer scored).
    for step in cfg2.test_pipeline:
        if step['type'] == 'UniformSampleFrames':
            step['num_frames'] = TINY['num_frames']
        if step['type'] == 'GroundingResize':
            step['scale'] = (TINY['image_size'], TINY['image_size'])
    figures, records = zero_shot(cfg2, out, 'val', num_videos=2, batch_size=2)
    assert [r['id'].rsplit('_', 1)[1] for r in records] == ['cap', 'when'] * 2
    assert all(isinstance(r['answer'], str) for r in records)
    assert figures['num_videos'] == 2 and 0 <= figures['num_no_span'] <= 2
    assert 0 <= figures['m_tIoU'] <= 100 and 0 <= figures['caption_sentence_recall'] <= 100

    # The grounding recipe at tiny width (configs/spacevllm_toy.py, make toy's) on
    # that base: trained, tested, and its answers parse.
    tiny = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'spacevllm_toy.py'))
    assert tiny.model.llava_onevision_path == tiny.llava_onevision_path
    tiny.model.llava_onevision_path = out
    tiny.model.query_interleaver.max_frames = TINY['num_frames']
    point_data_root(tiny, assets['data_root'])
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        tiny[key].update(batch_size=2, num_workers=0, persistent_workers=False)
        for step in tiny[key].dataset.pipeline:
            if step['type'] == 'UniformSampleFrames':
                step['num_frames'] = TINY['num_frames']
            if step['type'] == 'GroundingResize':
                step['scale'] = (TINY['image_size'], TINY['image_size'])
    tiny.test_dataloader.dataset.ann_file = 'annotations/hcstvg_v1_val.json'
    tiny.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2, val_interval=2)
    tiny.param_scheduler = None
    tiny.default_hooks.checkpoint.interval = 2
    tiny.default_hooks.logger = dict(type='LoggerHook', interval=1)
    tiny.work_dir = str(tmp_path / 'tiny')
    tiny.visualizer.name = 'visualizer_tiny_recipe'
    tiny.log_level = 'WARNING'
    runner = build_runner(tiny)
    grounder = runner.model
    assert type(grounder).__name__ == 'VideoGroundingLLM'
    assert type(grounder.space_decoder).__name__ == 'ReferencePointSpaceDecoder'
    assert grounder.space_decoder.frame_token_grid == 'auto'  # grid read from P
    for name, tensor in loaded.state_dict().items():  # the base, as exported
        if not name.startswith('query_interleaver.'):
            assert torch.equal(grounder.state_dict()[name], tensor), name
    runner.train()
    metrics = runner.test()
    # Two iterations teach no answer format: every reply went through the parser
    # and was scored (a reply that did not parse scores 0 and is counted).
    assert 0 <= metrics['stvg/num_failed_parse'] <= metrics['stvg/num_samples'] == 2
    assert math.isfinite(metrics['stvg/m_vIoU'])
    losses = runner.message_hub.get_scalar('train/loss_bbox').data[0]
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses)
