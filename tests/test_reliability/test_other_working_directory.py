"""The inferencer, the demo and the tools from another working directory.

A script outside the repository imports the config's ``projects.*`` plugin
(the repository root goes on ``sys.path``, said), and a config path or a
``data/...`` path that exists only under the repository root is read from
there (said). Paths that exist from the working directory, absolute paths
and outputs stay as they are; a config found nowhere names both places.
"""
import os
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

from mmstvg.apis import GroundingInferencer
from mmstvg.models.llm_backbones.toy_tokenizer import build_toy_tokenizer
from mmstvg.utils import repo_paths
from mmstvg.utils.repo_paths import load_config, reroot_missing_paths

from .conftest import REPO_ROOT

#: A script run from a directory outside the repository: a config that
#: imports ``projects.spacevllm.spacevllm`` and one named from the root.
SCRIPT = '''
import sys
from mmstvg.apis import GroundingInferencer
from mmstvg.utils.repo_paths import load_config
inferencer = GroundingInferencer({config!r}, device='cpu')
print('built', type(inferencer.model).__name__)
print('read', load_config('configs/scratch/spacevllm_scratch.py').filename)
'''


def test_a_script_elsewhere_imports_the_projects_plugin(tmp_path, tiny_cfg):
    cfg = Config(dict(tiny_cfg.to_dict(), custom_imports=dict(
        imports=['projects.spacevllm.spacevllm'], allow_failed_imports=False)))
    config = tmp_path / 'tiny_with_plugin.py'
    cfg.dump(str(config))
    script = tmp_path / 'script.py'
    script.write_text(SCRIPT.format(config=str(config)))
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:]
    assert 'built VideoGroundingLLM' in run.stdout
    assert f"read {osp.join(REPO_ROOT, 'configs', 'scratch', 'spacevllm_scratch.py')}" \
        in run.stdout
    assert (f"custom_imports ['projects.spacevllm.spacevllm']: projects is found only "
            f'under the repository root {REPO_ROOT}, which goes on sys.path.') in run.stdout
    assert ('config configs/scratch/spacevllm_scratch.py: not found from the working '
            f'directory {tmp_path}') in run.stdout


@pytest.fixture
def fake_repository(tmp_path, monkeypatch):
    """A repository root holding ``data/pretrained/tiny/tokenizer``; the working
    directory is elsewhere. Returns ``(root, said)``."""
    root = tmp_path / 'repo'
    for folder in ('configs', 'projects', 'data/pretrained/tiny'):
        (root / folder).mkdir(parents=True)
    build_toy_tokenizer().save_pretrained(str(root / 'data/pretrained/tiny/tokenizer'))
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setattr(repo_paths, 'REPO_ROOT', str(root))
    said = []
    monkeypatch.setattr(repo_paths, 'print_log', lambda msg, **kw: said.append(msg))
    return root, said


def test_the_inferencer_elsewhere_reads_relative_data_paths_from_the_root(
        fake_repository, tiny_cfg, synthetic_root):
    root, said = fake_repository
    cfg = tiny_cfg.copy()
    cfg.model = dict(cfg.model, llm=dict(cfg.model.llm,
                                         tokenizer='data/pretrained/tiny/tokenizer'))
    inferencer = GroundingInferencer(cfg, device='cpu')
    tokenizer = str(root / 'data/pretrained/tiny/tokenizer')
    assert inferencer.cfg.model.llm.tokenizer == tokenizer
    assert cfg.model['llm']['tokenizer'] == 'data/pretrained/tiny/tokenizer'  # the caller's
    assert said == [f"'data/pretrained/tiny/tokenizer' (model.llm.tokenizer) does not exist "
                    f'from the working directory {root.parent / "elsewhere"}; using '
                    f"{tokenizer!r}, under the repository root."]
    video = osp.join(synthetic_root, 'videos',
                     sorted(os.listdir(osp.join(synthetic_root, 'videos')))[0])
    result = inferencer(video, 'the red circle moves left')
    assert len(result['predictions']) == 1


def test_only_paths_missing_from_the_working_directory_are_re_rooted(fake_repository):
    root, said = fake_repository
    (root / 'data/here').mkdir()
    (root / 'work_dirs/run').mkdir(parents=True)
    # the same relative path exists from the working directory: kept
    (root.parent / 'elsewhere/data/here').mkdir(parents=True)
    cfg = Config(dict(
        default_scope='mmstvg',                       # no '/': not a path
        work_dir='work_dirs/run',                     # an output: kept
        tokenizer='data/pretrained/tiny/tokenizer',   # only under the root
        data_root='data/here/',                       # exists from the cwd
        hub_id='Qwen/Qwen2-0.5B',                     # exists nowhere
        absolute=str(root / 'data'),
        listed=['data/pretrained/tiny/', ('data/pretrained/tiny', 3)],
        evaluator=dict(outfile_prefix='data/pretrained/tiny')))
    changed = reroot_missing_paths(cfg)
    tiny = str(root / 'data/pretrained/tiny')
    assert changed == [('tokenizer', 'data/pretrained/tiny/tokenizer', tiny + '/tokenizer'),
                       ('listed[0]', 'data/pretrained/tiny/', tiny + '/'),
                       ('listed[1][0]', 'data/pretrained/tiny', tiny)]
    assert cfg.tokenizer == tiny + '/tokenizer'
    assert cfg.listed == [tiny + '/', (tiny, 3)]
    assert (cfg.default_scope, cfg.work_dir, cfg.data_root, cfg.hub_id) == (
        'mmstvg', 'work_dirs/run', 'data/here/', 'Qwen/Qwen2-0.5B')
    assert cfg.evaluator.outfile_prefix == 'data/pretrained/tiny'
    assert len(said) == 3


def test_a_config_found_nowhere_names_both_places(fake_repository):
    root, _ = fake_repository
    with pytest.raises(FileNotFoundError) as error:
        load_config('configs/missing.py')
    assert str(error.value) == (
        f'config configs/missing.py: no such file from the working directory '
        f'{root.parent / "elsewhere"} nor under the repository root {root}. Give its '
        'path from the working directory, or an absolute one.')
    with pytest.raises(FileNotFoundError, match='config configs/missing.py: no such file'):
        GroundingInferencer('configs/missing.py', device='cpu')
