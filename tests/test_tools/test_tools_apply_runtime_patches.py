"""Every script that uses mmstvg applies its runtime patches itself.

Importing mmstvg patches nothing (mmstvg/utils/runtime_patches.py), so a
script under ``tools/`` or ``demo/`` calls ``apply_runtime_patches()``: at
module level before its module-level mmstvg imports (which may import
``mmengine.runner`` and DeepSpeed, whose accelerator warning the message filter
drops), or, where it imports mmstvg only inside a function, before that import.
"""
import ast
import os
import os.path as osp
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

REPO = Path(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CALL = 'apply_runtime_patches'


def _scripts() -> List[Path]:
    return sorted(p for folder in ('tools', 'demo') for p in (REPO / folder).rglob('*.py'))


def _imports_mmstvg(node: ast.AST) -> bool:
    if isinstance(node, ast.Import):
        return any(a.name.split('.')[0] == 'mmstvg' for a in node.names)
    if isinstance(node, ast.ImportFrom):
        return node.level == 0 and (node.module or '').split('.')[0] == 'mmstvg'
    return False


def _is_call(node: ast.AST) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            and getattr(node.value.func, 'id', getattr(node.value.func, 'attr', None)) == CALL)


def _uses_mmstvg(tree: ast.Module) -> bool:
    return any(_imports_mmstvg(node) for node in ast.walk(tree))


def test_the_check_sees_the_scripts():
    names = {p.relative_to(REPO).as_posix() for p in _scripts()}
    assert {'tools/train.py', 'tools/test.py', 'demo/video_demo.py'} <= names


@pytest.mark.parametrize('script', _scripts(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_script_applies_the_patches_before_using_mmstvg(script):
    tree = ast.parse(script.read_text(encoding='utf-8'))
    if not _uses_mmstvg(tree):
        return
    calls = [node for node in ast.walk(tree) if _is_call(node)]
    assert calls, f'{script.name} imports mmstvg but never calls {CALL}()'
    module_imports = [n for n in tree.body if _imports_mmstvg(n)
                      and not (isinstance(n, ast.ImportFrom)
                               and n.module == 'mmstvg.utils.runtime_patches')]
    if module_imports:
        module_calls = [n for n in tree.body if _is_call(n)]
        assert module_calls, f'{script.name}: call {CALL}() at module level'
        first = module_imports[0]
        assert module_calls[0].lineno < first.lineno, (
            f'{script.name}: call {CALL}() before line {first.lineno} '
            f'({ast.unparse(first)})')


def test_train_help_prints_no_deepspeed_accelerator_warning():
    pytest.importorskip('deepspeed')
    env = dict(os.environ)
    env.pop('MMSTVG_SHOW_ALL_WARNINGS', None)
    proc = subprocess.run([sys.executable, str(REPO / 'tools' / 'train.py'), '--help'],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'usage: train.py' in proc.stdout
    assert 'Setting accelerator to CPU' not in proc.stdout + proc.stderr
