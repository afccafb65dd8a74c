"""tools/misc/check_readme_figures.py on a fake README snippet and final_metrics.json."""
import importlib.util
import json
import os.path as osp

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'misc', 'check_readme_figures.py')

README = """# x

Measured here:

| metric (test, 300 videos, TubeDETR protocol) | toy SpaceVLLM (range over 6 runs) | mean ± sd | trivial answer |
| --- | --- | --- | --- |
| m_tIoU | 78.6 – 81.5 | 80.0 ± 1.1 | 47.1 |
| m_vIoU | 55.6-59.8 | 57.9 ± 1.5 | 10.8 |
| gt_vIoU (boxes scored on the true span) | 67.4 | 67.4 ± 0.0 | 23.4 |

Other text | with a bar.
"""


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('check_readme_figures', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _final(m_viou=59.83, trivial_tiou=47.12):
    return dict(checkpoint='work_dirs/spacevllm_toy/best.pth',
                model={'stvg/m_tIoU': 81.46, 'stvg/m_vIoU': m_viou, 'stvg/gt_vIoU': 67.4,
                       'stvg/num_samples': 300.0},
                trivial_answer={'stvg/m_tIoU': trivial_tiou, 'stvg/m_vIoU': 10.78,
                                'stvg/gt_vIoU': 23.41})


def _files(tmp_path, final):
    (tmp_path / 'README.md').write_text(README)
    (tmp_path / 'final_metrics.json').write_text(json.dumps(final))
    return ['--readme', str(tmp_path / 'README.md'), '--metrics',
            str(tmp_path / 'final_metrics.json')]


def test_parse_reads_ranges_and_numbers_by_metric_name(tool):
    figures = tool.parse_toy_table(README)
    assert figures == {'model': {'m_tIoU': (78.6, 81.5), 'm_vIoU': (55.6, 59.8),
                                 'gt_vIoU': 67.4},
                       'trivial_answer': {'m_tIoU': 47.1, 'm_vIoU': 10.8, 'gt_vIoU': 23.4}}
    assert tool.parse_cell('1.5 to 2') == (1.5, 2.0) and tool.parse_cell('**3.0**') == 3.0
    with pytest.raises(ValueError, match='backwards'):
        tool.parse_cell('5 – 4')


def test_agreeing_figures_pass(tool, tmp_path, capsys):
    assert tool.main(_files(tmp_path, _final())) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    # 6 figures + the learning check on m_tIoU, m_vIoU and gt_vIoU
    assert last == dict(ok=True, checked=9, problems=[], notes=[], tolerance=0.1,
                        min_spread=2.0,
                        min_gain={'m_tIoU': 10.0, 'm_vIoU': 10.0, 'gt_vIoU': 10.0})


def test_a_range_is_widened_by_its_own_spread(tool, tmp_path, capsys):
    # m_vIoU 55.6 - 59.8 (spread 4.2): [51.4, 64.0] agrees, beyond does not
    assert tool.main(_files(tmp_path, _final(m_viou=51.4))) == 0
    assert tool.main(_files(tmp_path, _final(m_viou=64.0))) == 0
    strict = ['--strict-ranges']
    assert tool.main(_files(tmp_path, _final(m_viou=51.3)) + strict) == 1
    assert 'model m_vIoU: README (55.6, 59.8), measured 51.30, outside [51.40, 64.00]' \
        in capsys.readouterr().out
    # by default a model figure off its range is a note (another CPU may land there)
    assert tool.main(_files(tmp_path, _final(m_viou=51.3))) == 0
    out = capsys.readouterr().out
    assert 'note: model m_vIoU: README (55.6, 59.8), measured 51.30' in out
    assert json.loads(out.strip().splitlines()[-1])['notes'] == [
        'model m_vIoU: README (55.6, 59.8), measured 51.30, outside [51.40, 64.00]']
    # a narrow range is widened by at least --min-spread (m_tIoU 78.6 - 81.5 is 2.9
    # wide; as 80.0 - 80.5 it would be widened by 2: [78.0, 82.5])
    narrow = _files(tmp_path, _final())
    (tmp_path / 'README.md').write_text(README.replace('78.6 – 81.5', '80.0 – 80.5'))
    assert tool.main(narrow) == 0  # 81.46
    assert tool.main(narrow + ['--min-spread', '0.5', '--strict-ranges']) == 1  # [79.5, 81.0]
    # a single number is widened by the tolerance only (gt_vIoU 67.4)
    final = _final()
    final['model']['stvg/gt_vIoU'] = 67.6
    assert tool.main(_files(tmp_path, final) + strict) == 1
    assert tool.main(_files(tmp_path, final) + strict + ['--tolerance', '0.2']) == 0


def test_the_trivial_answer_agrees_to_the_tolerance(tool, tmp_path):
    assert tool.main(_files(tmp_path, _final(trivial_tiou=47.2))) == 0
    assert tool.main(_files(tmp_path, _final(trivial_tiou=47.21))) == 1


def test_a_model_that_did_not_learn_fails_whatever_the_table_says(tool, tmp_path, capsys):
    readme = README.replace('55.6-59.8', '5.0 – 59.8')  # a range wide enough to hold it
    (tmp_path / 'README.md').write_text(readme)
    (tmp_path / 'final_metrics.json').write_text(json.dumps(_final(m_viou=20.0)))
    args = ['--readme', str(tmp_path / 'README.md'), '--metrics',
            str(tmp_path / 'final_metrics.json')]
    assert tool.main(args) == 1
    assert 'model m_vIoU: 20.00 is not 10.0 points above the trivial answer (10.78)' \
        in capsys.readouterr().out
    assert tool.main(args + ['--min-gain', 'm_vIoU=9']) == 0
    # when is held to 10 points: a model near the trivial answer's m_tIoU fails
    final = _final(trivial_tiou=75.0)
    (tmp_path / 'final_metrics.json').write_text(json.dumps(final))
    readme = README.replace('| 47.1 |', '| 75.0 |')
    (tmp_path / 'README.md').write_text(readme)
    assert tool.main(args) == 1
    assert 'model m_tIoU: 81.46 is not 10.0 points above the trivial answer (75.00)' \
        in capsys.readouterr().out
    with pytest.raises(SystemExit):
        tool.main(args + ['--min-gain', 'm_vIoU'])


def test_missing_metric_and_missing_table_are_named(tool, tmp_path, capsys):
    final = _final()
    del final['trivial_answer']['stvg/gt_vIoU']
    assert tool.main(_files(tmp_path, final)) == 1
    assert 'trivial_answer gt_vIoU: README 23.4, not in the json' in capsys.readouterr().out
    with pytest.raises(ValueError, match='no markdown table'):
        tool.parse_toy_table('| a | b |\n| - | - |\n| 1 | 2 |\n', 'X.md')
    with pytest.raises(ValueError, match=r"X.md:7: 'm_tIoU' of 'model' is 'n/a'"):
        tool.parse_toy_table(README.replace('| 78.6 – 81.5 |', '| n/a |'), 'X.md')


def test_the_repository_readme_has_a_parsable_toy_table(tool):
    with open(osp.join(REPO, 'README.md'), encoding='utf-8') as file:
        figures = tool.parse_toy_table(file.read())
    assert {'m_tIoU', 'm_vIoU'} <= set(figures['model'])
