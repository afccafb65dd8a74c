"""Every config under ``configs/`` (outside ``_base_``) loads and builds.

Each config's model is built with tiny sizes (see ``config_overrides``: only
sizes and paths change, the structure is the config's), its train dataset
with ``lazy_init=True`` (real data are not here) and its evaluators. A config
added later is picked up by the walk; the part types of the known ones are
asserted from the table below.
"""
import copy
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from mmstvg.engine.runner_builder import resolve_strategy
from mmstvg.models.llm_backbones.toy_tokenizer import build_toy_tokenizer
from mmstvg.registry import DATASETS, METRICS, MODELS
from mmstvg.structures import GroundingDataSample
from tests.test_configs.config_overrides import (is_toy, lazy_datasets,
                                                 shrink_full_size, shrink_model,
                                                 shrink_pipelines, walk,
                                                 write_full_size_checkpoint)
from tools.misc.create_toy_pretrained import create_toy_pretrained

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_ROOT = osp.join(REPO_ROOT, 'configs')
CONFIGS = sorted(
    osp.relpath(path, CONFIG_ROOT)
    for path in glob.glob(osp.join(CONFIG_ROOT, '**', '*.py'), recursive=True)
    if not {'_base_', 'data_construction', 'base_pretrain'}
    & set(osp.relpath(path, CONFIG_ROOT).split(osp.sep)))
# (configs/data_construction/ holds build_stvg.py's configs, not model configs;
# configs/base_pretrain/ trains the base video LLM, no grounder: built, trained
# and exported in test_base_pretrain_configs.py.)
#: Configs on a Qwen-VL base (their own parts; built, trained and tested in
#: test_qwen_vl_configs.py from a Qwen2.5-VL / Qwen3-VL checkpoint).
QWEN_VL_CONFIGS = [name for name in CONFIGS if 'qwen2_5_vl' in name or 'qwen3_vl' in name]
LLAVA_CONFIGS = [name for name in CONFIGS if name not in QWEN_VL_CONFIGS]

# The recipe: the QGSD with reference points on the token grid and the answer's
# span from per-frame scores (both ours); the paper's model without them in the
# *_paper_* configs.
SPACEVLLM = dict(grounder='VideoGroundingLLM', interleaver='InterleavedQueries',
                 decoder='ReferencePointSpaceDecoder', attention='learnable',
                 heads=['QuerySpanScoreHead'], logits_processors=['FrameScoreSpanWriter'])
PAPER_DECODER = dict(SPACEVLLM, decoder='QueryGuidedSpaceDecoder', heads=[],
                     logits_processors=[])
APPENDED = dict(SPACEVLLM, interleaver='AppendedQueries')
MLP_HEAD = dict(SPACEVLLM, decoder='MLPBoxHead', attention=None)
PARAM_FREE = dict(SPACEVLLM, attention='parameter_free')
TEXT_BOXES = dict(grounder='TextBoxGroundingLLM', interleaver='NoQueries', decoder=None,
                  attention=None)
# The model from scratch composes the scratch additions (its heads and logits processors).
SCRATCH_ADDITIONS = dict(heads=['QuerySpanScoreHead'], logits_processors=['TimeStampPointer'])
SCRATCH = dict(SCRATCH_ADDITIONS, decoder='ReferencePointSpaceDecoder')
HCSTVG = dict(dataset='HCSTVGDataset', metric='STVGMetric')

#: config -> the part types it must build (and its train dataset / metric).
EXPECTED = {
    'spacevllm_toy.py': dict(SPACEVLLM, **HCSTVG),
    'spacevllm_paper_toy.py': dict(PAPER_DECODER, **HCSTVG),
    'spacevllm_hcstvg.py': dict(SPACEVLLM, **HCSTVG),
    'spacevllm_paper_hcstvg.py': dict(PAPER_DECODER, **HCSTVG),
    'scratch/spacevllm_scratch.py': dict(SPACEVLLM, **SCRATCH, **HCSTVG),
    'scratch/appended_queries_scratch.py': dict(APPENDED, **SCRATCH, **HCSTVG),
    'scratch/mlp_box_head_scratch.py': dict(MLP_HEAD, **HCSTVG, **SCRATCH_ADDITIONS),
    'scratch/qgsd_parameter_free_scratch.py': dict(PARAM_FREE, **SCRATCH, **HCSTVG),
    'scratch/text_boxes_scratch.py': dict(TEXT_BOXES, **HCSTVG),
    'spacevllm_hcstvg_v2.py': dict(SPACEVLLM, dataset='HCSTVGv2Dataset',
                                   metric='STVGMetric'),
    'spacevllm_vidstg.py': dict(SPACEVLLM, dataset='VidSTGDataset', metric='STVGMetric'),
    'spacevllm_unistg.py': dict(SPACEVLLM, dataset='UniSTGDataset', metric='STVGMetric'),
    'baselines/appended_queries_toy.py': dict(APPENDED, **HCSTVG),
    'baselines/appended_queries_hcstvg.py': dict(APPENDED, **HCSTVG),
    'baselines/mlp_box_head_toy.py': dict(MLP_HEAD, **HCSTVG),
    'baselines/mlp_box_head_hcstvg.py': dict(MLP_HEAD, **HCSTVG),
    'baselines/qgsd_parameter_free_toy.py': dict(PARAM_FREE, **HCSTVG),
    'baselines/qgsd_parameter_free_hcstvg.py': dict(PARAM_FREE, **HCSTVG),
    'baselines/text_boxes_toy.py': dict(TEXT_BOXES, **HCSTVG),
    'baselines/text_boxes_hcstvg.py': dict(TEXT_BOXES, **HCSTVG),
}

#: Full-size per-part learning rates (configs/_base_/schedules/llm_adamw_cosine_2e.py).
FULL_SIZE_LR = {'llm.': 2e-5, 'projector.': 1e-4, 'query_interleaver.': 1e-4,
                'space_decoder.': 1e-4, 'frame_score_head.': 1e-4}


@pytest.fixture(scope='module')
def tiny_dirs(tmp_path_factory):
    """Toy pretrained parts (for the toy configs) and a chat toy tokenizer."""
    root = tmp_path_factory.mktemp('tiny_pretrained')
    create_toy_pretrained(str(root / 'toy'), image_size=32, patch_size=8,
                          vision_hidden=32, llm_hidden=64, llm_layers=1,
                          max_positions=1024)
    tokenizer = build_toy_tokenizer(chat_template=True)
    tokenizer.save_pretrained(str(root / 'chat_tokenizer'))
    return dict(toy=str(root / 'toy'), tokenizer=str(root / 'chat_tokenizer'),
                vocab_size=len(tokenizer))


def load(name, tiny_dirs):
    """(original config, tiny model config) of ``configs/<name>``."""
    cfg = Config.fromfile(osp.join(CONFIG_ROOT, name))
    model = shrink_model(cfg.model, tiny_dirs['toy'], tiny_dirs['tokenizer'],
                         tiny_dirs['vocab_size'])
    return cfg, model


def type_name(module):
    return None if module is None else type(module).__name__


def test_the_walk_finds_every_config():
    # The table covers every config shipped today; a new one is built below
    # anyway (only its type expectations would be missing).
    assert set(EXPECTED) <= set(CONFIGS)
    assert not any('_base_' in name for name in CONFIGS)


@pytest.mark.parametrize('name', LLAVA_CONFIGS)
def test_build_config(name, tiny_dirs):
    cfg, model_cfg = load(name, tiny_dirs)
    init_default_scope(cfg.get('default_scope', 'mmstvg'))
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)

    # Whatever the config: the built parts are the ones it names.
    assert type_name(model) == cfg.model.type
    for part in ('vision_encoder', 'projector', 'llm', 'query_interleaver',
                 'space_decoder'):
        part_cfg = cfg.model.get(part, None)
        assert type_name(getattr(model, part)) == (part_cfg or {}).get('type'), part
    assert type_name(model.vision_encoder) == 'HFVisionEncoder'
    assert type_name(model.projector) == 'MLPProjector'
    assert type_name(model.llm) == 'HFCausalLM'
    assert type_name(model.data_preprocessor) == 'GroundingDataPreprocessor'
    # The projector maps the tower's width to the LLM's (filled by the grounder).
    assert model.projector.linear_1.in_features == model.vision_encoder.out_channels
    assert model.projector.linear_2.out_features == model.llm.hidden_size == 64

    expected = EXPECTED.get(name)
    if expected is not None:
        assert type_name(model) == expected['grounder']
        assert type_name(model.query_interleaver) == expected['interleaver']
        assert type_name(model.space_decoder) == expected['decoder']
        assert getattr(model.space_decoder, 'attention', None) == expected['attention']
        assert [type_name(getattr(model, n)) for n in model.head_names] == \
            expected.get('heads', [])
        assert [type_name(getattr(model, n)) for n in model.processor_names] == \
            expected.get('logits_processors', [])

    # Train dataset object (lazy: the real annotation files are not here).
    shrink_pipelines(cfg, num_frames=4)
    dataset_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    lazy_datasets(dataset_cfg)
    dataset = DATASETS.build(dataset_cfg)
    sampler = dataset.datasets[0].pipeline.transforms[1] if hasattr(
        dataset, 'datasets') else dataset.pipeline.transforms[1]
    assert type(sampler).__name__ == 'UniformSampleFrames'
    assert sampler.num_frames == 4
    evaluators = [cfg.val_evaluator, cfg.test_evaluator]
    metrics = [METRICS.build(e) for ev in evaluators
               for e in (ev if isinstance(ev, list) else [ev])]
    if expected is not None:
        assert type(dataset).__name__ == expected['dataset']
        assert {type(m).__name__ for m in metrics} == {expected['metric']}


# (The *_toy.py configs are the recipe at reduced width on the small base made
# here: the toy's keys are pinned in test_toy_recipe.py, its build and training
# run in test_base_pretrain_configs.py; configs/scratch/ starts from random parts.)
FULL_SIZE = [name for name in LLAVA_CONFIGS
             if 'toy' not in osp.basename(name) and not name.startswith('scratch/')]
FULL_SIZE_LR['feature_pooler.'] = 1e-4  # image_newline: the base lr, as the projector


@pytest.fixture(scope='module')
def llava_video_dir(tmp_path_factory, qwen2_tokenizer_dir):
    """A reduced-width LLaVA-Video-7B-Qwen2 in lmms-lab's layout + the real tokenizer."""
    return write_full_size_checkpoint(str(tmp_path_factory.mktemp('llava_video')),
                                      qwen2_tokenizer_dir)


@pytest.mark.parametrize('name', FULL_SIZE)
def test_full_size_structure(name, llava_video_dir):
    """Each full-size config builds from a LLaVA-Video checkpoint in its real
    file format (through the config's own ``llava_onevision_path``): the tower,
    LLM, tokenizer and pooling come from the checkpoint; the 7B recipe's
    choices stay: bf16 LLM with sdpa and gradient checkpointing, frozen bf16
    tower, project-then-pool, 64 frames at 384 px, per-part learning rates."""
    cfg = Config.fromfile(osp.join(CONFIG_ROOT, name))
    assert not is_toy(cfg)
    assert cfg.pretrained_root == 'checkpoints/'
    assert cfg.model.llava_onevision_path == 'checkpoints/LLaVA-Video-7B-Qwen2'
    assert cfg.model.feature_pooler.type == 'LlavaFeaturePooler'
    samplers, resizes = [], []

    def visit(node):
        if node.get('type') == 'UniformSampleFrames':
            samplers.append(node['num_frames'])
        if node.get('type') == 'GroundingResize':
            resizes.append(tuple(node['scale']))

    walk(cfg.train_dataloader, visit)
    walk(cfg.test_dataloader, visit)
    assert set(samplers) - {1} == {64}  # REC images in the mixture: 1 frame
    assert set(resizes) == {(384, 384)}

    shrink_full_size(cfg, llava_video_dir)
    init_default_scope('mmstvg')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    hf_llm = model.llm.hf_model
    assert len(model.llm.tokenizer) == 151646  # the real Qwen2 vocabulary
    assert model.llm.dtype == torch.bfloat16
    assert hf_llm.config._attn_implementation == 'sdpa'
    checkpointing = getattr(hf_llm, 'is_activation_checkpointing', None)  # transformers>=5
    if checkpointing is None:
        checkpointing = hf_llm.is_gradient_checkpointing
    assert checkpointing
    encoder = model.vision_encoder
    # LLaVA-NeXT's tower: so400m minus its last layer (here 3 -> 2), read at the last.
    assert len(dict(encoder.model.named_modules())['encoder.layers']) == 2
    assert (encoder.select_layer, encoder.pool_size) == (-1, 1)
    pooler = model.feature_pooler
    assert (pooler.mode, pooler.stride, pooler.newline) == ('bilinear', 2, 'grid')
    assert encoder.frozen and not any(p.requires_grad for p in encoder.parameters())
    assert next(encoder.parameters()).dtype == torch.bfloat16
    if type_name(model.query_interleaver) not in (None, 'NoQueries'):
        assert model.query_interleaver.max_frames == 64

    # Per-part learning rates: every trainable parameter gets its part's rate.
    wrapper = build_optim_wrapper(model, resolve_strategy(copy.deepcopy(cfg)).optim_wrapper)
    lr_of = {id(p): group['lr'] for group in wrapper.optimizer.param_groups
             for p in group['params']}
    seen = set()
    for pname, param in model.named_parameters():
        if not param.requires_grad:
            continue
        part = next(key for key in FULL_SIZE_LR if pname.startswith(key))
        assert lr_of[id(param)] == pytest.approx(FULL_SIZE_LR[part]), pname
        seen.add(part)
    expected_parts = {'llm.', 'projector.', 'feature_pooler.'}
    if model.space_decoder is not None:
        expected_parts |= {'query_interleaver.', 'space_decoder.'}
    if model.head_names:
        expected_parts |= {'frame_score_head.'}
    assert seen == expected_parts


def _hand_sample(seed):
    """A 4-frame STVG sample of a 20-frame, 5 fps, 40x60 video; span [5, 15)."""
    frame_inds = np.array([0, 6, 13, 19])
    sample = GroundingDataSample()
    sample.set_metainfo(dict(
        task='stvg', sentence='the red circle moves left', video_id=f'v{seed}',
        video_path='', num_frames=20, fps=5.0, duration=4.0, ori_shape=(40, 60),
        img_shape=(32, 32), frame_inds=frame_inds, frame_times=frame_inds / 5.0))
    sample.gt_span_frames = torch.tensor([5, 15])
    sample.gt_span_seconds = torch.tensor([1.0, 3.0])
    sample.gt_boxes = torch.tensor([[0, 0, 0, 0], [10, 5, 30, 25], [20, 10, 40, 30],
                                    [0, 0, 0, 0]], dtype=torch.float32)
    sample.gt_box_mask = torch.tensor([False, True, True, False])
    return sample


def test_full_size_spacevllm_trains_a_step_in_bf16(tiny_dirs):
    """The tiny twin of configs/spacevllm_hcstvg.py (bf16 tower and LLM,
    gradient checkpointing, fp32 projector / queries / QGSD / frame score head) runs a loss and a
    backward pass: every trainable part gets a gradient, the frozen tower none."""
    cfg, model_cfg = load('spacevllm_hcstvg.py', tiny_dirs)
    init_default_scope('mmstvg')
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.train()
    gen = torch.Generator().manual_seed(0)
    samples = [_hand_sample(0), _hand_sample(1)]
    batch = dict(inputs=[torch.randint(0, 256, (4, 3, 32, 32), generator=gen,
                                       dtype=torch.uint8) for _ in samples],
                 data_samples=samples)
    losses = model(**model.data_preprocessor(batch, True), mode='loss')
    assert set(losses) == {'loss_lm', 'loss_bbox', 'loss_iou', 'loss_span_score'}
    assert all(torch.isfinite(v) and v > 0 for v in losses.values())
    sum(losses.values()).backward()
    for part in ('projector', 'query_interleaver', 'space_decoder', 'llm', 'frame_score_head'):
        grads = [p.grad for p in getattr(model, part).parameters() if p.requires_grad]
        assert grads and any(g is not None and g.abs().sum() > 0 for g in grads), part
    assert all(p.grad is None for p in model.vision_encoder.parameters())


@pytest.mark.parametrize('preset,wrapper,strategy',
                         [('deepspeed_zero2', 'DeepSpeedOptimWrapper', 'DeepSpeedStrategy'),
                          ('deepspeed_zero3', 'DeepSpeedOptimWrapper', 'DeepSpeedStrategy'),
                          ('fsdp', 'FSDPOptimWrapper', 'mmstvg.LayerWrappedFSDPStrategy')])
def test_full_size_config_takes_every_strategy(preset, wrapper, strategy):
    """`tools/train.py --strategy PRESET` on the 7B config: the per-part
    learning rates survive and DeepSpeed gets a micro batch of 1."""
    cfg = Config.fromfile(osp.join(CONFIG_ROOT, 'spacevllm_hcstvg.py'))
    cfg.strategy_preset = preset
    cfg = resolve_strategy(cfg)
    assert cfg.strategy.type == strategy
    assert cfg.optim_wrapper.type == wrapper
    assert cfg.optim_wrapper.paramwise_cfg.custom_keys['llm.'].lr_mult == 0.2
    if strategy == 'DeepSpeedStrategy':
        assert 'clip_grad' not in cfg.optim_wrapper
        assert cfg.strategy.train_micro_batch_size_per_gpu == 1
        assert cfg.strategy.zero_optimization.stage == int(preset[-1])
