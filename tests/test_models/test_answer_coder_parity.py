"""The answer coders (issue 30) left every config's model as it was.

For three configs at tiny size (the toy, the text-box baseline and the
from-scratch SpaceVLLM with its snapped answers and time pointer), the model's
state-dict keys, its losses on one batch (an STVG, a TVG and a REC sample), and
its predictions (the generated text, and then a fixed well-formed reply per
task) are compared with a reference written once from the code before the
coders (``answer_coder_parity.json``, see :func:`_write_reference`): the keys
exactly, the texts exactly, the numbers to ``1e-5``.
"""
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmstvg.registry import MODELS
from models_testing_utils import make_batch, make_sample
from tests.test_configs.config_overrides import shrink_model
from tests.test_configs.test_build_all_configs import tiny_dirs  # noqa: F401 (a fixture)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
REFERENCE = osp.join(osp.dirname(osp.abspath(__file__)), 'answer_coder_parity.json')
CONFIGS = ('spacevllm_toy.py', 'scratch/text_boxes_scratch.py',
           'scratch/spacevllm_scratch.py')
#: What a config has gained since the reference was written, taken off again: the
#: toy's answer reads its span from per-frame scores since issue 29 (the reference is
#: the toy of that day, its model then exactly these options' model).
SINCE_REFERENCE = {'spacevllm_toy.py': dict(heads=[], frame_state_source='llm_queries',
                                            logits_processors=[])}
#: A well-formed reply of each task (the text-box one with its boxes).
REPLIES = dict(
    stvg='The event happens from 1.0 to 3.0 seconds. frame 1: [0.1, 0.1, 0.5, 0.5]; '
    'frame 2: [0.2, 0.3, 0.6, 0.7]',
    tvg='The event happens from 0.4 to 2.6 seconds.',
    rec='frame 0: [0.1, 0.2, 0.5, 0.9]')
PRED_FIELDS = ('pred_text', 'pred_parse_ok', 'pred_span_frames', 'pred_span_seconds',
               'pred_boxes', 'pred_box_scores', 'pred_box_mask', 'pred_num_malformed_boxes',
               'pred_num_missing_boxes')


def _samples():
    return [make_sample('stvg', seed=0), make_sample('tvg', span=(2, 13), seed=1),
            make_sample('rec', seed=2)]


def _plain(value):
    if isinstance(value, torch.Tensor):
        return value.detach().float().tolist() if value.is_floating_point() else \
            value.tolist()
    return value


def _predictions(samples):
    return [{name: _plain(s.get(name)) for name in PRED_FIELDS if name in s}
            for s in samples]


def _fingerprint(name, tiny_dirs):
    cfg = Config.fromfile(osp.join(REPO, 'configs', name))
    model_cfg = shrink_model(cfg.model, tiny_dirs['toy'], tiny_dirs['tokenizer'],
                             tiny_dirs['vocab_size'], frame_token_grid=(2, 2))
    model_cfg['max_new_tokens'] = 24
    model_cfg.update(SINCE_REFERENCE.get(name, {}))
    init_default_scope('mmstvg')
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    data = model.data_preprocessor(make_batch(_samples()), True)
    losses = {k: float(v) for k, v in model(**data, mode='loss').items()}
    model.eval()
    generated = _predictions(model(**model.data_preprocessor(
        make_batch(_samples()), False), mode='predict'))
    replies = iter([REPLIES['stvg'], REPLIES['tvg'], REPLIES['rec']])
    model.llm.decode = lambda ids: next(replies)
    model.share_video = False  # one batch pass: the replies come in sample order
    fixed = _predictions(model(**model.data_preprocessor(make_batch(_samples()), False),
                               mode='predict'))
    return dict(keys=sorted(model.state_dict()), losses=losses, generated=generated,
                fixed=fixed)


def _write_reference(tiny_dirs):
    """Written once, on main at 394d14a (the code before the coders)."""
    with open(REFERENCE, 'w') as f:
        json.dump({name: _fingerprint(name, tiny_dirs) for name in CONFIGS}, f, indent=1)


def _assert_close(ours, theirs, where):
    if isinstance(theirs, dict):
        assert set(ours) == set(theirs), where
        for key in theirs:
            _assert_close(ours[key], theirs[key], f'{where}.{key}')
    elif isinstance(theirs, list):
        assert len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs)):
            _assert_close(a, b, f'{where}[{i}]')
    elif isinstance(theirs, float):
        assert ours == pytest.approx(theirs, abs=1e-5), where
    else:
        assert ours == theirs, where


@pytest.mark.parametrize('name', CONFIGS)
def test_model_is_unchanged(name, tiny_dirs):
    with open(REFERENCE) as f:
        reference = json.load(f)[name]
    ours = _fingerprint(name, tiny_dirs)
    assert ours['keys'] == reference['keys']
    _assert_close(ours, reference, name)
