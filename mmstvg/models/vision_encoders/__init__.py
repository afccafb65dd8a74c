from .feature_pooler import LlavaFeaturePooler, pool_token_grid
from .hf_vision_encoder import HFVisionEncoder, pool_frame_tokens
from .qwen_vl_vision_encoder import QwenVLVisionEncoder

__all__ = ['QwenVLVisionEncoder', 'HFVisionEncoder', 'pool_frame_tokens', 'LlavaFeaturePooler', 'pool_token_grid']
