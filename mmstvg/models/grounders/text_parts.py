"""The grounder's text parts, built once for the model and once for the data pipeline.

The grounder renders and tokenizes each sample's prompt with a
:class:`PromptBuilder` and its answer with an :class:`AnswerCoderTable`.
:class:`TextParts` builds both from the grounder's ``answer`` and
``prompt`` configs and its tokenizer; the grounder calls it, and so does the
data pipeline's ``TokenizeGroundingPrompt``, which tokenizes in the dataloader
workers and hands the grounder a :class:`TokenizedPrompt` per sample. The two
sides agree by construction; the :attr:`TextParts.fingerprint` (a digest of
the tokenizer, the resolved configs and the frames per token grid) makes a
disagreement (another tokenizer, template or answer in the data config than
in the model) an error instead of a training on other ids.
"""
import copy
import hashlib
import inspect
import json
from dataclasses import dataclass
from typing import Optional, Tuple

from mmstvg.models.language.answer_coder_table import AnswerCoderTable
from mmstvg.models.language.prompt_builder import PromptBuilder, PromptPieces

from .part_configs import answer_and_prompt_configs

__all__ = ['TextParts', 'TokenizedPrompt', 'PROMPT_PIECES_KEY', 'tokenizer_digest',
           'grounder_text_config', 'default_of']

#: The metainfo key of a sample's :class:`TokenizedPrompt`.
PROMPT_PIECES_KEY = 'prompt_pieces'


@dataclass
class TokenizedPrompt:
    """One sample's prompt pieces, tokenized by the data pipeline.

    Attributes:
        pieces: the token pieces (:class:`PromptPieces`).
        with_answer: whether they hold the training answer.
        fingerprint: :attr:`TextParts.fingerprint` of the parts that made them.
        summary: the same in words (template, tokenizer), for error messages.
    """
    pieces: PromptPieces
    with_answer: bool
    fingerprint: str
    summary: str


def tokenizer_digest(tokenizer) -> str:
    """A digest of everything that decides a tokenizer's ids: its class, its
    serialized fast tokenizer (vocabulary, merges, added tokens, normalizer,
    pre-tokenizer) and its chat template."""
    sha = hashlib.sha1(type(tokenizer).__name__.encode())
    backend = getattr(tokenizer, 'backend_tokenizer', None)
    if backend is not None:
        sha.update(backend.to_str().encode())
    else:  # a slow tokenizer: its vocabulary with the added tokens
        sha.update(json.dumps(sorted(tokenizer.get_vocab().items())).encode())
    sha.update(str(getattr(tokenizer, 'chat_template', None)).encode())
    return sha.hexdigest()[:16]


class TextParts:
    """A grounder's prompt builder and answer table, and their fingerprint.

    Args:
        tokenizer: the LLM's tokenizer.
        answer: the grounder's ``answer`` config.
        prompt: the grounder's ``prompt`` config (:class:`PromptBuilder`'s
            keyword arguments), or None.
        use_chat_template: the LLM part's ``use_chat_template`` (the
            prompt's default).
        frames_per_patch: sampled frames in one token grid (the vision
            encoder's temporal patch).
    """

    def __init__(self, tokenizer, answer: dict, prompt: Optional[dict],
                 use_chat_template: bool = True, frames_per_patch: int = 1):
        answer, prompt = answer_and_prompt_configs(answer, prompt)
        prompt.setdefault('use_chat_template', use_chat_template)
        self.tokenizer = tokenizer
        self.answer_cfg, self.prompt_cfg = answer, prompt
        self.answer = AnswerCoderTable(answer, tokenizer=tokenizer)
        self.prompt_builder = PromptBuilder(tokenizer, **prompt)
        self.frames_per_patch = int(frames_per_patch)
        self._fingerprint: Optional[str] = None

    @property
    def fingerprint(self) -> str:
        """A digest of the tokenizer, the resolved answer and prompt configs and
        the frames per token grid (computed once, on first use)."""
        if self._fingerprint is None:
            text = json.dumps(dict(answer=self.answer_cfg, prompt=self.prompt_cfg,
                                   frames_per_patch=self.frames_per_patch),
                              sort_keys=True, default=repr)
            sha = hashlib.sha1(text.encode())
            sha.update(tokenizer_digest(self.tokenizer).encode())
            self._fingerprint = sha.hexdigest()[:16]
        return self._fingerprint

    def identity(self) -> Tuple[str, str]:
        """``(fingerprint, summary)``: what :class:`SequenceBuilder` checks a
        sample's pipeline-made pieces against."""
        return self.fingerprint, self.summary

    @property
    def summary(self) -> str:
        """The parts in words: template, answer, tokenizer."""
        return (f"template {self.prompt_builder.template!r}, answer "
                f"{self.answer_cfg.get('type')!r}, {type(self.tokenizer).__name__} of "
                f'{len(self.tokenizer)} tokens, {self.frames_per_patch} frame(s) a token grid')


def grounder_text_config(model_cfg: dict) -> Optional[dict]:
    """What a grounder config says about its text, without building the model.

    Args:
        model_cfg: the grounder's config (``cfg.model``).

    Returns:
        ``dict(tokenizer, special_tokens, use_chat_template, answer, prompt,
        frames_per_patch)`` (the tokenizer a path, as the LLM part loads it);
        None when the model type has no :meth:`text_config` (no prompt).
    """
    from mmstvg.registry import MODELS
    cls = MODELS.get(model_cfg.get('type'))
    if cls is None or not hasattr(cls, 'text_config'):
        return None
    return cls.text_config(copy.deepcopy(dict(model_cfg)))


def default_of(cls, name: str):
    """The default of the argument ``name`` of ``cls.__init__`` (or of the first
    base class's that takes it by name, for a ``**kwargs`` preset)."""
    for klass in cls.__mro__:
        parameters = inspect.signature(klass.__init__).parameters
        if name in parameters:
            return copy.deepcopy(parameters[name].default)
    raise KeyError(f'{cls.__name__} takes no argument {name!r}')
