"""Prompt text holding user text: only the template writes control tokens.

Text that comes from data or from a user (a sentence, a question, an
answer, a caption) is tokenised as plain text. A control token written in
it (``<|im_end|>``, ``</s>``, Qwen2.5-VL's ``<tool_call>``, Qwen3's
``<think>``) stays characters, as transformers' ``split_special_tokens=True``
keeps special tokens, so no sentence can close the user turn and forge an
assistant answer. The template's own control tokens around it are real.

Control tokens are the tokenizer's special tokens (its ``<unk>`` aside: an
unknown word is data) and its other added tokens, except whitespace ones
(Gemma's ``"\\n\\n"``: ordinary text, as transformers'
``sanitize_control_tokens`` treats them too). ``split_special_tokens`` alone
keeps only the special ones, so a tokenizer with non-special control tokens
gets a private copy of its backend in which they are special as well (built
once, on first use). Text without control tokens gets the ids of one plain
call. A tokenizer whose model still writes a control id from plain text
(e.g. a word-level vocabulary holding ``</s>`` as a word) raises
:class:`UnsafeUserTextError` naming the field, never a silent forged turn.
"""
import re
from typing import List, Optional, Sequence, Set, Tuple

__all__ = ['UnsafeUserTextError', 'UserTextEncoder', 'control_token_ids', 'insert_user_text']

Offsets = List[Tuple[int, int]]


class UnsafeUserTextError(ValueError):
    """User text that the tokenizer turns into a control token even as plain text."""


def _is_control(token) -> bool:
    return bool(token.special or not token.content.isspace())


def control_token_ids(tokenizer) -> Set[int]:
    """Ids user text must never produce (see the module docstring)."""
    ids = {int(index) for index, token in tokenizer.added_tokens_decoder.items()
           if _is_control(token)}
    ids.update(int(index) for index in tokenizer.all_special_ids)
    ids.discard(tokenizer.unk_token_id)
    return ids


def insert_user_text(text: str, marker: str, value: str) -> Tuple[str, Offsets]:
    """Put ``value`` where ``marker`` stands in rendered template text.

    Returns:
        ``(text, spans)``: the text and the ``(start, end)`` characters of
        each inserted copy of ``value``.
    """
    parts = text.split(marker)
    out, spans = parts[0], []
    for part in parts[1:]:
        spans.append((len(out), len(out) + len(value)))
        out += value + part
    return out, spans


class UserTextEncoder:
    """Tokenises text in which some character spans are user text.

    Args:
        tokenizer: a Hugging Face fast tokenizer (character offsets locate
            the user text).
    """

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        added = {token.content: int(index)
                 for index, token in tokenizer.added_tokens_decoder.items()}
        self._added_ids = added
        # The tokenizer's added tokens (special or not), longest first: found
        # in template text only, never in user text.
        self._added_pattern = (re.compile('|'.join(
            re.escape(t) for t in sorted(added, key=len, reverse=True))) if added else None)
        self.control_ids = control_token_ids(tokenizer)
        self._loose = [token for token in tokenizer.added_tokens_decoder.values()
                       if _is_control(token) and not token.special]
        self._backend = None

    def _plain_backend(self):
        """The backend copy with every control token special (None: not needed)."""
        if self._loose and self._backend is None:
            from tokenizers import AddedToken, Tokenizer
            backend = Tokenizer.from_str(self.tokenizer.backend_tokenizer.to_str())
            backend.add_special_tokens([
                AddedToken(t.content, single_word=t.single_word, lstrip=t.lstrip,
                           rstrip=t.rstrip, normalized=t.normalized, special=True)
                for t in self._loose])
            backend.encode_special_tokens = True
            self._backend = backend
        return self._backend

    def encode_plain(self, text: str) -> Tuple[List[int], Offsets]:
        """Ids and character offsets of ``text`` with no control token matched."""
        if not text:
            return [], []
        backend = self._plain_backend()
        if backend is not None:
            encoding = backend.encode(text, add_special_tokens=False)
            return list(encoding.ids), [tuple(o) for o in encoding.offsets]
        encoded = self.tokenizer(text, add_special_tokens=False, split_special_tokens=True,
                                 return_offsets_mapping=True)
        return list(encoded['input_ids']), [tuple(o) for o in encoded['offset_mapping']]

    def encode(self, text: str, spans: Sequence[Tuple[int, int]],
               field: str = 'user text') -> Tuple[List[int], Offsets]:
        """Tokenise ``text`` whose characters ``[start, end)`` of each span are user text.

        The template's added tokens outside the spans are real tokens; the
        text is cut at them and each piece is tokenised with no control
        token matched (a tokenizer cuts at added tokens first too, so text
        without control tokens in its user text gets exactly the ids of one
        plain call).

        Args:
            text: the whole text.
            spans: the user text's ``(start, end)`` character ranges, in order.
            field: the user text's name in errors (``'sentence'``, ...).

        Returns:
            ``(ids, offsets)``, the offsets as ``(first, last)`` characters of
            ``text``.

        Raises:
            UnsafeUserTextError: a control id still lies in the user text.
        """
        spans = sorted((int(a), int(b)) for a, b in spans)
        cuts = []
        if self._added_pattern is not None:
            lo = 0
            for hi, next_lo in [*spans, (len(text), len(text))]:
                cuts += [(m.start() + lo, m.end() + lo, self._added_ids[m.group()])
                         for m in self._added_pattern.finditer(text[lo:hi])]
                lo = next_lo
        ids: List[int] = []
        offsets: Offsets = []
        cursor = 0
        for first, last, index in [*cuts, (len(text), len(text), None)]:
            if first > cursor:
                piece_ids, piece_offsets = self.encode_plain(text[cursor:first])
                ids += piece_ids
                offsets += [(a + cursor, b + cursor) for a, b in piece_offsets]
            if index is not None:
                ids.append(index)
                offsets.append((first, last))
            cursor = last
        self.check(text, ids, offsets, spans, field)
        return ids, offsets

    def check(self, text: str, ids: Sequence[int], offsets: Offsets,
              spans: Sequence[Tuple[int, int]], field: str = 'user text') -> None:
        """Raise if a control id overlaps one of the user-text ``spans``."""
        for token, (first, last) in zip(ids, offsets):
            if token not in self.control_ids:
                continue
            for start, end in spans:
                if first < end and last > start:
                    raise UnsafeUserTextError(
                        f'field {field!r}: {text[start:end]!r} is tokenised into the '
                        f'control token {self.tokenizer.convert_ids_to_tokens(int(token))!r} '
                        f'(id {token}) even as plain text by '
                        f'{type(self.tokenizer).__name__} (characters {first}-{last}: '
                        f'{text[first:last]!r}); remove it from the text, or use a '
                        'tokenizer whose plain text cannot write its control tokens')

    def encode_user_text(self, text: str, field: str = 'user text') -> List[int]:
        """Ids of text that is user text throughout (an answer)."""
        return self.encode(text, [(0, len(text))], field)[0]
