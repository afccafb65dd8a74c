"""tools/analysis_tools/ablation_table.py on fake variant folders."""
import importlib.util
import json
import os.path as osp

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'analysis_tools', 'ablation_table.py')


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('ablation_table', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _variant(root, index, name, metrics=None, nested=False, status='ok', seconds=600.0):
    folder = root / name
    folder.mkdir()
    (folder / 'variant.json').write_text(json.dumps(dict(
        index=index, name=name, config=f'configs/{name}.py', cfg_options='',
        iters=4000, seconds=seconds, checkpoint='x.pth', status=status)))
    if metrics is not None:
        data = {f'stvg/{k}': v for k, v in metrics.items()}
        data['stvg/num_samples'] = 60
        (folder / 'final_metrics.json').write_text(
            json.dumps(dict(model=data) if nested else data))


def _fake_ablation(root):
    # folder names sort differently from the run order: the index decides
    _variant(root, 2, 'appended_queries', dict(m_tIoU=74.2, m_vIoU=53.7, gt_vIoU=60.0))
    _variant(root, 1, 'spacevllm', dict(m_tIoU=79.4, m_vIoU=58.2, gt_vIoU=65.0), nested=True,
             seconds=654)
    _variant(root, 3, 'broken', None, status='training failed (see x/train.log)')
    _variant(root, 4, 'no_test', None)
    (root / 'trivial_metrics.json').write_text(json.dumps({'stvg/m_tIoU': 47.1,
                                                           'stvg/m_vIoU': 10.8}))


def test_collect_orders_by_index_and_computes_the_delta(tool, tmp_path):
    _fake_ablation(tmp_path)
    rows = tool.collect(str(tmp_path))
    assert [r['name'] for r in rows] == ['spacevllm', 'appended_queries', 'broken', 'no_test']
    assert rows[0]['delta'] == 0.0
    assert rows[1]['delta'] == pytest.approx(53.7 - 58.2)
    assert rows[2]['metrics'] is None and rows[2]['delta'] is None
    assert rows[3]['status'] == 'no final_metrics.json'


def test_main_writes_markdown_and_json(tool, tmp_path):
    _fake_ablation(tmp_path)
    result = tool.main([str(tmp_path)])
    markdown = (tmp_path / 'ablation.md').read_text()
    lines = markdown.splitlines()
    assert lines[0].startswith('| variant | m_tIoU | m_vIoU | vIoU@0.3 | vIoU@0.5 | gt_vIoU |')
    assert lines[2] == ('| spacevllm | 79.4 | 58.2 | - | - | 65.0 | +0.0 | 10 min 54 s | '
                        '`configs/spacevllm.py` |')
    assert lines[3].startswith('| appended_queries | 74.2 | 53.7 | - | - | 60.0 | -4.5 |')
    assert lines[4].startswith('| broken | training failed (see x/train.log) |')
    assert lines[6].startswith('| trivial answer | 47.1 | 10.8 |')
    assert '4000 training iterations a variant' in markdown
    assert '40 min 54 s in all' in markdown  # 654 + 3 * 600 s
    saved = json.loads((tmp_path / 'ablation.json').read_text())
    assert saved['reference'] == 'spacevllm' == result['reference']
    assert saved['variants'][1]['metrics']['m_vIoU'] == 53.7
    assert saved['machine']['cores'] >= 1


def test_empty_dir_and_bad_metrics_are_named(tool, tmp_path):
    with pytest.raises(FileNotFoundError, match='variant.json'):
        tool.collect(str(tmp_path))
    bad = tmp_path / 'm.json'
    bad.write_text(json.dumps({'loss': 1.0}))
    with pytest.raises(ValueError, match=r'm\.json: none of'):
        tool.read_metrics(str(bad))
