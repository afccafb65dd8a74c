"""The grounder's part configs: filled-in defaults and older keys mapped to new ones."""
import copy
from typing import Optional, Tuple

__all__ = ['with_default', 'answer_and_prompt_configs']


def with_default(cfg: Optional[dict], **defaults) -> Optional[dict]:
    """A copy of ``cfg`` with ``defaults`` set where absent; None stays None."""
    if cfg is None:
        return None
    cfg = copy.deepcopy(dict(cfg))
    for key, value in defaults.items():
        cfg.setdefault(key, value)
    return cfg


def answer_and_prompt_configs(answer: dict,
                              prompt: Optional[dict]) -> Tuple[dict, dict]:
    """Copies of the answer and prompt configs, older prompt keys moved or refused.

    ``prompt.span_precision`` (older configs) becomes the answer's (or its
    ``span``'s) ``precision``; ``prompt.answer_times`` is an error naming its
    replacement.
    """
    prompt = dict(prompt or {})
    answer = copy.deepcopy(dict(answer))
    if 'span_precision' in prompt:
        span_cfg = answer['span'] if 'span' in answer else answer
        span_cfg.setdefault('precision', prompt.pop('span_precision'))
    if 'answer_times' in prompt:
        raise ValueError("prompt.answer_times is gone: the answer part writes the "
                         "times; use answer=dict(type='SnappedSpanAnswer') for "
                         "answer_times='sampled_frames' (projects/spacevllm/"
                         "spacevllm/addons/snapped_span_answer.py)")
    return answer, prompt
