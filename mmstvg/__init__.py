"""mmstvg: spatio-temporal video grounding with multimodal LLMs, on OpenMMLab."""
from .utils.checkpoint_compat import patch_mmengine_checkpoint_loading
from .version import __version__

# mmengine 0.10.7 cannot load its own checkpoints under torch >= 2.6; see
# mmstvg/utils/checkpoint_compat.py for when this can go.
patch_mmengine_checkpoint_loading()

__all__ = ['__version__']
