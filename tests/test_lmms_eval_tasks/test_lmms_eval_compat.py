"""lmms-eval 0.7.3's evaluator beside the locked filelock 4 (mmstvg/apis/lmms_eval_compat.py)."""
import importlib
import sys

import filelock
import pytest

from mmstvg.apis.lmms_eval_compat import provide_filelock_api

pytest.importorskip('lmms_eval')


def test_filelock_api_is_provided_and_lmms_eval_patch_runs(tmp_path, monkeypatch):
    if int(filelock.__version__.split('.')[0]) < 4:
        pytest.skip('filelock 3 has its own _api')
    monkeypatch.delitem(sys.modules, 'filelock._api', raising=False)
    monkeypatch.delattr(filelock, '_api', raising=False)
    with pytest.raises(ImportError):
        importlib.import_module('filelock._api')
    assert provide_filelock_api() is True
    assert provide_filelock_api() is False  # once
    from filelock._core._singleton import FileLockMeta
    import filelock._api as api
    assert api.FileLockMeta is FileLockMeta
    from lmms_eval import evaluator
    monkeypatch.setattr(FileLockMeta, '__call__', FileLockMeta.__call__)  # undone after
    monkeypatch.setattr(evaluator._enable_reentrant_filelocks, '_patched', False,
                        raising=False)
    evaluator._enable_reentrant_filelocks()  # 'No module named filelock._api' without it
    first = filelock.FileLock(str(tmp_path / 'x.lock'))
    assert filelock.FileLock(str(tmp_path / 'x.lock')) is first  # lmms-eval's singletons
    with first:
        assert first.is_locked


def test_loading_the_model_entry_point_provides_it():
    from lmms_eval.models import get_model  # loads mmstvg's entry point
    get_model('mmstvg')
    assert 'filelock._api' in sys.modules
