"""Paths with spaces through ``--cfg-options``.

MMEngine's ``DictAction`` removed every space of a value (and the quotes at
its ends): ``work_dir='/tmp/a b'`` became ``/tmp/ab``. The tools' action keeps
a quoted value as it is and the spaces inside an unquoted one, and reads
MMEngine's list syntax as before.
"""
import argparse
import re
import sys
from pathlib import Path

import pytest

from mmstvg.utils.config_options import ConfigOptionsAction, parse_option_value

from .conftest import REPO_ROOT, call_main


def parse(*options):
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=ConfigOptionsAction)
    return parser.parse_args(['--cfg-options', *options]).cfg_options


def test_a_path_with_spaces_keeps_them_quoted_or_not():
    assert parse("work_dir='/tmp/a b'", 'load_from=/tmp/a b/x.pth',
                 'ann_file="/data/my set/ann, v2.json"') == dict(
        work_dir='/tmp/a b', load_from='/tmp/a b/x.pth',
        ann_file='/data/my set/ann, v2.json')
    assert parse_option_value("['/a b/c', d]") == ['/a b/c', 'd']
    assert parse_option_value("/data/bob's videos") == "/data/bob's videos"


@pytest.mark.parametrize('text, value', [
    ('1', 1), ('1.5', 1.5), ('true', True), ('False', False), ('None', None),
    ('a,b', ['a', 'b']), ('[1, 2]', [1, 2]), ('(1, 2)', (1, 2)), ('(1,)', (1, )),
    ('[]', []), ('a,', ['a']), ('[(1, 2), [a, b], c]', [(1, 2), ['a', 'b'], 'c']),
    ("'5'", '5')])  # a quoted value is a string
def test_mmengines_list_syntax_reads_as_before(text, value):
    assert parse_option_value(text) == value
    assert type(parse_option_value(text)) is type(value)


def test_malformed_options_name_the_option(capsys):
    for bad in ('work_dir', 'x=[1, 2'):
        with pytest.raises(SystemExit):
            parse(bad)
        assert f"--cfg-options '{bad}': " in capsys.readouterr().err


def test_train_writes_to_a_work_dir_with_spaces(toy_training, tmp_path):
    config, plugin_dir = toy_training
    work_dir = tmp_path / 'my runs' / 'toy run'
    call_main('train', [config, '--cfg-options', f"work_dir='{work_dir}'",
                        'train_cfg.max_iters=2'], plugin_dir)
    assert (work_dir / 'iter_2.pth').exists()


def test_every_tool_reads_cfg_options_with_the_spaced_action(monkeypatch):
    tools = Path(REPO_ROOT, 'tools')
    uses_dict_action = sorted(
        str(path.relative_to(REPO_ROOT)) for path in tools.rglob('*.py')
        if re.search(r'action=DictAction\b', path.read_text()))
    assert uses_dict_action == []
    from tools.test import parse_args
    monkeypatch.setattr(sys, 'argv', ['tools/test.py', 'c.py', 'w.pth', '--cfg-options',
                                      'load_from=/tmp/a b/x.pth'])
    assert parse_args().cfg_options == {'load_from': '/tmp/a b/x.pth'}
