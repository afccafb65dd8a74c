"""Third-party messages that tell an mmstvg user nothing, filtered in one place.

Each entry of :data:`UNINFORMATIVE_MESSAGES` names the library, the logger or
warning category it comes through, the start of the message, and why it carries
no information here. :func:`filter_uninformative_messages` installs them once per
process. Importing mmstvg installs nothing:
:func:`~mmstvg.utils.apply_runtime_patches` calls it first, and the tools call
that at their top, before anything imports DeepSpeed (whose accelerator
warning fires at import time).

Nothing else is hidden: a message that is not listed here (or that a newer
library version words differently) is printed as before. Set
``MMSTVG_SHOW_ALL_WARNINGS=1`` to install no filter at all.
"""
import logging
import os
import re
import warnings
from typing import Dict, List, NamedTuple, Optional

__all__ = [
    'UninformativeMessage', 'UNINFORMATIVE_MESSAGES', 'MessageFilter',
    'filter_uninformative_messages'
]

SHOW_ALL_ENV = 'MMSTVG_SHOW_ALL_WARNINGS'


class UninformativeMessage(NamedTuple):
    """One third-party message to drop.

    Attributes:
        source: the library and what triggers it, for the reader.
        message: a regular expression matched at the start of the message.
        logger: name of the ``logging`` logger it is logged through, or None
            for a Python warning (``warnings.warn``).
        category: the warning category (Python warnings only).
        why: why it tells an mmstvg user nothing.
    """
    source: str
    message: str
    logger: Optional[str] = None
    category: type = Warning
    why: str = ''


UNINFORMATIVE_MESSAGES: List[UninformativeMessage] = [
    UninformativeMessage(
        source='DeepSpeed, at import (mmengine imports it for its strategies)',
        message=r'Setting accelerator to CPU\. If you have GPU',
        logger='DeepSpeed',
        why='printed on every import on a CPU machine; the DeepSpeed strategies '
        'say themselves which accelerator they use when one is chosen'),
]


class MessageFilter(logging.Filter):
    """A ``logging.Filter`` that drops records whose message matches a pattern.

    Args:
        patterns: regular expressions matched at the start of
            ``record.getMessage()``.
    """

    def __init__(self, patterns: List[str]) -> None:
        super().__init__()
        self.patterns = [re.compile(p) for p in patterns]
        self.num_dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # a malformed record is not ours to judge
            return True
        if any(p.match(text) for p in self.patterns):
            self.num_dropped += 1
            return False
        return True


_installed: Dict[str, MessageFilter] = {}


def filter_uninformative_messages(
        messages: Optional[List[UninformativeMessage]] = None
) -> Dict[str, MessageFilter]:
    """Install the filters of ``messages`` (default :data:`UNINFORMATIVE_MESSAGES`).

    Idempotent: a second call adds nothing. Logger filters go on the named
    ``logging`` logger (created now if the library has not imported yet, which
    is what lets DeepSpeed's import-time warning be caught); warning filters go
    through ``warnings.filterwarnings``, so they also hold in forked dataloader
    workers.

    Args:
        messages: the messages to drop.

    Returns:
        The installed logger filters by logger name (their ``num_dropped``
        counts what they dropped). Empty when ``MMSTVG_SHOW_ALL_WARNINGS=1``.
    """
    if os.environ.get(SHOW_ALL_ENV, '0') not in ('', '0'):
        return {}
    messages = UNINFORMATIVE_MESSAGES if messages is None else messages
    by_logger: Dict[str, List[str]] = {}
    for entry in messages:
        if entry.logger is None:
            warnings.filterwarnings('ignore', message=entry.message,
                                    category=entry.category)
        else:
            by_logger.setdefault(entry.logger, []).append(entry.message)
    for name, patterns in by_logger.items():
        existing = _installed.get(name)
        if existing is None:
            existing = MessageFilter([])
            logging.getLogger(name).addFilter(existing)
            _installed[name] = existing
        known = {p.pattern for p in existing.patterns}
        existing.patterns.extend(re.compile(p) for p in patterns if p not in known)
    return dict(_installed)
