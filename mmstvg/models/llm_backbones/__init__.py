from .hf_causal_lm import HFCausalLM, resolve_dtype
from .toy_tokenizer import TOY_CHAT_TEMPLATE, build_toy_tokenizer, toy_vocabulary

__all__ = ['HFCausalLM', 'resolve_dtype', 'TOY_CHAT_TEMPLATE', 'build_toy_tokenizer',
           'toy_vocabulary']
