"""Configs used from another working directory: repository-relative paths (ours).

The configs name their inputs relative to the repository root
(``'data/pretrained/toy/vision'``, ``'data/synthetic_stvg/'``) and import
their plugins as ``projects.spacevllm.spacevllm``; run from the root, both
resolve. From a script elsewhere (the inferencer, the demo or a tool started
in another directory) the import failed and a missing local path reached
Hugging Face as a hub repo id. :func:`load_config` loads a config the way
the tools and :class:`~mmstvg.apis.GroundingInferencer` do:

- a config file that does not exist from the working directory but does
  under the repository root is read from there;
- the repository root goes on ``sys.path`` when ``custom_imports`` names a
  package (``projects``) that is only found there;
- :func:`reroot_missing_paths`: a relative path in the config (a string with
  a ``/``) that does not exist from the working directory but does under the
  repository root becomes that absolute path. Paths that exist from the
  working directory, absolute ones and outputs (``work_dir``, ``out_dir``...)
  are left as they are. Each change is logged.

Nothing is re-rooted when mmstvg does not run from a checkout (no
``configs/`` and ``projects/`` next to the package).
"""
import importlib.util
import os
import os.path as osp
import sys
from typing import Any, List, Optional, Tuple

from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.utils import import_modules_from_strings

__all__ = ['repository_root', 'resolve_config_file', 'import_config_modules',
           'reroot_missing_paths', 'load_config']

#: The checkout this package belongs to (``mmstvg/utils/`` -> the root).
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

#: Keys whose paths are outputs: relative to the working directory, always.
OUTPUT_KEYS = ('work_dir', 'out_dir', 'output_dir', 'save_dir', 'out_file',
               'outfile_prefix')


def repository_root() -> Optional[str]:
    """The repository root when mmstvg runs from a checkout, else None."""
    if osp.isdir(osp.join(REPO_ROOT, 'configs')) and osp.isdir(osp.join(REPO_ROOT, 'projects')):
        return REPO_ROOT
    return None


def _log(message: str) -> None:
    print_log(message, logger='current')


def _re_rooted(path: str, root: Optional[str]) -> Optional[str]:
    """``root/path`` when ``path`` is missing from the working directory only."""
    if root is None or osp.isabs(path) or '://' in path or path.startswith('~') \
            or osp.exists(path):
        return None
    candidate = osp.normpath(osp.join(root, path))
    return candidate if osp.exists(candidate) else None


def resolve_config_file(path: str) -> str:
    """The config file as given, or under the repository root when it does not
    exist from the working directory (said).

    Args:
        path: a config path as the user gave it.

    Returns:
        The path to read.

    Raises:
        FileNotFoundError: the file exists in neither place; it names both.
    """
    if osp.isfile(path):
        return path
    root = repository_root()
    candidate = _re_rooted(path, root)
    if candidate is not None and osp.isfile(candidate):
        _log(f'config {path}: not found from the working directory {os.getcwd()}; '
             f'reading {candidate} (the repository root\'s).')
        return candidate
    where = f'the working directory {os.getcwd()}'
    if root is not None and not osp.isabs(path):
        where += f' nor under the repository root {root}'
    raise FileNotFoundError(f'config {path}: no such file from {where}. Give its path '
                            'from the working directory, or an absolute one.')


def import_config_modules(cfg: Config) -> None:
    """Import the config's ``custom_imports``, the repository root on
    ``sys.path`` (appended, and said) when a package they name is found only
    there.

    Args:
        cfg: a config loaded without importing its modules.

    Raises:
        ImportError: naming the config, the module and what to do.
    """
    custom = cfg.get('custom_imports', None)
    if not custom:
        return
    names = custom.get('imports', [])
    names = [names] if isinstance(names, str) else list(names)
    root = repository_root()
    if root is not None and root not in sys.path:
        packages = sorted({name.split('.')[0] for name in names})
        only_there = [p for p in packages if importlib.util.find_spec(p) is None
                      and osp.exists(osp.join(root, p))]
        if only_there:
            sys.path.append(root)
            _log(f'custom_imports {names}: {", ".join(only_there)} is found only under '
                 f'the repository root {root}, which goes on sys.path.')
    try:
        import_modules_from_strings(**custom)
    except ImportError as error:
        raise ImportError(
            f'{cfg.filename or "the config"}: custom_imports {names} cannot be imported '
            f'({error}). Put the directory that holds the package on PYTHONPATH (for '
            f'`projects.*`: the repository root).') from error


def _reroot(value: Any, key: str, root: str, changed: List[Tuple[str, str, str]]) -> Any:
    if isinstance(value, dict):
        for name in list(value.keys()):
            if name not in OUTPUT_KEYS:
                value[name] = _reroot(value[name], f'{key}.{name}', root, changed)
        return value
    if isinstance(value, (list, tuple)):
        items = [_reroot(item, f'{key}[{index}]', root, changed)
                 for index, item in enumerate(value)]
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, str) and '/' in value:
        candidate = _re_rooted(value, root)
        if candidate is not None:
            candidate += '/' if value.endswith('/') else ''
            changed.append((key, value, candidate))
            return candidate
    return value


def reroot_missing_paths(cfg: Config) -> List[Tuple[str, str, str]]:
    """Re-root the config's relative paths that exist under the repository root
    only (in place; each change is logged).

    Args:
        cfg: the config; changed in place.

    Returns:
        ``[(key, old, new), ...]``: what was changed.
    """
    root = repository_root()
    changed: List[Tuple[str, str, str]] = []
    if root is None:
        return changed
    for name in list(cfg.keys()):
        if name not in OUTPUT_KEYS:
            cfg[name] = _reroot(cfg[name], name, root, changed)
    keys_of = {}
    for key, old, new in changed:
        keys_of.setdefault((old, new), []).append(key)
    for (old, new), keys in keys_of.items():
        _log(f'{old!r} ({", ".join(keys)}) does not exist from the working directory '
             f'{os.getcwd()}; using {new!r}, under the repository root.')
    return changed


def load_config(path: str) -> Config:
    """Load a config from any working directory (see the module docstring).

    Args:
        path: the config file (from the working directory, or the
            repository root).

    Returns:
        The config, its ``custom_imports`` imported and its repository-relative
        inputs re-rooted where the working directory lacks them.
    """
    cfg = Config.fromfile(resolve_config_file(path), import_custom_modules=False)
    import_config_modules(cfg)
    reroot_missing_paths(cfg)
    return cfg
