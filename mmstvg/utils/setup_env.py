"""Registering mmstvg's modules and making it the default scope."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every module of mmstvg so that its registries are filled.

    Configs usually need none of this (registries import their ``locations``
    lazily); scripts and notebooks that build components by hand call it once.

    Args:
        init_default_scope: make ``'mmstvg'`` the current default scope, so
            that ``type`` strings are looked up in mmstvg's registries first.
    """
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
