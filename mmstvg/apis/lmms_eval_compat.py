"""lmms-eval 0.7.3's evaluator beside filelock 4.x (the version mmstvg's lock pins).

lmms-eval 0.7.3's ``simple_evaluate`` patches filelock's lock metaclass
through the module ``filelock._api`` (``_enable_reentrant_filelocks``), which
filelock 4.0 split into ``filelock._core``: every evaluation then fails with
``No module named 'filelock._api'``. :func:`provide_filelock_api` registers a
``filelock._api`` module that names filelock 4's own classes
(``FileLockMeta``, ``BaseFileLock``) and its unset-mode marker, so lmms-eval's
patch applies to filelock 4 as it did to filelock 3.

It runs when lmms-eval loads mmstvg's model entry point
(:func:`mmstvg.apis.lmms_eval_model.lmms_eval_manifest`), which lmms-eval does
on importing ``lmms_eval.models``, before any evaluation: so every
``python -m lmms_eval`` run in an environment with mmstvg installed gets it,
whatever the model. With filelock 3 (which has ``_api``) it changes nothing.
"""
import importlib
import sys
import types

__all__ = ['provide_filelock_api']


def provide_filelock_api() -> bool:
    """Register ``filelock._api`` for lmms-eval when filelock has none.

    Returns:
        True when the module was registered now, False when filelock has its
        own ``_api`` (filelock 3) or it was registered before.
    """
    import filelock
    if 'filelock._api' in sys.modules:
        return False
    try:
        importlib.import_module('filelock._api')
        return False
    except ImportError:
        pass
    from filelock._core._lock import BaseFileLock
    from filelock._core._settings import UNSET_FILE_MODE
    from filelock._core._singleton import FileLockMeta
    api = types.ModuleType('filelock._api', doc='filelock 4 under filelock 3\'s module name '
                           '(registered by mmstvg.apis.lmms_eval_compat for lmms-eval 0.7.3)')
    api.FileLockMeta = FileLockMeta
    api.BaseFileLock = BaseFileLock
    api._UNSET_FILE_MODE = UNSET_FILE_MODE
    sys.modules['filelock._api'] = api
    filelock._api = api
    return True
