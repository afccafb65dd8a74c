"""SpaceVLLM's configs in ``projects/spacevllm/configs/`` build what they built in
``configs/`` before the move (issue 30), and ``configs/`` keeps an entry of each.

``config_builds.json`` was written by ``config_builds.py`` before the move: each
config's resolved dict (sha256), its tiny model's state dict and three configs'
losses on one batch. Today the entry (``configs/<name>``) and the project's
config resolve to that same dict, and the project's config builds that model.
"""
import glob
import json
import os.path as osp
import re

import pytest

from tests.test_projects.test_spacevllm.config_builds import (OUTPUT_CONFIGS, RECORD,
                                                              REPO_ROOT, batch_losses,
                                                              cfg_digest, make_tiny_dirs,
                                                              state_dict_record, tiny_model)

CONFIGS = osp.join(REPO_ROOT, 'configs')
PROJECT_CONFIGS = osp.join(REPO_ROOT, 'projects', 'spacevllm', 'configs')
with open(RECORD) as f:
    BEFORE = json.load(f)
#: The project's configs (outside _base_), as paths below PROJECT_CONFIGS.
MOVED = sorted(osp.relpath(path, PROJECT_CONFIGS)
               for path in glob.glob(osp.join(PROJECT_CONFIGS, '**', '*.py'), recursive=True)
               if '_base_' not in osp.relpath(path, PROJECT_CONFIGS).split(osp.sep))


def project_or_entry(name):
    """The project's config of ``name`` where it moved, else ``configs/<name>``."""
    moved = osp.join(PROJECT_CONFIGS, name)
    return moved if osp.exists(moved) else osp.join(CONFIGS, name)


def test_every_config_moved_is_one_that_was_recorded():
    assert MOVED and set(MOVED) <= set(BEFORE['cfg_sha256'])
    assert {'spacevllm_toy.py', 'spacevllm_hcstvg.py', 'baselines/text_boxes_toy.py',
            'scratch/spacevllm_scratch.py'} <= set(MOVED)


@pytest.mark.parametrize('name', MOVED)
def test_the_entry_is_thin(name):
    """``configs/<name>`` only inherits the project's config (its relative ``_base_``
    resolves from its own folder), so the command line, ``work_dir`` and the docs'
    paths stay what they were."""
    with open(osp.join(CONFIGS, name)) as f:
        code = [line for line in f.read().splitlines() if line and not line.startswith('#')]
    target = osp.relpath(osp.join(PROJECT_CONFIGS, name), osp.dirname(osp.join(CONFIGS, name)))
    assert code == [f"_base_ = ['{target}']"]


@pytest.mark.parametrize('name', sorted(BEFORE['cfg_sha256']))
def test_the_config_resolves_as_before_the_move(name):
    assert cfg_digest(osp.join(CONFIGS, name)) == BEFORE['cfg_sha256'][name]
    if name in MOVED:
        assert cfg_digest(osp.join(PROJECT_CONFIGS, name)) == BEFORE['cfg_sha256'][name]


@pytest.fixture(scope='module')
def tiny_dirs(tmp_path_factory):
    return make_tiny_dirs(str(tmp_path_factory.mktemp('tiny_pretrained')))


@pytest.mark.parametrize('name', sorted(BEFORE['state_dicts']))
def test_the_model_is_built_as_before_the_move(name, tiny_dirs):
    """The same state-dict keys, parameter count and initial values (seed 0; their
    checksum to float summation order, as other kernels sum)."""
    model = tiny_model(project_or_entry(name), tiny_dirs)
    record, before = state_dict_record(model), BEFORE['state_dicts'][name]
    assert record.pop('checksum') == pytest.approx(before['checksum'], rel=1e-6)
    assert record == {k: v for k, v in before.items() if k != 'checksum'}


@pytest.mark.parametrize('name', OUTPUT_CONFIGS)
def test_the_model_gives_the_losses_of_before_the_move(name, tiny_dirs):
    model = tiny_model(project_or_entry(name), tiny_dirs, (2, 2))
    # (recorded to 4 decimals; other float kernels and thread counts move the 5th)
    assert batch_losses(model) == pytest.approx(BEFORE['losses'][name], abs=5e-4)


def test_the_project_keeps_only_spacevllms_configs():
    """What stays in configs/ besides the entries is the library's: dataset,
    schedule and runtime bases, the base video LLM's pretraining, data
    construction and the QA benchmarks' configs."""
    kept = sorted(osp.relpath(path, CONFIGS)
                  for path in glob.glob(osp.join(CONFIGS, '**', '*.py'), recursive=True))
    entries = set(MOVED)
    others = {re.split(r'[/\\]', name)[0] for name in kept if name not in entries}
    assert others == {'_base_', 'base_pretrain', 'data_construction', 'video_qa'}
    assert not glob.glob(osp.join(CONFIGS, '_base_', 'models', '*.py'))
