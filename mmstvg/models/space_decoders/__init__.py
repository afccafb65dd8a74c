from .base import BaseSpaceDecoder, box_targets
from .box_predictions import pack_boxes
from .head_structures import FrameOutputs, HeadInputs
from .mlp_box_head import MLPBoxHead

__all__ = ['BaseSpaceDecoder', 'box_targets', 'pack_boxes', 'FrameOutputs', 'HeadInputs',
           'MLPBoxHead']
