"""A tiny word-level tokenizer for tests and the CPU toy job (no download).

Its vocabulary covers the synthetic dataset's sentences (colours, shapes,
motions), the grounder's prompt and answer templates, integers 0-512, every
time value ``"0.0"`` .. ``"60.0"`` at 0.1 s as ONE token each (so a tiny LLM
can learn to copy a frame's time stamp into its answer; ``max_seconds``
extends the range for longer videos), every box coordinate
``"0.00"`` .. ``"1.00"`` (text-box baseline), punctuation, and the special
tokens. Words it does not know become ``<unk>``.

It is a real :class:`transformers.PreTrainedTokenizerFast`: save it with
``save_pretrained`` and load it back with ``AutoTokenizer.from_pretrained`` like
any other tokenizer.
"""
from typing import Iterable, List, Optional

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from mmstvg.models.language.prompt_builder import prompt_words

__all__ = ['build_toy_tokenizer', 'toy_vocabulary', 'TOY_CHAT_TEMPLATE',
           'TOY_TIME_STEP', 'TOY_MAX_SECONDS']

#: The toy's time tokens: one per ``TOY_TIME_STEP`` s from 0.0 to
#: ``TOY_MAX_SECONDS`` s by default (``max_seconds`` gives a longer range).
TOY_TIME_STEP = 0.1
TOY_MAX_SECONDS = 60.0

SPECIAL_TOKENS = ['<pad>', '<unk>', '<s>', '</s>', '<|im_start|>', '<|im_end|>']

SYNTHETIC_WORDS = """
a an the this that these those it its is are was were be been being has have
of in on at to from into onto by with and or but then while after before until
when where which who what whose how there here one two three four five
red green blue yellow white black orange purple pink brown gray grey cyan magenta
dark light bright small large big tiny little huge tall short
circle circles square squares triangle triangles rectangle rectangles star stars
disk disc ball box diamond ellipse cross hexagon shape shapes object objects
thing target
moves move moving moved left right up down upward downward upwards downwards
appears appear appearing disappears disappear stays stay staying stands still
static jumps jump bounces bounce rotates rotate spins spin grows grow shrinks
shrinks shrink slides slide goes go comes come enters enter leaves leave
toward towards away across around over under above below near far next beside
frame frames video videos image second seconds time times event happens begin
start end first last top bottom middle center centre side corner screen
other another same different fast slowly slow quickly quick
man woman person people boy girl child car dog cat
system user assistant
""".split()

#: A ChatML template (Qwen2 style) for tests of the chat-template path.
TOY_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


def _time_tokens(max_seconds: float = TOY_MAX_SECONDS,
                 step: float = TOY_TIME_STEP) -> List[str]:
    count = int(round(max_seconds / step))
    return [f'{i * step:.1f}' for i in range(count + 1)]


def _box_tokens() -> List[str]:
    """Normalised coordinates ``"0.00"`` .. ``"1.00"`` (text-box baseline)."""
    return [f'{i / 100:.2f}' for i in range(101)]


def toy_vocabulary(extra_words: Optional[Iterable[str]] = None,
                   max_seconds: float = TOY_MAX_SECONDS) -> List[str]:
    """The ordered vocabulary: special tokens first, then words, numbers, times.

    Args:
        extra_words: more words, after the built-in ones.
        max_seconds: the last time token (``TOY_TIME_STEP`` s apart from 0.0).
            Times past the default 60.0 s come last, so every other token
            keeps the id it has in the default vocabulary.
    """
    if max_seconds < TOY_MAX_SECONDS:
        raise ValueError(f'max_seconds must be at least {TOY_MAX_SECONDS}, got {max_seconds}')
    words = list(SPECIAL_TOKENS)
    punctuation = list('.,:;!?()[]-/\'"') + ['\n']
    candidates = (punctuation + SYNTHETIC_WORDS + prompt_words() + ['s'] +
                  [str(i) for i in range(513)] + _time_tokens() + _box_tokens() +
                  list(extra_words or []) + _time_tokens(max_seconds))
    seen = set(words)
    for word in candidates:
        for variant in (word, word.lower(), word.capitalize()):
            if variant not in seen:
                seen.add(variant)
                words.append(variant)
    return words


def build_toy_tokenizer(extra_words: Optional[Iterable[str]] = None,
                        chat_template: bool = False,
                        max_seconds: float = TOY_MAX_SECONDS) -> PreTrainedTokenizerFast:
    """Build the toy word-level tokenizer.

    Text is split on whitespace, then into decimal numbers (``"3.2"`` stays
    whole), words and single punctuation marks; a newline is its own token.

    Args:
        extra_words: more words for the vocabulary.
        chat_template: attach :data:`TOY_CHAT_TEMPLATE` (ChatML).
        max_seconds: the longest time with a token of its own (one per 0.1 s;
            60.0 by default). Videos longer than this need a larger value; the
            vocabulary, and so the LLM's embedding rows, grow with it.

    Returns:
        A ``PreTrainedTokenizerFast`` with ``<pad>``, ``<unk>``, ``<s>``,
        ``</s>`` (EOS) and the ChatML markers as special tokens.
    """
    vocab = {word: index for index, word in
             enumerate(toy_vocabulary(extra_words, max_seconds))}
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token='<unk>'))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r'\n'), behavior='isolated'),
        pre_tokenizers.Split(Regex(r'[ \t\r\f\v]+'), behavior='removed'),
        pre_tokenizers.Split(
            Regex(r'\d+\.\d+|\d+|[A-Za-z_]+|[^\sA-Za-z\d]'), behavior='isolated'),
    ])
    tokenizer.decoder = decoders.WordPiece(prefix='##', cleanup=True)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token='<pad>', unk_token='<unk>', bos_token='<s>', eos_token='</s>',
        additional_special_tokens=['<|im_start|>', '<|im_end|>'])
    if chat_template:
        fast.chat_template = TOY_CHAT_TEMPLATE
    return fast
