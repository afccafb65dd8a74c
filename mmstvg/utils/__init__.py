"""Helpers every other part of mmstvg may use; it imports none of them.

Importing this package (or mmstvg) changes nothing outside it: MMEngine's
checkpoint loading and file writes and third-party logging are patched by
:func:`apply_runtime_patches`, which :func:`register_all_modules`, the runner
builder and every tool call (``mmstvg/utils/runtime_patches.py``).
"""
from .atomic_io import atomic_write, check_writable, patch_mmengine_local_writes
from .checkpoint_compat import (CorruptCheckpointError, UnsafeCheckpointError,
                                allow_unsafe_checkpoint_loading, load_local_checkpoint,
                                patch_mmengine_checkpoint_loading,
                                unsafe_checkpoint_loading)
from .checkpoint_keys import (CheckpointMismatchError, check_checkpoint_fits_model,
                              check_checkpoint_loads_something, load_fitting_checkpoint)
from .file_names import safe_file_stem
from .log_filters import filter_uninformative_messages
from .runtime_patches import apply_runtime_patches, runtime_patches_applied
from .setup_env import register_all_modules

__all__ = [
    'filter_uninformative_messages', 'atomic_write', 'check_writable',
    'patch_mmengine_local_writes', 'CorruptCheckpointError', 'UnsafeCheckpointError',
    'allow_unsafe_checkpoint_loading', 'load_local_checkpoint',
    'patch_mmengine_checkpoint_loading', 'unsafe_checkpoint_loading',
    'CheckpointMismatchError', 'check_checkpoint_fits_model',
    'check_checkpoint_loads_something', 'load_fitting_checkpoint', 'safe_file_stem',
    'apply_runtime_patches', 'runtime_patches_applied', 'register_all_modules'
]
