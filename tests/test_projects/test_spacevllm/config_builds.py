"""What a config resolves to and builds: the record that pins SpaceVLLM's configs
across their move to ``projects/spacevllm/configs/`` (issue 30).

``python tests/test_projects/test_spacevllm/config_builds.py`` writes
``config_builds.json`` beside it: for every config under ``configs/`` (outside
``_base_`` folders) the sha256 of its fully resolved dict; for the LLaVA-based
model configs, the tiny model's state-dict (its keys' sha256, parameter count, a checksum of
its values at seed 0, see ``test_build_all_configs.shrink_model``); for
:data:`OUTPUT_CONFIGS` the losses on one hand-made batch. The record was written
before the move, and written again after ``TokenizeGroundingPrompt`` joined the
pipelines (issue 30, part 3): that changed every resolved dict and no model,
state dict or loss; and again after ``ChooseQuestionTemplate`` joined the shared
pipelines of ``configs/_base_/datasets/video_grounding.py``: 17 resolved dicts,
no model, state dict or loss; and again after it joined the toy's, the
synthetic set's and the Qwen-VL configs' own pipelines: 15 resolved dicts, no
model, state dict or loss; and again when the recipe's answer took its span
from per-frame scores (issue 29: ``QuerySpanScoreHead`` with
``temporal_kernel=3`` and ``FrameScoreSpanWriter`` in the full-size model,
the paper's configs renamed ``spacevllm_paper_*`` without them): the recipe's
models, state dicts and the toy's losses changed by design.
``test_config_entries.py`` compares today's configs with it.
"""
import hashlib
import json
import os.path as osp
import sys
import tempfile

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
RECORD = osp.join(osp.dirname(osp.abspath(__file__)), 'config_builds.json')
#: Configs whose tiny model's losses on one batch are recorded too.
OUTPUT_CONFIGS = ('spacevllm_toy.py', 'scratch/spacevllm_scratch.py',
                  'baselines/text_boxes_toy.py')


def cfg_digest(path: str) -> str:
    """sha256 of the resolved config dict (``Config.fromfile(path).to_dict()``)."""
    resolved = Config.fromfile(path).to_dict()
    text = json.dumps(resolved, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def tiny_model(path: str, tiny_dirs: dict, frame_token_grid=None):
    """The config's model at tiny sizes, built at seed 0 (``frame_token_grid``:
    the 32 px frames' pooled 2 x 2 grid, for :func:`batch_losses`)."""
    from mmstvg.registry import MODELS
    from tests.test_configs.config_overrides import shrink_model
    cfg = Config.fromfile(path)
    model_cfg = shrink_model(cfg.model, tiny_dirs['toy'], tiny_dirs['tokenizer'],
                             tiny_dirs['vocab_size'], frame_token_grid)
    init_default_scope(cfg.get('default_scope', 'mmstvg'))
    torch.manual_seed(0)
    return MODELS.build(model_cfg)


def state_dict_record(model) -> dict:
    """sha256 of the keys (in order), their number, the parameter count and a
    value checksum of the state dict."""
    state = model.state_dict()
    checksum = sum(float(v.double().abs().sum()) for v in state.values()
                   if v.is_floating_point())
    keys = '\n'.join(state)
    return dict(keys_sha256=hashlib.sha256(keys.encode()).hexdigest(),
                num_keys=len(state), numel=sum(v.numel() for v in state.values()),
                checksum=round(checksum, 3))


def batch_losses(model) -> dict:
    """The model's losses (train mode, seed 0) on one STVG and one TVG sample."""
    sys.path.insert(0, osp.join(REPO_ROOT, 'tests', 'test_models'))
    from models_testing_utils import make_batch, make_sample
    samples = [make_sample('stvg', span=(5, 15)), make_sample('tvg', num_sampled=4, seed=1)]
    torch.manual_seed(0)
    data = model.data_preprocessor(make_batch(samples), True)
    with torch.no_grad():
        losses = model(**data, mode='loss')
    return {k: round(float(v), 4) for k, v in sorted(losses.items())}


def make_tiny_dirs(root: str) -> dict:
    """As ``test_build_all_configs.tiny_dirs``: toy pretrained parts + chat tokenizer."""
    from mmstvg.models.llm_backbones.toy_tokenizer import build_toy_tokenizer
    from tools.misc.create_toy_pretrained import create_toy_pretrained
    create_toy_pretrained(osp.join(root, 'toy'), image_size=32, patch_size=8,
                          vision_hidden=32, llm_hidden=64, llm_layers=1,
                          max_positions=1024)
    tokenizer = build_toy_tokenizer(chat_template=True)
    tokenizer.save_pretrained(osp.join(root, 'chat_tokenizer'))
    return dict(toy=osp.join(root, 'toy'), tokenizer=osp.join(root, 'chat_tokenizer'),
                vocab_size=len(tokenizer))


def main():
    sys.path.insert(0, REPO_ROOT)
    from tests.test_configs.test_build_all_configs import CONFIGS, LLAVA_CONFIGS
    import glob
    config_root = osp.join(REPO_ROOT, 'configs')
    every = sorted(osp.relpath(p, config_root)
                   for p in glob.glob(osp.join(config_root, '**', '*.py'), recursive=True)
                   if '_base_' not in osp.relpath(p, config_root).split(osp.sep))
    record = dict(cfg_sha256={n: cfg_digest(osp.join(config_root, n)) for n in every},
                  state_dicts={}, losses={})
    with tempfile.TemporaryDirectory() as root:
        tiny_dirs = make_tiny_dirs(root)
        for name in LLAVA_CONFIGS:
            model = tiny_model(osp.join(config_root, name), tiny_dirs)
            record['state_dicts'][name] = state_dict_record(model)
            if name in OUTPUT_CONFIGS:
                model = tiny_model(osp.join(config_root, name), tiny_dirs, (2, 2))
                record['losses'][name] = batch_losses(model)
            print(name, record['state_dicts'][name]['numel'], record['losses'].get(name))
    assert set(CONFIGS) <= set(every)
    with open(RECORD, 'w') as f:
        json.dump(record, f, indent=1, sort_keys=True)
        f.write('\n')


if __name__ == '__main__':
    main()
