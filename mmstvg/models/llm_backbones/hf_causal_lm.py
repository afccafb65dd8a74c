"""The LLM backbone: a wrapper around transformers' ``AutoModelForCausalLM``."""
import contextlib
import importlib.util
from typing import List, Optional, Sequence, Set, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import BaseModule

from mmstvg.registry import LLM_BACKBONES

__all__ = ['HFCausalLM', 'resolve_dtype', 'master_weight_dtype', 'load_tokenizer']

_DTYPES = dict(float32=torch.float32, fp32=torch.float32, float16=torch.float16,
               fp16=torch.float16, bfloat16=torch.bfloat16, bf16=torch.bfloat16)


def resolve_dtype(dtype: Union[str, torch.dtype, None]) -> Optional[torch.dtype]:
    """``'bf16'`` / ``'bfloat16'`` / ``torch.bfloat16`` ... -> a torch dtype."""
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    if dtype not in _DTYPES:
        raise ValueError(f'unknown dtype {dtype!r}; use one of {sorted(_DTYPES)}')
    return _DTYPES[dtype]


def master_weight_dtype(compute_dtype: Optional[torch.dtype],
                        param_dtype: Optional[torch.dtype],
                        trainable: bool) -> Optional[torch.dtype]:
    """The dtype weights are stored in, given the dtype they compute in.

    Weights that train keep fp32 master copies whatever the compute dtype:
    one AdamW step at 2e-5 on bf16 weights rounds most updates away (a bf16
    weight of magnitude 0.02 moves only by steps of ~8e-5). Frozen weights
    need no master copy and are stored in the compute dtype.

    Args:
        compute_dtype: the dtype the model computes in (None: as stored).
        param_dtype: an explicit storage dtype; wins when given.
        trainable: whether any weight of the model trains.

    Returns:
        The storage dtype (None: leave the checkpoint's / config's dtype).
    """
    if param_dtype is not None:
        return param_dtype
    if compute_dtype is None:
        return None
    return torch.float32 if trainable else compute_dtype


def check_attn_implementation(attn_implementation: str) -> str:
    """Validate the attention implementation; flash attention must be installed."""
    known = ('sdpa', 'eager', 'flash_attention_2', 'flex_attention')
    if attn_implementation not in known:
        raise ValueError(f'attn_implementation must be one of {known}, got '
                         f'{attn_implementation!r}')
    if (attn_implementation == 'flash_attention_2'
            and importlib.util.find_spec('flash_attn') is None):
        raise ImportError(
            "attn_implementation='flash_attention_2' needs the flash-attn package "
            '(pip install flash-attn --no-build-isolation, on a CUDA machine); '
            "use attn_implementation='sdpa' otherwise")
    return attn_implementation


def load_tokenizer(path: str, special_tokens: Sequence[str] = ()):
    """The LLM part's tokenizer: ``AutoTokenizer`` from ``path``, ``special_tokens``
    added (the ones it lacks) and EOS as the pad token when it has none.

    :class:`HFCausalLM` loads its tokenizer here, and so does the data
    pipeline's ``TokenizeGroundingPrompt``, so both give the same ids.
    """
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.eos_token is None:
        raise ValueError('the tokenizer has no eos_token; set one in its '
                         'tokenizer_config.json')
    missing = [tok for tok in special_tokens if tok not in tokenizer.get_vocab()]
    if missing:
        tokenizer.add_special_tokens(
            dict(additional_special_tokens=list(missing)),
            replace_extra_special_tokens=False)
    if tokenizer.pad_token is None:
        # Llama-style tokenizers have none; padded positions are masked anyway.
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


@LLM_BACKBONES.register_module()
class HFCausalLM(BaseModule):
    """A causal LM and its tokenizer, from a pretrained checkpoint or a config.

    The grounder talks to the LLM through embeddings: :meth:`embed_tokens`
    turns ids into input embeddings, :meth:`forward` runs the transformer on
    ``inputs_embeds`` and returns the last layer's hidden states (after the
    final norm, i.e. what the LM head reads) and the KV cache, and
    :meth:`logits` applies the LM head to chosen hidden states only, so the
    language loss never materialises logits over the whole video.

    Args:
        pretrained_model_name_or_path: hub name or local directory for
            ``AutoModelForCausalLM.from_pretrained``.
        llm_config: alternatively a config dict, e.g.
            ``dict(model_type='qwen2', hidden_size=64, num_hidden_layers=2, ...)``,
            built with ``AutoConfig.for_model`` + ``from_config`` (random
            weights; for tests, or before loading a LLaVA-OneVision checkpoint).
        tokenizer: hub name or directory for ``AutoTokenizer.from_pretrained``;
            defaults to ``pretrained_model_name_or_path``.
        dtype: compute dtype (``'bf16'``, ``'fp16'``, ``'fp32'``). The
            transformer and the LM head run under ``torch.autocast`` in it
            when the weights are stored wider (see ``param_dtype``).
        param_dtype: storage dtype of the weights. Default: fp32 master
            weights when the LLM trains (``freeze=False``), ``dtype`` when it
            is frozen (LoRA adapters then stay fp32, as peft makes them).
        attn_implementation: ``'sdpa'`` (default), ``'eager'`` or
            ``'flash_attention_2'`` (needs the flash-attn package).
        gradient_checkpointing: recompute activations in the backward pass.
        special_tokens: extra special tokens to add to the tokenizer; the
            embedding matrix is resized when the vocabulary grows.
        use_chat_template: whether prompts go through the tokenizer's chat
            template when it has one (read by the grounder).
        freeze: freeze all LLM weights (LoRA adapters, if any, stay trainable).
        lora: a ``peft.LoraConfig`` keyword dict, e.g.
            ``dict(r=8, lora_alpha=16, target_modules=['q_proj', 'v_proj'])``;
            needs ``pip install peft``.
        init_cfg: MMEngine init config (the HF weights are not re-initialised).
    """

    #: the transformers auto class that loads the checkpoint (a subclass for
    #: a multimodal checkpoint names ``'AutoModelForImageTextToText'``)
    auto_model_class = 'AutoModelForCausalLM'

    def __init__(self,
                 pretrained_model_name_or_path: Optional[str] = None,
                 llm_config: Optional[dict] = None,
                 tokenizer: Optional[str] = None,
                 dtype: Union[str, torch.dtype, None] = None,
                 param_dtype: Union[str, torch.dtype, None] = None,
                 attn_implementation: str = 'sdpa',
                 gradient_checkpointing: bool = False,
                 special_tokens: Sequence[str] = (),
                 use_chat_template: bool = True,
                 freeze: bool = False,
                 lora: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        import transformers
        from transformers import AutoConfig
        auto_model = getattr(transformers, self.auto_model_class)
        if (pretrained_model_name_or_path is None) == (llm_config is None):
            raise ValueError('HFCausalLM needs exactly one of '
                             'pretrained_model_name_or_path and llm_config')
        attn_implementation = check_attn_implementation(attn_implementation)
        self.compute_dtype = resolve_dtype(dtype)
        torch_dtype = master_weight_dtype(self.compute_dtype, resolve_dtype(param_dtype),
                                          trainable=not freeze)
        if pretrained_model_name_or_path is not None:
            kwargs = dict(attn_implementation=attn_implementation)
            if torch_dtype is not None:
                kwargs['dtype'] = torch_dtype
            self.model = auto_model.from_pretrained(
                pretrained_model_name_or_path, **kwargs)
        else:
            cfg = dict(llm_config)
            if 'model_type' not in cfg:
                raise ValueError("llm_config needs a 'model_type', e.g. 'qwen2'")
            config = AutoConfig.for_model(cfg.pop('model_type'), **cfg)
            self.model = auto_model.from_config(
                config, attn_implementation=attn_implementation)
            if torch_dtype is not None:
                self.model.to(torch_dtype)
        tokenizer_path = tokenizer or pretrained_model_name_or_path
        if tokenizer_path is None:
            raise ValueError('HFCausalLM built from llm_config needs `tokenizer` '
                             '(a hub name or a directory)')
        self.tokenizer = load_tokenizer(tokenizer_path, special_tokens)
        self.use_chat_template = use_chat_template
        self._resize_embeddings()
        if gradient_checkpointing:
            kwargs = dict(use_reentrant=False)
            if hasattr(self.model, 'activation_checkpointing_enable'):  # transformers>=5
                self.model.activation_checkpointing_enable(kwargs)
            else:
                self.model.gradient_checkpointing_enable(
                    gradient_checkpointing_kwargs=kwargs)
            self.model.config.use_cache = False
        if freeze:
            self.model.requires_grad_(False)
        if lora is not None:
            self.apply_lora(lora)

    # ------------------------------------------------------------ set-up
    def _resize_embeddings(self) -> None:
        """Resize the embeddings when the tokenizer's added tokens grew the vocabulary."""
        tokenizer = self.tokenizer
        num_embeddings = self.model.get_input_embeddings().num_embeddings
        if len(tokenizer) > num_embeddings:
            print_log(f'resizing LLM embeddings {num_embeddings} -> {len(tokenizer)} '
                      f'for added tokens', logger='current')
            self.model.resize_token_embeddings(len(tokenizer))

    def apply_lora(self, lora: dict) -> None:
        """Wrap the LLM in peft LoRA adapters (``lora``: ``LoraConfig`` keywords).

        Called at build time, or by the grounder after pretrained LLaVA
        weights are loaded (so they load into the plain model's keys).
        """
        if hasattr(self.model, 'peft_config'):
            raise RuntimeError('LoRA is already applied')
        if importlib.util.find_spec('peft') is None:
            raise ImportError('LoRA needs the peft package: pip install peft '
                              '(or pip install mmstvg[optional])')
        from peft import LoraConfig, get_peft_model
        lora = dict(lora)
        lora.setdefault('task_type', 'CAUSAL_LM')
        self.model = get_peft_model(self.model, LoraConfig(**lora))

    def init_weights(self) -> None:
        """Keep the pretrained (or config-initialised) Hugging Face weights."""
        self._is_init = True

    # ------------------------------------------------------------ access
    @property
    def hf_model(self) -> nn.Module:
        """The underlying ``PreTrainedModel`` (under a peft wrapper, if any)."""
        model = self.model
        if hasattr(model, 'get_base_model'):
            model = model.get_base_model()
        return model

    @property
    def decoder(self) -> nn.Module:
        """The transformer without the LM head (e.g. ``Qwen2Model``)."""
        return self.hf_model.get_decoder()

    @property
    def hidden_size(self) -> int:
        return int(self.hf_model.config.get_text_config().hidden_size)

    @property
    def param_dtype(self) -> torch.dtype:
        """The dtype the input embeddings (and the other weights) are stored in."""
        return self.hf_model.get_input_embeddings().weight.dtype

    @property
    def dtype(self) -> torch.dtype:
        """The dtype the LLM computes in: its inputs are cast to it."""
        return self.compute_dtype or self.param_dtype

    def compute_context(self, device: torch.device):
        """``torch.autocast`` to the compute dtype when it is narrower than
        fp32 (a no-op context otherwise, or when the weights are already in
        it, e.g. under FSDP's MixedPrecision or DeepSpeed's bf16)."""
        if self.compute_dtype is None or self.compute_dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(device_type=device.type, dtype=self.compute_dtype)

    @property
    def eos_token_id(self) -> int:
        return int(self.tokenizer.eos_token_id)

    @property
    def stop_token_ids(self) -> Set[int]:
        """Tokens that end generation: EOS and the generation config's
        ``eos_token_id`` (one id or a list; Qwen2-7B-Instruct's
        ``generation_config.json`` names ``<|im_end|>`` and ``<|endoftext|>``)."""
        ids = {self.eos_token_id}
        eos = getattr(getattr(self.hf_model, 'generation_config', None), 'eos_token_id', None)
        if eos is not None:
            ids.update(int(i) for i in (eos if isinstance(eos, (list, tuple)) else [eos]))
        return ids

    @property
    def pad_token_id(self) -> int:
        return int(self.tokenizer.pad_token_id)

    # ------------------------------------------------------------ compute
    def embed_tokens(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Token ids ``(...)`` -> input embeddings ``(..., D)``."""
        return self.hf_model.get_input_embeddings()(input_ids)

    def forward(self,
                inputs_embeds: torch.Tensor,
                attention_mask: Optional[torch.Tensor] = None,
                position_ids: Optional[torch.Tensor] = None,
                past_key_values=None,
                use_cache: bool = False,
                **decoder_inputs) -> Tuple[torch.Tensor, object]:
        """Run the transformer on embeddings.

        Args:
            inputs_embeds: ``(B, L, D)``.
            attention_mask: ``(B, L_past + L)`` 1 on real tokens, 0 on padding.
            position_ids: ``(B, L)``; derived from the mask when None.
            past_key_values: a KV cache from a previous call.
            use_cache: return the updated KV cache.
            **decoder_inputs: model-specific inputs of the decoder, given by
                subclasses (e.g. Qwen3-VL's DeepStack features).

        Returns:
            ``(hidden_states, past_key_values)``: the last layer's hidden
            states ``(B, L, D)`` after the final norm, and the cache (None when
            ``use_cache`` is False).
        """
        if position_ids is None and attention_mask is not None:
            positions = attention_mask.long().cumsum(-1) - 1
            position_ids = positions.clamp(min=0)[:, -inputs_embeds.shape[1]:]
        with self.compute_context(inputs_embeds.device):
            outputs = self.decoder(
                inputs_embeds=inputs_embeds.to(self.dtype),
                attention_mask=attention_mask,
                position_ids=position_ids,
                cache=past_key_values,  # transformers 5's name for the KV cache
                use_cache=use_cache,
                return_dict=True,
                **decoder_inputs)
        return outputs.last_hidden_state, (outputs.cache if use_cache else None)

    def logits(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """Apply the LM head: ``(..., D)`` -> ``(..., V)`` logits in float32."""
        with self.compute_context(hidden_states.device):
            return self.hf_model.get_output_embeddings()(hidden_states).float()

    def decode(self, token_ids: List[int]) -> str:
        """Token ids -> text, without special tokens."""
        return self.tokenizer.decode(token_ids, skip_special_tokens=True)
