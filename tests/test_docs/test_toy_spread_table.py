"""toy_spread_table.py: runs -> ranges -> the README table that check_readme_figures reads."""
import importlib.util
import json
import os
import os.path as osp

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load(relative):
    spec = importlib.util.spec_from_file_location(osp.basename(relative)[:-3],
                                                  osp.join(REPO, relative))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def table():
    return load('tools/analysis_tools/toy_spread_table.py')


@pytest.fixture(scope='module')
def check():
    return load('tools/misc/check_readme_figures.py')


TRIVIAL = {'stvg/m_tIoU': 47.07, 'stvg/m_vIoU': 10.78, 'stvg/vIoU@0.3': 0.0,
           'stvg/vIoU@0.5': 0.0, 'stvg/gt_vIoU': 23.37}


def write_run(out_dir, name, m_tiou, m_viou, seconds=600, capability='AVX512'):
    run_dir = osp.join(out_dir, name)
    os.makedirs(run_dir)
    model = {'stvg/m_tIoU': m_tiou, 'stvg/m_vIoU': m_viou, 'stvg/vIoU@0.3': 90.0,
             'stvg/vIoU@0.5': m_viou + 10, 'stvg/gt_vIoU': 68.0}
    with open(osp.join(run_dir, 'final_metrics.json'), 'w') as file:
        json.dump(dict(checkpoint='x.pth', model=model, trivial_answer=TRIVIAL), file)
    with open(osp.join(run_dir, 'env.json'), 'w') as file:
        json.dump(dict(cpu='Some CPU', torch_cpu_capability=capability,
                       torch_num_threads=2), file)
    with open(osp.join(run_dir, 'seconds'), 'w') as file:
        file.write(str(seconds))


def test_ranges_mean_and_sd_over_the_runs_and_the_missing_named(table, tmp_path):
    out = str(tmp_path)
    write_run(out, 'native_seed0', 79.43, 58.19)
    write_run(out, 'native_seed1', 78.62, 55.59, capability='AVX2')
    write_run(out, 'avx2_seed0', 81.51, 59.79)
    os.makedirs(osp.join(out, 'avx2_seed1'))  # cut off: no final_metrics.json
    result = table.main([out, '--num-test-videos', '300'])
    assert result['missing'] == ['avx2_seed1']
    s = result['model']['m_tIoU']
    assert (s['min'], s['max'], s['n']) == (78.62, 81.51, 3)
    assert s['mean'] == pytest.approx((79.43 + 78.62 + 81.51) / 3)
    assert s["std"] == pytest.approx(1.4908, abs=1e-4)  # sample sd (n - 1)
    text = open(osp.join(out, 'spread.md')).read()
    assert '| m_tIoU | 78.6 – 81.5 | 79.9 ± 1.5 | 47.1 |' in text
    assert '| native_seed1 | Some CPU | AVX2 | 2 | 10.0 |' in text
    assert 'Missing (1): avx2_seed1' in text
    assert json.load(open(osp.join(out, 'spread.json')))['missing'] == ['avx2_seed1']


def test_the_written_readme_table_accepts_every_run_it_was_made_from(table, check,
                                                                     tmp_path):
    out = str(tmp_path / 'runs')
    figures = [(79.43, 58.19), (78.62, 55.59), (81.51, 59.79)]
    for k, (t, v) in enumerate(figures):
        write_run(out, f'native_seed{k}', t, v)
    readme = tmp_path / 'README.md'
    readme.write_text('# x\n\n<!-- toy-table:start -->\nold\n<!-- toy-table:end -->\n\nafter\n')
    table.main([out, '--num-test-videos', '300', '--write-readme', str(readme)])
    text = readme.read_text()
    assert 'old' not in text and text.endswith('<!-- toy-table:end -->\n\nafter\n')
    parsed = check.parse_toy_table(text)
    assert parsed['model']['m_vIoU'] == (55.6, 59.8)
    for k in range(len(figures)):
        metrics = osp.join(out, f'native_seed{k}', 'final_metrics.json')
        assert check.main(['--readme', str(readme), '--metrics', metrics]) == 0
    # a run far below every measured one fails the strict check (a note by default)
    write_run(str(tmp_path / 'bad'), 'run', 60.0, 30.0)
    bad = ['--readme', str(readme), '--metrics',
           str(tmp_path / 'bad' / 'run' / 'final_metrics.json')]
    assert check.main(bad + ['--strict-ranges']) == 1
    assert check.main(bad) == 0


def test_the_base_zero_shot_column_when_the_runs_have_it(table, check, tmp_path):
    out = str(tmp_path / 'runs')
    for k, zero_shot in enumerate((47.74, 48.1)):
        write_run(out, f'native_seed{k}', 55.0 + k, 37.0 + k)
        path = osp.join(out, f'native_seed{k}', 'final_metrics.json')
        final = json.load(open(path))
        final['base_zero_shot'] = {'m_tIoU': zero_shot, 'R@0.5': 45.0, 'num_videos': 300}
        json.dump(final, open(path, 'w'))
    result = table.main([out, '--num-test-videos', '300'])
    text = open(osp.join(out, 'spread.md')).read()
    assert '| trivial answer | base, zero-shot |' in text
    assert '| m_tIoU | 55.0 – 56.0 | 55.5 ± 0.7 | 47.1 | 47.7 – 48.1 |' in text
    assert '| m_vIoU | 37.0 – 38.0 | 37.5 ± 0.7 | 10.8 | - |' in text  # words, no boxes
    assert result['model']['m_tIoU']['n'] == 2
    readme = tmp_path / 'README.md'
    readme.write_text('<!-- toy-table:start -->\n<!-- toy-table:end -->\n')
    table.main([out, '--write-readme', str(readme)])
    parsed = check.parse_toy_table(readme.read_text())  # the extra column is ignored
    assert parsed['trivial_answer']['m_tIoU'] == 47.1


def test_a_readme_without_markers_is_refused(table):
    with pytest.raises(ValueError, match='README.md: no "<!-- toy-table:start -->"'):
        table.replace_readme_table('no markers here', '| t |')
