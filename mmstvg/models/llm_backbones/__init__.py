from .hf_causal_lm import HFCausalLM, resolve_dtype
from .toy_tokenizer import TOY_CHAT_TEMPLATE, build_toy_tokenizer, toy_vocabulary
from .qwen_vl_causal_lm import QwenVLCausalLM
from .qwen3_vl_causal_lm import Qwen3VLCausalLM

__all__ = ['QwenVLCausalLM', 'Qwen3VLCausalLM', 'HFCausalLM', 'resolve_dtype', 'TOY_CHAT_TEMPLATE', 'build_toy_tokenizer',
           'toy_vocabulary']
