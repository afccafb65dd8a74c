from .multimodal_sequence import IGNORE_INDEX, SequenceLayout, assemble_sequence, pad_sequences
from .text_box_grounding_llm import TextBoxGroundingLLM
from .video_grounding_llm import VideoGroundingLLM

__all__ = ['IGNORE_INDEX', 'SequenceLayout', 'assemble_sequence', 'pad_sequences',
           'TextBoxGroundingLLM', 'VideoGroundingLLM']
