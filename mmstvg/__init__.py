"""mmstvg: spatio-temporal video grounding with multimodal LLMs, on OpenMMLab."""
from .utils.atomic_io import patch_mmengine_local_writes
from .utils.checkpoint_compat import patch_mmengine_checkpoint_loading
from .version import __version__

# Checkpoints load without unpickling code (mmstvg/utils/checkpoint_compat.py)
# and MMEngine's local writes (checkpoints, dumps) are atomic
# (mmstvg/utils/atomic_io.py).
patch_mmengine_checkpoint_loading()
patch_mmengine_local_writes()

__all__ = ['__version__']
