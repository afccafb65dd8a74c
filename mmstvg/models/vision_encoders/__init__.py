from .hf_vision_encoder import HFVisionEncoder, pool_frame_tokens

__all__ = ['HFVisionEncoder', 'pool_frame_tokens']
