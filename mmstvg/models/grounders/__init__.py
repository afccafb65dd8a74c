from .decoding import answer_lm_loss, greedy_generate
from .multimodal_sequence import (IGNORE_INDEX, SequenceBuilder, SequenceLayout,
                                  assemble_sequence, gather_head_inputs, pad_sequences)
from .prediction_packing import pack_prediction
from .text_box_grounding_llm import TextBoxGroundingLLM
from .text_parts import PROMPT_PIECES_KEY, TextParts, TokenizedPrompt, grounder_text_config
from .video_grounding_llm import VideoGroundingLLM

__all__ = ['IGNORE_INDEX', 'SequenceBuilder', 'SequenceLayout', 'assemble_sequence',
           'gather_head_inputs', 'pad_sequences', 'answer_lm_loss', 'greedy_generate',
           'pack_prediction', 'TextBoxGroundingLLM', 'VideoGroundingLLM', 'TextParts',
           'TokenizedPrompt', 'PROMPT_PIECES_KEY', 'grounder_text_config']
