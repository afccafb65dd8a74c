"""Registering mmstvg's modules and making it the default scope.

mmstvg.utils is the lowest layer: it imports none of mmstvg's other packages
at module level. :func:`register_all_modules` imports them inside its body, as
mmdet's ``register_all_modules`` does, so there is no import cycle.
"""
import datetime
import warnings

from mmengine import DefaultScope

from .runtime_patches import apply_runtime_patches


def register_all_modules(init_default_scope: bool = True) -> None:
    """Apply mmstvg's runtime patches and import every module of mmstvg.

    First :func:`~.runtime_patches.apply_runtime_patches` (safe checkpoint
    loading, atomic local writes, the third-party message filters; before the
    imports below, which import DeepSpeed), then the packages whose modules
    fill the registries. Configs usually need no registering (registries
    import their ``locations`` lazily); scripts and notebooks that build
    components or load checkpoints by hand call this once. Idempotent.

    Args:
        init_default_scope: make ``'mmstvg'`` the current default scope, so
            that ``type`` strings are looked up in mmstvg's registries first.
    """
    apply_runtime_patches()
    import mmstvg.datasets  # noqa: F401
    import mmstvg.engine  # noqa: F401
    import mmstvg.evaluation  # noqa: F401
    import mmstvg.models  # noqa: F401
    import mmstvg.visualization  # noqa: F401

    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None:
        DefaultScope.get_instance('mmstvg', scope_name='mmstvg')
    elif current.scope_name != 'mmstvg':
        warnings.warn(f'The current default scope "{current.scope_name}" is not '
                      '"mmstvg"; a new one is created as the current scope.')
        name = f'mmstvg-{datetime.datetime.now()}'
        DefaultScope.get_instance(name, scope_name='mmstvg')
