from .feature_pooler import LlavaFeaturePooler, pool_token_grid
from .hf_vision_encoder import HFVisionEncoder, pool_frame_tokens

__all__ = ['HFVisionEncoder', 'pool_frame_tokens', 'LlavaFeaturePooler', 'pool_token_grid']
