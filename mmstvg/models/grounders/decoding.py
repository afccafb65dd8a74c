"""Decoding: the answer's language loss and greedy generation, with logits processors.

A *logits processor* is a callable ``(logits (N, V), states (N, D), rows (N,)
or None) -> logits`` applied after the LM head at every answer position, the
same in training (:func:`answer_lm_loss`) and generation
(:func:`greedy_generate`); e.g. SpaceVLLM's ``TimeStampPointer``
(``projects/spacevllm/spacevllm/addons/time_stamp_pointer.py``). ``rows``
names each position's sample (None in generation: row ``b`` is sample ``b``).
"""
from typing import Callable, Iterable, List, Optional, Sequence

import torch
import torch.nn.functional as F

from .multimodal_sequence import IGNORE_INDEX

__all__ = ['answer_lm_loss', 'greedy_generate', 'LogitsProcessor']

LogitsProcessor = Callable[[torch.Tensor, torch.Tensor, Optional[torch.Tensor]],
                           torch.Tensor]


def answer_lm_loss(llm, hidden: torch.Tensor, labels: torch.Tensor,
                   logits_processor: Optional[LogitsProcessor] = None) -> torch.Tensor:
    """Next-token cross-entropy on labelled positions only (mean over tokens).

    Args:
        llm: the LLM backbone (its ``logits``).
        hidden: ``(B, L, D)`` last-layer states of prompt + answer.
        labels: ``(B, L)`` token ids, :data:`IGNORE_INDEX` outside the answers.
        logits_processor: applied to the LM logits; None: the LM head alone.

    Returns:
        The scalar loss (0 keeping the graph when nothing is labelled).
    """
    targets = labels[:, 1:]
    selected = targets != IGNORE_INDEX
    if not selected.any():
        return hidden.sum() * 0
    states = hidden[:, :-1][selected]
    logits = llm.logits(states)
    if logits_processor is not None:
        logits = logits_processor(logits, states, selected.nonzero()[:, 0])
    return F.cross_entropy(logits, targets[selected])


@torch.no_grad()
def greedy_generate(llm, prompt_hidden: torch.Tensor, cache, mask: torch.Tensor,
                    active: Sequence[bool], max_new_tokens: int,
                    logits_processor: Optional[LogitsProcessor] = None,
                    stop_token_ids: Optional[Iterable[int]] = None,
                    position_ids: Optional[torch.Tensor] = None) -> List[List[int]]:
    """Greedy decoding after the (left-padded) prompt pass, on its key/value cache.

    Args:
        llm: the LLM backbone.
        prompt_hidden: ``(B, L, D)`` last-layer states of the prompt pass.
        cache: its key/value cache.
        mask: ``(B, L)`` its attention mask.
        active: which samples generate text (others only pad).
        max_new_tokens: generation budget.
        logits_processor: applied at every step; None: the LM head alone.
        stop_token_ids: tokens that end a sample's answer (e.g. Qwen2-Instruct's
            ``<|im_end|>`` and ``<|endoftext|>``); None: the LLM's EOS alone.
        position_ids: the prompt pass's ``(..., B, L)`` position ids when the
            LLM part computed its own (e.g. ``(3, B, L)`` multimodal RoPE);
            each new token takes the last prompt token's + 1, 2, ...
            None: positions count the mask's real tokens.

    Returns:
        The generated ids of each sample, the stop token excluded.
    """
    finished = torch.tensor([not a for a in active], device=prompt_hidden.device)
    outputs: List[List[int]] = [[] for _ in active]
    positions = (mask.sum(-1, keepdim=True) - 1 if position_ids is None else
                 position_ids[..., -1:])
    last = prompt_hidden[:, -1]
    eos = llm.eos_token_id
    stops = torch.tensor(sorted({eos, *(stop_token_ids or ())}), device=prompt_hidden.device)
    for _ in range(max_new_tokens):
        if bool(finished.all()):
            break
        logits = llm.logits(last)
        if logits_processor is not None:
            logits = logits_processor(logits, last, None)
        next_ids = logits.argmax(-1)
        next_ids = torch.where(finished, torch.full_like(next_ids, eos), next_ids)
        stopped = torch.isin(next_ids, stops)
        for b, (token, stop) in enumerate(zip(next_ids.tolist(), stopped.tolist())):
            if not finished[b] and not stop:
                outputs[b].append(token)
        finished = finished | stopped
        if bool(finished.all()):
            break
        mask = torch.cat([mask, mask.new_ones(mask.shape[0], 1)], dim=1)
        positions = positions + 1
        step = llm.embed_tokens(next_ids)[:, None]
        hidden, cache = llm(step, attention_mask=mask, position_ids=positions,
                            past_key_values=cache, use_cache=True)
        last = hidden[:, -1]
    return outputs
