"""collect_env (what figures depend on), the lock file and its writer."""
import importlib.util
import logging
import os.path as osp
import re
from importlib import metadata

import pytest
import torch

from mmstvg.engine.runner_builder import log_environment
from mmstvg.utils.collect_env import FLOAT_PATH_VARIABLES, collect_env, format_env

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONSTRAINTS = osp.join(REPO, 'requirements', 'constraints.txt')


def load_tool(relative):
    spec = importlib.util.spec_from_file_location(osp.basename(relative)[:-3],
                                                  osp.join(REPO, relative))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_collect_env_names_cpu_kernels_threads_and_every_package(monkeypatch):
    for name in FLOAT_PATH_VARIABLES:  # whatever float path the suite runs on
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('ATEN_CPU_CAPABILITY', 'avx2')
    info = collect_env()
    assert info['torch'] == torch.__version__
    assert info['torch_num_threads'] == torch.get_num_threads()
    assert info['torch_cpu_capability'] == torch.backends.cpu.get_cpu_capability()
    assert info['float_path_env'] == {'ATEN_CPU_CAPABILITY': 'avx2'}
    assert info['packages']['mmengine'] == metadata.version('mmengine')
    assert info['packages']['torch'] == metadata.version('torch')
    text = format_env(info)
    assert f"  mmengine=={metadata.version('mmengine')}" in text.splitlines()
    assert 'float_path_env: ATEN_CPU_CAPABILITY=avx2' in text
    assert f"packages ({len(info['packages'])}):" in text


def test_every_runner_log_starts_with_the_environment(caplog):
    logger = logging.getLogger('mmstvg_test_collect_env')
    runner = type('FakeRunner', (), {'logger': logger})()
    with caplog.at_level(logging.INFO, logger=logger.name):
        log_environment(runner)
    [record] = caplog.records
    assert record.getMessage().startswith('mmstvg environment (tools/misc/collect_env.py):')
    assert f'torch: {torch.__version__}' in record.getMessage()


def test_freeze_drops_local_labels_and_skips_the_project_and_pip():
    tool = load_tool('tools/misc/freeze_constraints.py')
    lines = tool.constraint_lines({'torch': '2.13.0+cpu', 'mmstvg': '0.1.0', 'pip': '23.2',
                                   'a-pkg': '1.0', 'numpy': '2.4.6'})
    assert lines == ['a-pkg==1.0', 'numpy==2.4.6', 'torch==2.13.0']
    versions = tool.installed_versions()
    assert versions['mmengine'] == metadata.version('mmengine')


def _requirement_names(path):
    names = {}
    with open(path, encoding='utf-8') as file:
        for line in file:
            line = line.split('#')[0].strip()
            if not line or line.startswith('-'):
                continue
            name = re.split(r'[<>=!~\[ ;]', line, maxsplit=1)[0]
            names[name.lower().replace('_', '-')] = line
    return names


def test_the_lock_pins_every_requirement_once_and_agrees_with_their_pins():
    locked = {}
    with open(CONSTRAINTS, encoding='utf-8') as file:
        for number, line in enumerate(file, 1):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            name, _, version = line.partition('==')
            assert version and '+' not in version, f'constraints.txt:{number}: {line!r}'
            assert name not in locked, f'constraints.txt:{number}: {name} twice'
            locked[name] = version
    assert 'mmstvg' not in locked and 'pip' not in locked
    for requirements in ('build', 'runtime', 'tests', 'lmms_eval', 'lmms_eval_evaluator'):
        for name, line in _requirement_names(
                osp.join(REPO, 'requirements', f'{requirements}.txt')).items():
            assert name in locked, f'{requirements}.txt asks for {name}, the lock lacks it'
            if '==' in line:
                assert line.split('==')[1].strip() == locked[name], (requirements, line)
            elif '<' in line:  # setuptools<82
                bound = line.split('<')[1].strip()
                assert tuple(map(int, locked[name].split('.')[:1])) < \
                    tuple(map(int, bound.split('.')[:1])), (requirements, line)


@pytest.mark.parametrize('name', ['transformers', 'tokenizers', 'mmengine', 'mmcv', 'numpy'])
def test_this_environment_is_the_locked_one(name):
    """The suite runs on the versions it locks (a stale lock fails here; torch is left
    out: a GPU user's own build is kept by tools/setup_env.sh)."""
    with open(CONSTRAINTS, encoding='utf-8') as file:
        locked = dict(line.strip().split('==') for line in file
                      if '==' in line and not line.startswith('#'))
    assert metadata.version(name).split('+')[0] == locked[name]


def test_collect_env_piped_into_head_exits_zero():
    """`collect_env.py | head` under `set -o pipefail` (as CI ran it) must not fail."""
    import subprocess
    import sys
    result = subprocess.run(
        ['bash', '-c', f'set -o pipefail; "{sys.executable}" tools/misc/collect_env.py | head -n 2'],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith('python: ')
    assert 'BrokenPipeError' not in result.stderr
