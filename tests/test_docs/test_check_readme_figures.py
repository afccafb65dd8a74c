"""tools/misc/check_readme_figures.py on a fake README snippet and final_metrics.json."""
import importlib.util
import json
import os.path as osp

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'misc', 'check_readme_figures.py')

README = """# x

Measured here:

| metric (val, 60 videos, TubeDETR protocol) | toy SpaceVLLM | trivial answer |
| --- | --- | --- |
| m_tIoU | 81.5 | 47.1 |
| m_vIoU | 59.8 | 10.8 |
| gt_vIoU (boxes scored on the true span) | 67.4 | 23.4 |

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
                       'stvg/num_samples': 60.0},
                trivial_answer={'stvg/m_tIoU': trivial_tiou, 'stvg/m_vIoU': 10.78,
                                'stvg/gt_vIoU': 23.41})


def _files(tmp_path, final):
    (tmp_path / 'README.md').write_text(README)
    (tmp_path / 'final_metrics.json').write_text(json.dumps(final))
    return ['--readme', str(tmp_path / 'README.md'), '--metrics',
            str(tmp_path / 'final_metrics.json')]


def test_parse_reads_both_columns_by_metric_name(tool):
    figures = tool.parse_toy_table(README)
    assert figures == {'model': {'m_tIoU': 81.5, 'm_vIoU': 59.8, 'gt_vIoU': 67.4},
                       'trivial_answer': {'m_tIoU': 47.1, 'm_vIoU': 10.8, 'gt_vIoU': 23.4}}


def test_agreeing_figures_pass(tool, tmp_path, capsys):
    assert tool.main(_files(tmp_path, _final())) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last == dict(ok=True, checked=6, problems=[], tolerance=0.1)


def test_a_figure_off_by_more_than_the_tolerance_fails(tool, tmp_path, capsys):
    # 58.19 vs the stated 59.8: the stale-README case of issue 17
    assert tool.main(_files(tmp_path, _final(m_viou=58.19))) == 1
    out = capsys.readouterr().out
    assert 'model m_vIoU: README 59.8, measured 58.19 (|diff| 1.61 > 0.1)' in out
    # the same json passes with a stated tolerance that covers it
    assert tool.main(_files(tmp_path, _final(m_viou=58.19)) + ['--tolerance', '2']) == 0
    # the edge: 0.1 away agrees, 0.11 does not
    assert tool.main(_files(tmp_path, _final(trivial_tiou=47.2))) == 0
    assert tool.main(_files(tmp_path, _final(trivial_tiou=47.21))) == 1


def test_missing_metric_and_missing_table_are_named(tool, tmp_path, capsys):
    final = _final()
    del final['trivial_answer']['stvg/gt_vIoU']
    assert tool.main(_files(tmp_path, final)) == 1
    assert 'trivial_answer gt_vIoU: README 23.4, not in the json' in capsys.readouterr().out
    with pytest.raises(ValueError, match='no markdown table'):
        tool.parse_toy_table('| a | b |\n| - | - |\n| 1 | 2 |\n', 'X.md')
    with pytest.raises(ValueError, match=r"X.md:7: 'm_tIoU' of 'model' is 'n/a'"):
        tool.parse_toy_table(README.replace('| 81.5 |', '| n/a |'), 'X.md')


def test_the_repository_readme_has_a_parsable_toy_table(tool):
    with open(osp.join(REPO, 'README.md'), encoding='utf-8') as file:
        figures = tool.parse_toy_table(file.read())
    assert {'m_tIoU', 'm_vIoU'} <= set(figures['model'])
