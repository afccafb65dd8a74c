"""``--cfg-options KEY=VALUE`` that keeps the spaces of a value (ours).

MMEngine's :class:`~mmengine.config.DictAction` removes every space of a
value and strips quotes at its ends: ``work_dir='/tmp/a b'`` and
``load_from=/tmp/a b/x.pth`` (each one shell argument) become ``/tmp/ab`` and
``/tmp/ab/x.pth``. :class:`ConfigOptionsAction` reads the same syntax
(``KEY=1``, ``KEY=a,b``, ``KEY=[a, (1, 2)]``, ``true``/``false``/``None``)
but:

- a value (or a list item) in matching quotes is that string as it is,
  spaces and commas included, and stays a string (``'5'`` is ``"5"``);
- an unquoted value keeps the spaces inside it; only the spaces around list
  items and brackets are dropped (``[1, 2]`` is ``[1, 2]``);
- a malformed option (no ``=``, unbalanced brackets) is an argparse error
  naming it, not a traceback.
"""
from argparse import ArgumentParser, Namespace
from typing import Any, List, Optional, Sequence

from mmengine.config import DictAction

__all__ = ['ConfigOptionsAction', 'parse_option_value']

_QUOTES = '\'"'
_CLOSING = {'(': ')', '[': ']'}


def _matching_end(text: str) -> Optional[int]:
    """Index of the quote or bracket that closes ``text[0]``, or None."""
    opening = text[0]
    if opening in _QUOTES:
        end = text.find(opening, 1)
        return None if end < 0 else end
    depth, quote = 0, None
    for index, char in enumerate(text):
        if quote is not None:
            quote = None if char == quote else quote
        elif char in _QUOTES:
            quote = char
        elif char in '([':
            depth += 1
        elif char in ')]':
            depth -= 1
            if depth == 0:
                return index if char == _CLOSING[opening] else None
    return None


def _split_items(text: str, quotes: bool = True) -> List[str]:
    """Split on the commas outside quotes and brackets; a last empty item
    (a trailing comma) is dropped. A quote that is never closed (``bob's``)
    is an ordinary character."""
    items, start, depth, quote = [], 0, 0, None
    for index, char in enumerate(text):
        if quote is not None:
            quote = None if char == quote else quote
        elif quotes and char in _QUOTES:
            quote = char
        elif char in '([':
            depth += 1
        elif char in ')]':
            depth -= 1
            if depth < 0:
                raise ValueError(f'unbalanced brackets in {text!r}')
        elif char == ',' and depth == 0:
            items.append(text[start:index].strip())
            start = index + 1
    if quote is not None:
        return _split_items(text, quotes=False)
    if depth != 0:
        raise ValueError(f'unbalanced brackets in {text!r}')
    items.append(text[start:].strip())
    if items and items[-1] == '':
        items.pop()
    return items


def parse_option_value(text: str) -> Any:
    """One ``--cfg-options`` value as MMEngine's syntax means it, spaces kept.

    Args:
        text: what follows the first ``=``.

    Returns:
        A string (quoted: as it is), int, float, bool, None, list or tuple.

    Raises:
        ValueError: unbalanced brackets.
    """
    text = text.strip()
    if text and (text[0] in _QUOTES or text[0] in _CLOSING) \
            and _matching_end(text) == len(text) - 1:
        if text[0] in _QUOTES:
            return text[1:-1]
        items = [parse_option_value(item) for item in _split_items(text[1:-1])]
        return tuple(items) if text[0] == '(' else items
    items = _split_items(text)
    if len(items) > 1 or text.rstrip().endswith(','):
        return [parse_option_value(item) for item in items]
    return DictAction._parse_int_float_bool(text)


class ConfigOptionsAction(DictAction):
    """``--cfg-options KEY=VALUE ...`` into a dict, values read by
    :func:`parse_option_value` (a quoted value keeps its spaces)."""

    def __call__(self, parser: ArgumentParser, namespace: Namespace,
                 values: Optional[Sequence[str]], option_string: Optional[str] = None):
        options = dict(getattr(namespace, self.dest, None) or {})
        for pair in values or ():
            name = option_string or self.dest
            if '=' not in pair:
                parser.error(f'{name} {pair!r}: expected KEY=VALUE')
            key, value = pair.split('=', maxsplit=1)
            try:
                options[key] = parse_option_value(value)
            except ValueError as error:
                parser.error(f'{name} {pair!r}: {error} (quote a value that holds '
                             'brackets or commas of its own)')
        setattr(namespace, self.dest, options)
