"""Grounding transforms: decord loading, frame sampling, targets, geometry, packing."""
from .formatting import PackGroundingInputs
from .grounding_targets import LoadGroundingAnnotations, tube_boxes_at
from .loading import (FPSSampleFrames, GroundingDecordDecode,
                      GroundingDecordInit, ImageAsVideo, UniformSampleFrames)
from .processing import (GroundingPad, GroundingRandomFlip, GroundingResize,
                         swap_left_right)
from .prompt_tokenization import (TokenizeGroundingPrompt, fill_prompt_tokenization,
                                  with_prompt_tokenization)
from .question_template import ChooseQuestionTemplate
from .qwen_vl_resize import QwenVLSmartResize

__all__ = [
    'GroundingDecordInit', 'UniformSampleFrames', 'FPSSampleFrames',
    'GroundingDecordDecode', 'ImageAsVideo', 'LoadGroundingAnnotations',
    'tube_boxes_at', 'GroundingResize', 'GroundingPad', 'GroundingRandomFlip',
    'swap_left_right', 'PackGroundingInputs', 'QwenVLSmartResize',
    'TokenizeGroundingPrompt', 'fill_prompt_tokenization',
    'with_prompt_tokenization', 'ChooseQuestionTemplate'
]
