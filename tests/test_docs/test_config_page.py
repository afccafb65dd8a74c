"""Every complete config on docs/en/config.md reads, and means what the page says."""
import os
import os.path as osp
import re
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from torch import nn

from mmstvg.models.space_decoders.head_structures import HeadInputs
from mmstvg.registry import MODELS, SPACE_DECODERS
from mmstvg.utils import register_all_modules
from tests.test_models.models_testing_utils import make_sample

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PAGE = osp.join(REPO, 'docs', 'en', 'config.md')


def page_blocks(page=PAGE):
    """``{file name: text}`` of the page's python blocks that name their file."""
    with open(page) as f:
        text = f.read()
    blocks = {}
    for body in re.findall(r'```python\n(.*?)```', text, flags=re.S):
        first = body.splitlines()[0]
        match = re.fullmatch(r'# ((?:configs/)?[\w.]+\.py)', first.strip())
        if match:
            blocks[match.group(1)] = body
    return blocks


@pytest.fixture(scope='module')
def config_dir(tmp_path_factory):
    """A configs/ folder: links to the repository's configs plus the page's, and
    a link to projects/ (the entries in configs/ inherit SpaceVLLM's configs there)."""
    root = tmp_path_factory.mktemp('config_page')
    configs = root / 'configs'
    configs.mkdir()
    for name in os.listdir(osp.join(REPO, 'configs')):
        os.symlink(osp.join(REPO, 'configs', name), configs / name)
    os.symlink(osp.join(REPO, 'projects'), root / 'projects')
    for name, body in page_blocks().items():
        (root / name).write_text(body)
    sys.path[:0] = [str(root), REPO]
    yield configs
    sys.path.remove(str(root))
    sys.path.remove(REPO)


def test_the_page_has_its_complete_configs():
    assert sorted(page_blocks()) == [
        'configs/my_box_head_toy.py', 'configs/my_hcstvg_stage1.py',
        'configs/my_toy_1k.py', 'configs/my_toy_slow_llm.py', 'my_box_head.py']


def test_get_started_shows_the_same_first_config():
    started = page_blocks(osp.join(REPO, 'docs', 'en', 'get_started.md'))
    assert started == {'configs/my_toy_1k.py': page_blocks()['configs/my_toy_1k.py']}


def test_first_config_keeps_the_schedule_shape(config_dir):
    cfg = Config.fromfile(str(config_dir / 'my_toy_1k.py'))
    assert cfg.train_cfg == dict(type='IterBasedTrainLoop', max_iters=1000, val_interval=500)
    assert [s['end'] for s in cfg.param_scheduler] == [100, 1000]
    assert cfg.default_hooks.checkpoint.interval == 500
    assert cfg.default_hooks.checkpoint.save_best == 'stvg/m_vIoU'  # merged, not replaced
    base = Config.fromfile(osp.join(REPO, 'configs', 'spacevllm_toy.py'))
    assert base.param_scheduler[1]['end'] == 3000  # what the page warns about


def test_custom_imports_register_the_page_head(config_dir):
    register_all_modules()
    cfg = Config.fromfile(str(config_dir / 'my_box_head_toy.py'))
    assert cfg.model.space_decoder == dict(type='MyBoxHead')  # _delete_ dropped the rest
    assert cfg.custom_imports.imports == ['projects.spacevllm.spacevllm', 'my_box_head']
    head = SPACE_DECODERS.build(dict(cfg.model.space_decoder, hidden_dim=8))
    boxes = head(HeadInputs(torch.zeros(2, 3, 8), torch.zeros(2, 3, 4, 8),
                            torch.zeros(2, 5, 8), torch.ones(2, 5, dtype=torch.bool)))
    assert boxes.shape == (2, 3, 4)
    assert torch.allclose(boxes, torch.sigmoid(head.fc.bias).expand(2, 3, 4))
    # the page's frame head: forward(head_inputs) -> loss and predict, without the grounder
    assert cfg.model.heads == [dict(type='MyHasBoxHead')]
    frame_head = MODELS.build(dict(cfg.model.heads[0], hidden_dim=8))
    logits = frame_head(HeadInputs(torch.zeros(2, 3, 8), torch.zeros(2, 3, 4, 8),
                                   torch.zeros(2, 5, 8), torch.ones(2, 5, dtype=torch.bool)))
    assert logits.shape == (2, 3)
    samples = [make_sample('stvg', num_sampled=3), make_sample('tvg', num_sampled=3, seed=1)]
    assert float(frame_head.loss(logits, samples)['loss_has_box']) > 0
    for sample in samples:
        sample.pred_span_frames = torch.tensor([0, 20])
    head.predict(boxes, samples)
    frame_head.predict(logits, samples)
    assert torch.allclose(samples[0].pred_box_scores,
                          torch.sigmoid(frame_head.fc.bias).expand(3))


class Parts(nn.Module):
    """Parameters named as the grounder's parts name them."""

    def __init__(self):
        super().__init__()
        for name in ('vision_encoder', 'projector', 'llm', 'query_interleaver',
                     'space_decoder', 'frame_score_head'):
            setattr(self, name, nn.Linear(2, 2))


def group_lrs(optim_cfg):
    model = Parts()
    wrapper = build_optim_wrapper(model, optim_cfg)
    names = {id(p): n.split('.')[0] for n, p in model.named_parameters()}
    return {names[id(g['params'][0])]: g['lr'] for g in wrapper.optimizer.param_groups}


def test_per_part_rates_on_the_toy(config_dir):
    # The page's figures for the toy itself: the recipe's custom_keys at lr 1e-3.
    toy = Config.fromfile(osp.join(REPO, 'configs', 'spacevllm_toy.py'))
    lrs = group_lrs(toy.optim_wrapper)
    assert lrs['llm'] == pytest.approx(2e-4)
    assert lrs['vision_encoder'] == pytest.approx(2e-5)
    for part in ('projector', 'query_interleaver', 'space_decoder'):
        assert lrs[part] == pytest.approx(1e-3)
    # The page's example: only the LLM's key changes, the others merge in.
    cfg = Config.fromfile(str(config_dir / 'my_toy_slow_llm.py'))
    assert set(cfg.optim_wrapper.paramwise_cfg.custom_keys) == {
        'vision_encoder.', 'llm.', 'projector.', 'query_interleaver.', 'space_decoder.',
        'frame_score_head.'}
    lrs = group_lrs(cfg.optim_wrapper)
    assert lrs['llm'] == pytest.approx(1e-4)
    assert lrs['vision_encoder'] == pytest.approx(2e-5)
    # frame_score_head: the recipe's key at the base rate, the optimizer's lr.
    for part in ('projector', 'query_interleaver', 'space_decoder', 'frame_score_head'):
        assert lrs[part] == pytest.approx(1e-3)


def test_stage1_merges_rates_and_freezes_real_parts(config_dir):
    cfg = Config.fromfile(str(config_dir / 'my_hcstvg_stage1.py'))
    keys = cfg.optim_wrapper.paramwise_cfg.custom_keys
    assert set(keys) == {'vision_encoder.', 'llm.', 'projector.', 'query_interleaver.',
                         'space_decoder.', 'frame_score_head.'}
    optim_cfg = dict(cfg.optim_wrapper, type='OptimWrapper')  # no GPU needed for the groups
    optim_cfg.pop('dtype')
    lrs = group_lrs(optim_cfg)
    assert lrs['projector'] == pytest.approx(2e-5)
    assert lrs['llm'] == pytest.approx(2e-5) and lrs['vision_encoder'] == pytest.approx(2e-6)
    assert lrs['space_decoder'] == lrs['query_interleaver'] == pytest.approx(1e-4)
    register_all_modules()
    grounder = MODELS.get(cfg.model.type)
    assert set(cfg.model.freeze_parts) <= set(grounder.PART_NAMES)
