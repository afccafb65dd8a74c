"""Video conversations in LLaVA-Video's training format, for language-only training."""
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence

from mmstvg.registry import DATASETS
from .base_grounding_dataset import BaseGroundingDataset
from .synthetic_language import CAPTION_SOURCE, QA_SOURCE
from .validation import GroundingDataError

__all__ = ['LlavaVideoSFTDataset', 'ConversationDataError', 'IMAGE_TOKEN',
           'DEFAULT_TASK_MAP']

#: The placeholder of the video in the first human turn (LLaVA's
#: ``DEFAULT_IMAGE_TOKEN``, also for videos).
IMAGE_TOKEN = '<image>'
#: ``data_source`` -> task of the samples: the synthetic set's two files.
DEFAULT_TASK_MAP = {CAPTION_SOURCE: 'caption', QA_SOURCE: 'open_qa'}
_ROLES = ('human', 'gpt')


class ConversationDataError(GroundingDataError):
    """A bad entry of a conversation file, naming the file, the entry id and
    the field (``'conversations[3].value'``)."""

    ID_LABEL = 'entry'


@DATASETS.register_module()
class LlavaVideoSFTDataset(BaseGroundingDataset):
    """Video conversations (captions, open-ended QA) in LLaVA-Video's format.

    Ours, not the paper's. It reads the json that LLaVA-NeXT's
    ``LazySupervisedDataset`` reads (``llava/train/train.py`` of
    LLaVA-VL/LLaVA-NeXT, the trainer of LLaVA-Video on LLaVA-Video-178K): a
    list of entries ``{"id", "video", "conversations", "data_source"}``
    (see :mod:`mmstvg.datasets.synthetic_language` for one), so a
    LLaVA-Video-178K file loads as well as the synthetic set's
    ``llava_video_<split>.json``.

    **Checked per entry** (a bad one raises :class:`ConversationDataError`
    naming the file, the entry's ``id`` and the field, or is skipped and
    counted with ``on_bad_sample='skip'``): ``id`` is a unique string or
    integer; ``video`` is a non-empty path under ``data_prefix['video']``
    (image and text-only entries are not read here); ``conversations`` is a
    non-empty list of ``{"from", "value"}`` messages whose ``from``
    alternates ``"human"`` / ``"gpt"`` from ``"human"`` to ``"gpt"``; every
    ``value`` is non-empty text; exactly one ``<image>`` token, in the first
    human turn (where LLaVA's ``preprocess_multimodal`` looks for it).
    LLaVA's trainer also drops a leading ``gpt`` message and reads
    ``role`` / ``content`` keys; this class calls both bad input instead.

    **One sample an entry** (a conversation, one or several rounds):
    ``sample_id`` (the entry's ``id``), ``video_id`` (the video file's stem),
    ``video_path``, ``task`` (from ``data_source``, see ``task_map``),
    ``questions`` (the human turns, ``<image>`` and the new line after it
    removed), ``answers`` (the gpt turns, the text the LM loss is taken on),
    ``sentence`` (the first question), ``data_source``, ``dataset_name``,
    ``num_turns``. The video's frame count and fps come from the file
    (:class:`GroundingDecordInit`); there is no span and no box.

    Args:
        task_map: ``data_source`` -> task name of its samples (default
            :data:`DEFAULT_TASK_MAP`: ``'caption'`` and ``'open_qa'``).
        default_task: the task of an entry whose ``data_source`` is absent
            or not in ``task_map``.
        data_sources: keep only the entries of these ``data_source`` values
            (e.g. the captions alone, for LLaVA's projector alignment); None:
            every entry.
        **kwargs: see :class:`BaseGroundingDataset` (``ann_file``,
            ``data_root``, ``data_prefix=dict(video=...)``, ``pipeline``,
            ``on_bad_sample``, ``check_video_exists`` ...).
    """

    DEFAULT_NAME = 'llava_video'
    TASK = 'open_qa'
    SAMPLE_ID_FIELD = 'id'

    def __init__(self, task_map: Optional[Dict[str, str]] = None,
                 default_task: str = 'open_qa',
                 data_sources: Optional[Sequence[str]] = None, **kwargs):
        self.task_map = dict(DEFAULT_TASK_MAP if task_map is None else task_map)
        self.default_task = default_task
        self.data_sources = None if data_sources is None else set(data_sources)
        self._seen_ids: set = set()
        super().__init__(**kwargs)

    def bad(self, message: str, video_id: Any, field: str) -> ConversationDataError:
        """The error for a bad entry: names the file, the entry id, the field."""
        return ConversationDataError(message, ann_file=self.ann_file,
                                     video_id=str(video_id), field=field)

    def load_raw_annotations(self) -> List[Any]:
        entries = self.load_json()
        if not isinstance(entries, list):
            raise self.bad(f'a LLaVA training file is a json list of entries, got '
                           f'{type(entries).__name__}', '<all>', '<top level>')
        self._seen_ids = set()
        return [(index, entry) for index, entry in enumerate(entries)
                if self.data_sources is None or not isinstance(entry, dict)
                or entry.get('data_source') in self.data_sources]

    def _entry_id(self, index: int, entry: Any) -> str:
        if not isinstance(entry, dict):
            raise self.bad(f'must be an object, got {type(entry).__name__}',
                           f'#{index}', '<entry>')
        if 'id' not in entry:
            raise self.bad('missing key', f'#{index}', 'id')
        value = entry['id']
        if isinstance(value, bool) or not isinstance(value, (str, int)) or value == '':
            raise self.bad(f'must be a non-empty string or an integer, got {value!r:.60}',
                           f'#{index}', 'id')
        entry_id = str(value)
        if entry_id in self._seen_ids:
            raise self.bad('the id is used by an earlier entry', entry_id, 'id')
        self._seen_ids.add(entry_id)
        return entry_id

    def _text(self, value: Any, entry_id: str, field: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.bad(f'must be non-empty text, got {value!r:.60}', entry_id, field)
        try:
            value.encode('utf-8')
        except UnicodeEncodeError as error:
            raise self.bad(f'is not valid UTF-8 text (position {error.start})',
                           entry_id, field) from None
        return value.strip()

    def _turns(self, entry: dict, entry_id: str) -> List[str]:
        """The messages' texts, checked (class docstring)."""
        messages = self.require(entry, 'conversations', entry_id)
        if not isinstance(messages, list) or not messages:
            raise self.bad(f'must be a non-empty list of messages, got {messages!r:.60}',
                           entry_id, 'conversations')
        if len(messages) % 2:
            raise self.bad(f'{len(messages)} messages: a conversation ends with an '
                           'answer (from "gpt")', entry_id, 'conversations')
        texts = []
        for turn, message in enumerate(messages):
            field = f'conversations[{turn}]'
            if not isinstance(message, dict):
                raise self.bad(f'must be an object {{"from", "value"}}, got '
                               f'{type(message).__name__}', entry_id, field)
            role = message.get('from')
            if role != _ROLES[turn % 2]:
                raise self.bad(f'expected "{_ROLES[turn % 2]}" (turns alternate human / '
                               f'gpt from human), got {role!r:.40}', entry_id,
                               f'{field}.from')
            text = self._text(message.get('value'), entry_id, f'{field}.value')
            count = text.count(IMAGE_TOKEN)
            if count != (1 if turn == 0 else 0):
                where = 'the first human turn' if turn == 0 else 'this turn'
                raise self.bad(f'{where} holds {count} {IMAGE_TOKEN} tokens; a video '
                               f'entry has exactly one, in its first human turn',
                               entry_id, f'{field}.value')
            if turn == 0:
                text = self._text(text.replace(IMAGE_TOKEN, '', 1), entry_id,
                                  f'{field}.value')
            texts.append(text)
        return texts

    def parse_data_info(self, raw) -> dict:
        index, entry = raw
        entry_id = self._entry_id(index, entry)
        if 'video' not in entry:
            other = 'an image' if 'image' in entry else 'a text-only'
            raise self.bad(f'missing key: this is {other} entry; '
                           f'{type(self).__name__} reads video entries', entry_id, 'video')
        video = self._text(entry['video'], entry_id, 'video')
        texts = self._turns(entry, entry_id)
        source = entry.get('data_source')
        if source is not None and not isinstance(source, str):
            raise self.bad(f'must be a string, got {source!r:.60}', entry_id, 'data_source')
        questions, answers = texts[0::2], texts[1::2]
        return dict(
            sample_id=entry_id,
            video_id=osp.splitext(osp.basename(video))[0],
            video_path=self.resolve_video_path(video, entry_id),
            task=self.task_map.get(source, self.default_task),
            sentence=questions[0],
            dataset_name=self.dataset_name,
            data_source=source or '',
            questions=questions,
            answers=answers,
            num_turns=len(answers))
