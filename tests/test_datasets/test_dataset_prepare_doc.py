"""docs/en/dataset_prepare.md names the paths the dataset configs read."""
import os.path as osp
import re

import pytest
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DOC = osp.join(REPO, 'docs', 'en', 'dataset_prepare.md')
CONFIGS = ('hcstvg_v1', 'hcstvg_v2', 'vidstg', 'charades_sta', 'refcoco',
           'didemo', 'tacos', 'synthetic_stvg', 'unistg')


def tree_paths(markdown: str) -> set:
    """Every path of the page's ``text`` trees: the first line of a tree is
    its root (``data/x/``); each ``├── name`` / ``└── name`` line is a child
    of the entry one level up (4 characters a level)."""
    paths = set()
    for block in re.findall(r'```text\n(.*?)```', markdown, flags=re.S):
        lines = [line.split('#')[0].rstrip() for line in block.splitlines()]
        lines = [line for line in lines if line.strip()]
        root = lines[0].strip().rstrip('/')
        stack = [root]
        paths.add(root)
        for line in lines[1:]:
            match = re.match(r'^((?:│   |    )*)(?:├── |└── )(\S+)$', line)
            assert match, f'not a tree line: {line!r}'
            depth = len(match.group(1)) // 4 + 1
            stack = stack[:depth] + [match.group(2).rstrip('/')]
            paths.add('/'.join(stack))
    return paths


def config_paths(name: str) -> set:
    """``data_root`` + ``ann_file`` / ``data_prefix['video']`` /
    ``meta_file`` of every dataset a config's dataloaders build."""
    cfg = Config.fromfile(osp.join(REPO, 'configs', '_base_', 'datasets',
                                   f'{name}.py'))
    paths = set()
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader')
        if loader is None:
            continue
        dataset = loader['dataset']
        for part in dataset.get('datasets', [dataset]):
            root = part['data_root'].rstrip('/')
            for relative in (part.get('ann_file'), part.get('meta_file'),
                             part.get('data_prefix', {}).get('video')):
                if relative:
                    paths.add(osp.normpath(osp.join(root, relative)))
    return paths


@pytest.mark.parametrize('name', CONFIGS)
def test_every_config_path_is_on_the_page(name):
    on_page = tree_paths(open(DOC, encoding='utf-8').read())
    missing = sorted(config_paths(name) - on_page)
    assert not missing, f'{name}: the page does not name {missing}'


def test_tree_parser_and_page_roots():
    paths = tree_paths('```text\ndata/a/\n├── b/\n│   └── c.json  # x\n'
                       '└── d/\n```')
    assert paths == {'data/a', 'data/a/b', 'data/a/b/c.json', 'data/a/d'}
    on_page = tree_paths(open(DOC, encoding='utf-8').read())
    roots = {p for p in on_page if p.count('/') == 1}
    assert roots == {'data/hcstvg_v1', 'data/hcstvg_v2', 'data/vidstg',
                     'data/charades_sta', 'data/didemo', 'data/tacos',
                     'data/refcoco', 'data/synthetic_stvg', 'data/mvbench',
                     'data/videomme', 'data/egoschema', 'data/tempcompass'}


def test_project_readme_points_to_the_page():
    readme = open(osp.join(REPO, 'projects', 'spacevllm', 'README.md'),
                  encoding='utf-8').read()
    section = readme.split('### Data preparation', 1)[1].split('\n### ', 1)[0]
    assert 'docs/en/dataset_prepare.md' in section
    # No second directory tree that could disagree with the configs.
    assert '```text' not in section


QA_CONFIGS = ('mvbench', 'videomme', 'egoschema', 'tempcompass')


@pytest.mark.parametrize('name', QA_CONFIGS)
def test_every_video_qa_config_path_is_on_the_page(name):
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'video_qa', f'spacevllm_{name}.py'))
    dataset = cfg.test_dataloader.dataset
    root = dataset.data_root.rstrip('/')
    paths = {osp.normpath(osp.join(root, rel)) for rel in (
        dataset.ann_file, dataset.get('answer_file'), dataset.data_prefix.get('video'))
        if rel}
    missing = sorted(paths - tree_paths(open(DOC, encoding='utf-8').read()))
    assert not missing, f'{name}: the page does not name {missing}'
