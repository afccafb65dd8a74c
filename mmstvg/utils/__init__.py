from .atomic_io import atomic_write, check_writable, patch_mmengine_local_writes
from .checkpoint_compat import (CorruptCheckpointError, UnsafeCheckpointError,
                                allow_unsafe_checkpoint_loading, load_local_checkpoint,
                                patch_mmengine_checkpoint_loading,
                                unsafe_checkpoint_loading)
from .checkpoint_keys import CheckpointMismatchError, check_checkpoint_fits_model
from .setup_env import register_all_modules

__all__ = [
    'atomic_write', 'check_writable', 'patch_mmengine_local_writes',
    'CorruptCheckpointError', 'UnsafeCheckpointError', 'allow_unsafe_checkpoint_loading',
    'load_local_checkpoint', 'patch_mmengine_checkpoint_loading',
    'unsafe_checkpoint_loading', 'CheckpointMismatchError', 'check_checkpoint_fits_model',
    'register_all_modules'
]
