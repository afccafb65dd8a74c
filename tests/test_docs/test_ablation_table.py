"""tools/analysis_tools/ablation_table.py on fake run folders; run_ablation.sh's variants."""
import importlib.util
import json
import os.path as osp
import re
import statistics

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'analysis_tools', 'ablation_table.py')
SCRIPT = osp.join(REPO, 'tools', 'analysis_tools', 'run_ablation.sh')


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('ablation_table', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(root, index, name, seed, metrics=None, compared_with=None, status='ok',
         nested=False, seconds=600.0, options='', threads=None):
    folder = root / name / f'seed{seed}'
    folder.mkdir(parents=True)
    (folder / 'variant.json').write_text(json.dumps(dict(
        index=index, name=name, config=f'configs/{name}.py', cfg_options=options,
        compared_with=compared_with, seed=seed, iters=3000, seconds=seconds,
        checkpoint='best.pth', status=status,
        **({} if threads is None else dict(threads=threads)))))
    if metrics is not None:
        data = {f'stvg/{k}': v for k, v in metrics.items()}
        data['stvg/num_samples'] = 60
        (folder / 'final_metrics.json').write_text(
            json.dumps(dict(model=data) if nested else data))


PAPER = {0: dict(m_tIoU=70.0, m_vIoU=50.0), 1: dict(m_tIoU=72.0, m_vIoU=52.0),
         2: dict(m_tIoU=74.0, m_vIoU=57.0)}
GRID = {0: dict(m_tIoU=75.0, m_vIoU=55.0, gt_vIoU=60.0),
        1: dict(m_tIoU=77.0, m_vIoU=59.0, gt_vIoU=62.0)}


def _fake_ablation(root):
    # folder names sort differently from the script's order: the index decides
    for seed, metrics in GRID.items():
        _run(root, 2, 'reference_grid', seed, metrics, compared_with='paper', nested=seed == 1)
    _run(root, 2, 'reference_grid', 2, None, compared_with='paper',
         status='training failed (see x/train.log)')
    for seed, metrics in PAPER.items():
        _run(root, 1, 'paper', seed, metrics)
    _run(root, 3, 'frame_score_head', 0, dict(m_tIoU=80.0, m_vIoU=60.0),
         compared_with='reference_grid', options='model.frame_score_head.type=X')
    _run(root, 4, 'broken', 0, None, compared_with='paper',
         status='test failed (see y/test.log)')
    (root / 'trivial_metrics.json').write_text(json.dumps({'stvg/m_tIoU': 47.1,
                                                           'stvg/m_vIoU': 10.8}))


def test_summarize_means_sds_seeds_and_deltas(tool, tmp_path):
    _fake_ablation(tmp_path)
    rows = tool.summarize(tool.collect_runs(str(tmp_path)), seeds=[0, 1, 2])
    by_name = {row['name']: row for row in rows}
    assert [row['name'] for row in rows] == [
        'paper', 'reference_grid', 'frame_score_head', 'broken']

    paper = by_name['paper']['metrics']['m_vIoU']
    assert paper['mean'] == pytest.approx(53.0)
    assert paper['sd'] == pytest.approx(statistics.stdev([50.0, 52.0, 57.0]))
    assert paper['n'] == 3
    assert by_name['paper']['metrics']['gt_vIoU']['mean'] is None
    assert by_name['paper']['delta'] == {'m_vIoU': None, 'm_tIoU': None}

    grid = by_name['reference_grid']
    assert grid['seeds_done'] == [0, 1] and grid['seeds_missing'] == [2]
    assert grid['metrics']['m_vIoU']['mean'] == pytest.approx(57.0)  # nested form read
    assert grid['metrics']['m_vIoU']['sd'] == pytest.approx(2 ** 1.5)  # sd of 55, 59
    assert grid['delta']['m_vIoU'] == pytest.approx(57.0 - 53.0)
    assert grid['delta']['m_tIoU'] == pytest.approx(76.0 - 72.0)
    assert grid['failed'] == [dict(seed=2, status='training failed (see x/train.log)')]

    head = by_name['frame_score_head']
    assert head['metrics']['m_vIoU'] == dict(mean=60.0, sd=None, n=1, values=[60.0])
    assert head['delta']['m_vIoU'] == pytest.approx(60.0 - 57.0)  # against reference_grid
    assert head['seeds_missing'] == [1, 2]

    broken = by_name['broken']
    assert broken['seeds_done'] == [] and broken['delta']['m_vIoU'] is None


def test_main_writes_markdown_and_json(tool, tmp_path):
    _fake_ablation(tmp_path)
    result = tool.main([str(tmp_path), '--seeds', '0', '1', '2'])
    markdown = (tmp_path / 'ablation.md').read_text(encoding='utf-8')
    lines = markdown.splitlines()
    assert lines[0] == ('| variant | m_tIoU | m_vIoU | vIoU@0.3 | vIoU@0.5 | gt_vIoU | seeds | '
                        'compared with | Δ m_vIoU | Δ m_tIoU | train + test | what changes |')
    sd = statistics.stdev([50.0, 52.0, 57.0])
    assert lines[2] == (f'| paper | 72.0 ± 2.0 | 53.0 ± {sd:.1f} | - | - | - | 3 of 3 | - | '
                        '- | - | 30 min 00 s | `configs/paper.py` |')
    assert lines[3] == ('| reference_grid | 76.0 ± 1.4 | 57.0 ± 2.8 | - | - | 61.0 ± 1.4 | '
                        '2 of 3 (missing: 2) | paper | +4.0 | +4.0 | 30 min 00 s | '
                        '`configs/reference_grid.py` |')
    assert lines[4].startswith('| frame_score_head | 80.0 | 60.0 | - | - | - | '
                               '1 of 3 (missing: 1, 2) | reference_grid | +3.0 | +4.0 |')
    assert lines[4].endswith('`configs/frame_score_head.py` `model.frame_score_head.type=X` |')
    assert lines[5].startswith('| broken | - | - | - | - | - | 0 of 3 (missing: 0, 1, 2) | '
                               'paper | - | - |')
    assert lines[6] == ('| trivial answer | 47.1 | 10.8 | - | - | - | - | - | - | - | - | '
                        'whole video, centred box |')
    assert '- reference_grid, seed 2: training failed (see x/train.log)' in lines
    assert '- broken, seed 0: test failed (see y/test.log)' in lines
    assert '3000 training iterations a run' in markdown
    assert 'seeds 0, 1, 2' in markdown
    assert '80 min 00 s of runs in all' in markdown  # 8 runs of 600 s
    saved = json.loads((tmp_path / 'ablation.json').read_text(encoding='utf-8'))
    assert saved['reference'] == 'paper' == result['reference']
    assert saved['seeds'] == [0, 1, 2]
    assert saved['variants'][1]['delta']['m_vIoU'] == pytest.approx(4.0)
    assert saved['trivial_answer']['m_vIoU'] == 10.8
    assert saved['machine']['cores'] >= 1


def test_runs_on_other_thread_counts_are_named(tool, tmp_path):
    _run(tmp_path, 1, 'paper', 0, PAPER[0], threads=2)
    _run(tmp_path, 2, 'reference_grid', 0, GRID[0], compared_with='paper', threads=1)
    rows = tool.summarize(tool.collect_runs(str(tmp_path)))
    markdown = tool.to_markdown(rows, None, dict(torch_threads=2))
    assert markdown.rstrip().endswith('Runs on another number of threads (float sums in '
                                      'another order): reference_grid seed 0 (1).')
    assert 'another number of threads' not in tool.to_markdown(rows, None,
                                                                 dict(torch_threads=None))


def test_expected_seeds_default_to_those_found(tool, tmp_path):
    _run(tmp_path, 1, 'paper', 0, dict(m_vIoU=50.0))
    _run(tmp_path, 2, 'other', 3, dict(m_vIoU=51.0), compared_with='paper')
    rows = tool.summarize(tool.collect_runs(str(tmp_path)))
    assert rows[0]['seeds_expected'] == [0, 3] and rows[0]['seeds_missing'] == [3]
    assert rows[1]['delta']['m_vIoU'] == pytest.approx(1.0)


def test_empty_dir_and_bad_metrics_are_named(tool, tmp_path):
    with pytest.raises(FileNotFoundError, match='variant.json'):
        tool.collect_runs(str(tmp_path))
    bad = tmp_path / 'm.json'
    bad.write_text(json.dumps({'loss': 1.0}))
    with pytest.raises(ValueError, match=r'm\.json: none of'):
        tool.read_metrics(str(bad))


def _script_variants():
    with open(SCRIPT, encoding='utf-8') as file:
        text = file.read()
    block = re.search(r'^VARIANTS=\((.*?)^\)', text, re.S | re.M)
    assert block, 'no VARIANTS=( ... ) in run_ablation.sh'
    entries = [line.strip() for line in block.group(1).splitlines()
               if line.strip() and not line.strip().startswith('#')]
    return [re.fullmatch(r'"(.*)"', entry).group(1).split('|') for entry in entries]


def test_script_variants_are_consistent():
    variants = _script_variants()
    assert len(variants) >= 2
    names = [fields[0] for fields in variants]
    assert len(names) == len(set(names)), 'variant names must be unique'
    for position, fields in enumerate(variants):
        assert len(fields) == 4, f'{fields}: want name|config|cfg-options|compared_with'
        name, config, _, compared_with = fields
        assert osp.isfile(osp.join(REPO, config)), f'{name}: no {config}'
        if compared_with:
            assert compared_with in names[:position], \
                f'{name} is compared with {compared_with!r}, not an earlier variant'
    assert not variants[0][3], 'the first variant is the reference'
