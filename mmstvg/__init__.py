"""mmstvg: spatio-temporal video grounding with multimodal LLMs, on OpenMMLab.

Importing mmstvg changes nothing in MMEngine: safe checkpoint loading
(mmstvg/utils/checkpoint_compat.py), atomic local writes
(mmstvg/utils/atomic_io.py) and the third-party message filters
(mmstvg/utils/log_filters.py) are installed by
``mmstvg.utils.apply_runtime_patches()``, which ``register_all_modules()``, the
runner builder and the tools call.
"""
from .version import __version__

__all__ = ['__version__']
