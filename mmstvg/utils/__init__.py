# First, before anything imports mmengine.runner (and with it DeepSpeed, whose
# accelerator warning fires at import): drop third-party messages that tell the
# user nothing (see log_filters.py).
from .log_filters import filter_uninformative_messages

filter_uninformative_messages()

from .checkpoint_compat import patch_mmengine_checkpoint_loading  # noqa: E402
from .setup_env import register_all_modules  # noqa: E402

__all__ = [
    'filter_uninformative_messages', 'patch_mmengine_checkpoint_loading',
    'register_all_modules'
]
