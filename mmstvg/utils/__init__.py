# First, before anything imports mmengine.runner (and with it DeepSpeed, whose
# accelerator warning fires at import): drop third-party messages that tell the
# user nothing (see log_filters.py).
from .log_filters import filter_uninformative_messages

filter_uninformative_messages()

from .atomic_io import atomic_write, check_writable, patch_mmengine_local_writes  # noqa: E402
from .checkpoint_compat import (CorruptCheckpointError, UnsafeCheckpointError,  # noqa: E402
                                allow_unsafe_checkpoint_loading, load_local_checkpoint,
                                patch_mmengine_checkpoint_loading,
                                unsafe_checkpoint_loading)
from .checkpoint_keys import CheckpointMismatchError, check_checkpoint_fits_model  # noqa: E402
from .file_names import safe_file_stem  # noqa: E402
from .setup_env import register_all_modules  # noqa: E402

__all__ = [
    'filter_uninformative_messages', 'atomic_write', 'check_writable',
    'patch_mmengine_local_writes', 'CorruptCheckpointError', 'UnsafeCheckpointError',
    'allow_unsafe_checkpoint_loading', 'load_local_checkpoint',
    'patch_mmengine_checkpoint_loading', 'unsafe_checkpoint_loading',
    'CheckpointMismatchError', 'check_checkpoint_fits_model', 'safe_file_stem',
    'register_all_modules'
]
