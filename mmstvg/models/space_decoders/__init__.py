from .base import BaseSpaceDecoder
from .mlp_box_head import MLPBoxHead

__all__ = ['BaseSpaceDecoder', 'MLPBoxHead']
