"""Multiple-choice text: option letters, the options as a prompt, a reply -> an option.

Written and read only here (as span times are in :mod:`.span_text`). The
reading follows the rule-based answer extraction of lmms-eval's video tasks
(``lmms_eval/tasks/{videomme,mvbench,egoschema,tempcompass}/utils.py``), so
scores compare; where one of them calls an LLM judge (TempCompass) or keeps
an unmatched reply as text (MVBench, EgoSchema), the reply here is
unparsable and scores wrong.
"""
import re
import string
from typing import List, Optional, Sequence

__all__ = ['OPTION_LETTERS', 'format_options', 'options_in_prompt', 'parse_choice',
           'strip_option_letter']

#: Letters of options ``0, 1, 2, ...``.
OPTION_LETTERS = string.ascii_uppercase

#: How each benchmark's lmms-eval task lists the options: MVBench writes
#: ``(A) text`` (``mvbench_doc_to_text``), the others ``A. text``.
OPTION_STYLES = dict(dot='{letter}. {option}', paren='({letter}) {option}')

# Answer prefixes Video-MME's extract_characters_regex removes (its list, as
# intended: two of its entries are joined by a missing comma there).
_ANSWER_PREFIXES = ('the best answer is', 'the correct answer is', 'the answer is',
                    'the answer', 'the best option is', 'the correct option is',
                    'best answer:', 'best option:', 'answer:', 'option:')
_LEADING_LETTER = re.compile(r'^[(\[]?([A-Z])(?:[)\].:,]|\s|$)')
_LONE_LETTER = re.compile(r'(?<![A-Za-z])([A-Z])(?![A-Za-z])')
_OPTION_PREFIX = re.compile(r'^\(?([A-Z])[.):]\s*')
# An option line of a prompt: ``A. text``, ``(A) text``, ``A) text`` or ``A: text``.
_OPTION_LINE = re.compile(r'^\s*(?:\(([A-Z])\)|([A-Z])[.):])\s*(\S.*?)\s*$')


def strip_option_letter(option: str) -> str:
    """``'A. a red ball'`` or ``'(A) a red ball'`` -> ``'a red ball'``."""
    return _OPTION_PREFIX.sub('', option.strip(), count=1)


def format_options(options: Sequence[str], style: str = 'dot') -> str:
    """The options one a line, lettered ``A, B, ...`` in the benchmark's style.

    Args:
        options: the option texts, without letters.
        style: ``'dot'`` (``A. text``) or ``'paren'`` (``(A) text``).
    """
    if style not in OPTION_STYLES:
        raise ValueError(f'option style must be one of {sorted(OPTION_STYLES)}, got {style!r}')
    if not 2 <= len(options) <= len(OPTION_LETTERS):
        raise ValueError(f'a multiple-choice question needs 2 to {len(OPTION_LETTERS)} '
                         f'options, got {len(options)}')
    return '\n'.join(OPTION_STYLES[style].format(letter=OPTION_LETTERS[i], option=text)
                     for i, text in enumerate(options))


def options_in_prompt(prompt: str) -> List[str]:
    """The lettered options a prompt lists (the inverse of :func:`format_options`).

    An option is a line ``A. text``, ``(A) text``, ``A) text`` or
    ``A: text``; the options are the last run of such lines lettered
    ``A, B, C ...`` in order (a question may quote an earlier list).

    Args:
        prompt: a multiple-choice prompt as a benchmark writes it.

    Returns:
        The option texts without their letters; ``[]`` when the prompt has
        fewer than two.
    """
    runs, current = [], []
    for line in prompt.splitlines():
        match = _OPTION_LINE.match(line)
        letter = match and (match.group(1) or match.group(2))
        if match and len(current) < len(OPTION_LETTERS) and \
                letter == OPTION_LETTERS[len(current)]:
            current.append(match.group(3))
            continue
        if len(current) >= 2:
            runs.append(current)
        current = [match.group(3)] if match and letter == 'A' else []
    if len(current) >= 2:
        runs.append(current)
    return runs[-1] if runs else []


def _normalise(text: str) -> str:
    return re.sub(r'\s+', ' ', text.strip().strip('.').strip()).lower()


def parse_choice(text: str, options: Sequence[str]) -> Optional[int]:
    """The index of the option a reply chooses; None when it cannot be read.

    Tried in this order (the first rule that decides wins):

    1. An answer prefix is dropped (``"The best answer is"``, ``"Answer:"``
       ...: Video-MME's list) and the reply stripped.
    2. The whole reply is an option's text (case and a final period aside),
       EgoSchema's option-sentence match, which it tries before letters (so
       ``"A yellow star"`` is that option, not ``A``).
    3. A leading letter of a valid option: ``"B"``, ``"(B)"``, ``"B."``,
       ``"B)"``, ``"B: text"``, ``"B text"`` (TempCompass's ``A.`` / ``A)``
       prefixes, MVBench's ``^([A-E])\\.``). A reply that starts with the
       article ``"A "`` reads as option A, as in Video-MME's search.
    4. Exactly one distinct valid capital letter standing alone anywhere in
       the reply (``"I think it is C"``; Video-MME and MVBench search the
       reply for a letter). Two different ones (``"B or C"``) make the
       reply ambiguous: None (checked before rule 3). Unlike Video-MME's
       search, a capital inside a word (the ``B`` of ``"Because"``) is not
       a letter.
    5. Exactly one option's text occurs in the reply.

    Args:
        text: the generated reply.
        options: the option texts (letters in front are ignored).

    Returns:
        The option's index in ``[0, len(options))``, or None.
    """
    num = len(options)
    reply = text.strip()
    lowered = reply.lower()
    for prefix in _ANSWER_PREFIXES:
        if lowered.startswith(prefix):
            reply = reply[len(prefix):].strip().lstrip(':').strip()
            break
    valid = OPTION_LETTERS[:num]
    texts = [_normalise(strip_option_letter(o)) for o in options]
    whole = _normalise(reply)
    if whole and whole in texts:
        return texts.index(whole)
    letters = {m for m in _LONE_LETTER.findall(reply) if m in valid}
    if len(letters) > 1:
        return None
    match = _LEADING_LETTER.match(reply)
    if match and match.group(1) in valid:
        return valid.index(match.group(1))
    if letters:
        return valid.index(letters.pop())
    found = [i for i, option in enumerate(texts) if option and option in whole]
    return found[0] if len(found) == 1 else None
