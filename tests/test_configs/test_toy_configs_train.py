"""The toy configs of SpaceVLLM and of each baseline train and predict on CPU.

Each config is pointed (test overrides only) at a tiny synthetic set and tiny
pretrained parts written into tmp_path, trained 3 iterations through
MMEngine's Runner (``build_runner``, as ``tools/train.py`` does), then tested
on the val split. A user's head from a throwaway module, named in a config
through ``custom_imports`` alone, trains one iteration the same way.
"""
import math
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config

from mmstvg.datasets.synthetic import generate_synthetic_stvg
from mmstvg.engine.runner_builder import build_runner
from mmstvg.registry import MODELS, SPACE_DECODERS
from tests.test_configs.config_overrides import (point_data_root, shrink_model,
                                                 shrink_pipelines)
from tools.misc.create_toy_pretrained import create_toy_pretrained

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_ROOT = osp.join(REPO_ROOT, 'configs')
NUM_TRAIN, NUM_VAL, NUM_TEST = 6, 4, 3

#: toy config -> (interleaver, space decoder) it trains.
TOY_CONFIGS = {
    'scratch/spacevllm_scratch.py': ('InterleavedQueries', 'ReferencePointSpaceDecoder'),
    'scratch/appended_queries_scratch.py': ('AppendedQueries', 'ReferencePointSpaceDecoder'),
    'scratch/mlp_box_head_scratch.py': ('InterleavedQueries', 'MLPBoxHead'),
    'scratch/qgsd_parameter_free_scratch.py': ('InterleavedQueries',
                                             'ReferencePointSpaceDecoder'),
    'scratch/text_boxes_scratch.py': ('NoQueries', None),
}
STVG_KEYS = ('stvg/m_tIoU', 'stvg/m_vIoU', 'stvg/vIoU@0.3', 'stvg/vIoU@0.5',
             'stvg/num_samples')

USER_HEAD = '''
"""A user's space decoder: a linear layer on [query state, mean frame state]."""
import torch
from torch import nn

from mmstvg.models.space_decoders.base import BaseSpaceDecoder
from mmstvg.registry import SPACE_DECODERS


@SPACE_DECODERS.register_module()
class {class_name}(BaseSpaceDecoder):

    def __init__(self, hidden_dim, **kwargs):
        super().__init__(hidden_dim, **kwargs)
        self.fc = nn.Linear(2 * hidden_dim, 4)

    def forward(self, head_inputs, return_states=False):
        features = torch.cat([head_inputs.query, head_inputs.frames.mean(dim=2)], dim=-1)
        boxes = self.fc(features.to(self.fc.weight.dtype)).sigmoid()
        return (boxes, head_inputs.query) if return_states else boxes
'''


@pytest.fixture(scope='module')
def toy_assets(tmp_path_factory):
    """The tiny synthetic set and toy pretrained parts, shared by the tests."""
    root = tmp_path_factory.mktemp('toy_assets')
    data_root = str(root / 'synthetic')
    generate_synthetic_stvg(data_root, num_train=NUM_TRAIN, num_val=NUM_VAL,
                            num_test=NUM_TEST, size=32, frame_range=(8, 10),
                            write_tvg=False, write_rec=False)
    toy_dir = str(root / 'toy')
    info = create_toy_pretrained(toy_dir, image_size=32, patch_size=8, vision_hidden=32,
                                 llm_hidden=64, llm_layers=2, llm_heads=4,
                                 llm_kv_heads=2, max_positions=1024)
    return dict(data_root=data_root + '/', toy_dir=toy_dir,
                vocab_size=info['vocab_size'])


def make_tiny(cfg: Config, assets: dict, work_dir: str, max_iters: int) -> Config:
    """Point a toy config at the tmp assets and shrink its run (test overrides)."""
    # 32 px frames, 8 px patches, 2x2 pooling: a 2x2 token grid.
    cfg.model = shrink_model(cfg.model, assets['toy_dir'],
                             assets['toy_dir'] + '/tokenizer', assets['vocab_size'],
                             frame_token_grid=(2, 2))
    point_data_root(cfg, assets['data_root'])
    shrink_pipelines(cfg, num_frames=4, size=32)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].update(batch_size=2, num_workers=0, persistent_workers=False)
    # No validation inside train() (an iteration loop validates after its
    # last iteration); the tests run runner.test() on the test split instead.
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.param_scheduler = None  # the constant base lr for 3 iterations
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.work_dir = work_dir
    # One visualizer instance per runner (MMEngine keeps them by name).
    cfg.visualizer.name = f'visualizer_{osp.basename(osp.dirname(work_dir))}'
    cfg.log_level = 'WARNING'
    cfg.randomness = dict(seed=0)
    return cfg


def trainable_snapshot(model):
    return {name: param.detach().clone() for name, param in model.named_parameters()
            if param.requires_grad}


def changed_parts(model, before):
    """Names of the parts (first attribute) with at least one changed parameter."""
    parts = set()
    for name, param in model.named_parameters():
        if name in before and not torch.equal(before[name], param.detach()):
            parts.add(name.split('.')[0])
    return parts


def logged_losses(runner):
    hub = runner.message_hub
    return {key[len('train/'):]: hub.get_scalar(key).data[0]
            for key in hub.log_scalars if key.startswith('train/loss')}


@pytest.mark.parametrize('name', sorted(TOY_CONFIGS))
def test_toy_config_trains_and_predicts(name, toy_assets, tmp_path):
    cfg = make_tiny(Config.fromfile(osp.join(CONFIG_ROOT, name)), toy_assets,
                    str(tmp_path / 'work'), max_iters=3)
    if cfg.model.type == 'TextBoxGroundingLLM':
        cfg.model.max_new_tokens = 40  # the untrained model rarely stops early
    runner = build_runner(cfg)
    model = runner.model
    interleaver, decoder = TOY_CONFIGS[name]
    assert type(model.query_interleaver).__name__ == (interleaver or 'NoneType')
    assert type(model.space_decoder).__name__ == (decoder or 'NoneType')
    before = trainable_snapshot(model)
    runner.train()

    losses = logged_losses(runner)
    # The toy configs with queries also train the per-frame span scores (the
    # time pointer adds no loss of its own: it is part of loss_lm).
    expected = {'loss', 'loss_lm'} | ({'loss_bbox', 'loss_iou', 'loss_span_score'}
                                      if decoder else set())
    assert set(losses) == expected
    for key, history in losses.items():
        assert len(history) == 3, key
        assert all(math.isfinite(v) and v > 0 for v in history), (key, history)
    # Every trainable part learned something (the toy tower is not frozen).
    parts = {'vision_encoder', 'projector', 'llm'}
    if decoder:
        parts |= {'query_interleaver', 'space_decoder', 'frame_score_head', 'time_pointer'}
    assert changed_parts(model, before) == parts

    metrics = runner.test()
    for key in STVG_KEYS:
        assert key in metrics, (key, sorted(metrics))
        assert math.isfinite(metrics[key])
    # runner.test() scores the test split, not the val split checkpoints are chosen on
    assert metrics['stvg/num_samples'] == NUM_TEST
    for key in ('stvg/m_tIoU', 'stvg/m_vIoU'):
        assert 0.0 <= metrics[key] <= 100.0
    # (one prediction a test sample: stvg/num_samples above, counted from the samples)


@pytest.fixture
def user_head_module(tmp_path, monkeypatch, request):
    """A throwaway module outside mmstvg on sys.path, with a unique class name."""
    suffix = f'{abs(hash(request.node.nodeid)) % 10**8}'
    module_name, class_name = f'user_stvg_head_{suffix}', f'UserConcatHead{suffix}'
    plugin_dir = tmp_path / 'plugin'
    plugin_dir.mkdir()
    (plugin_dir / f'{module_name}.py').write_text(USER_HEAD.format(class_name=class_name))
    monkeypatch.syspath_prepend(str(plugin_dir))
    yield module_name, class_name
    sys.modules.pop(module_name, None)
    SPACE_DECODERS.module_dict.pop(class_name, None)
    MODELS.module_dict.pop(class_name, None)


def test_custom_head_through_custom_imports_trains(user_head_module, toy_assets,
                                                   tmp_path):
    module_name, class_name = user_head_module
    assert SPACE_DECODERS.get(class_name) is None
    config = tmp_path / 'my_head_toy.py'
    config.write_text(
        f"_base_ = [{osp.join(CONFIG_ROOT, 'scratch', 'spacevllm_scratch.py')!r}]\n"
        "custom_imports = dict(imports=['projects.spacevllm.spacevllm', "
        f"{module_name!r}], allow_failed_imports=False)\n"
        f"model = dict(space_decoder=dict(_delete_=True, type={class_name!r}))\n")
    cfg = make_tiny(Config.fromfile(str(config)), toy_assets, str(tmp_path / 'work'),
                    max_iters=1)
    runner = build_runner(cfg)
    head = runner.model.space_decoder
    assert type(head).__name__ == class_name and type(head).__module__ == module_name
    assert type(runner.model.query_interleaver).__name__ == 'InterleavedQueries'
    before = {n: p.detach().clone() for n, p in head.named_parameters()}
    runner.train()
    losses = logged_losses(runner)
    assert set(losses) == {'loss', 'loss_lm', 'loss_bbox', 'loss_iou', 'loss_span_score'}
    assert all(len(v) == 1 and math.isfinite(v[0]) and v[0] > 0 for v in losses.values())
    # The shared mmdet losses reached the user's layer: both its tensors moved.
    for pname, param in head.named_parameters():
        assert not torch.equal(before[pname], param.detach()), pname
