"""The base of every grounding dataset: the data-info contract and bad-input policy.

Every dataset of mmstvg turns its source files into one dict per sample with the
same keys (the *data-info contract*, see ``docs/en/conventions.md``):

- ``sample_id``, ``video_id``, ``video_path``, ``task`` (``'stvg'`` | ``'tvg'``
  | ``'rec'``), ``sentence``, ``dataset_name``, ``qtype``;
- ``num_frames``, ``fps``, ``duration``, ``height``, ``width`` of the original
  video (an image is a one-frame video at 1 fps);
- ``gt_span_frames``: half-open ``[start, end)`` 0-based frame indices;
- ``gt_span_seconds``: ``(start / fps, end / fps)``;
- ``gt_tube_frame_inds`` (int64 ``(N,)``) and ``gt_tube_boxes`` (float32
  ``(N, 4)``, xyxy, pixels of the original frame).

mmstvg adds one optional key, ``clip_span_frames`` (half-open ``[start, end)``):
the part of the video the sample is about (VidSTG's ``used_segment``); the frame
samplers sample inside it. Every dataset here sets it (``[0, num_frames)`` where
the whole video is used).

``get_data_info`` adds ``time_axis``: ``'frames'`` where the annotation counts
frames (a frame's time is ``index / fps``), ``'seconds'`` where it gives
wall-clock seconds (the pipeline then times the frames of a variable-frame-rate
video by their presentation times, see
:mod:`mmstvg.datasets.transforms.frame_times`).

Bad input (a missing video, a missing key, a wrong-typed value, a non-positive
fps, a caption that is not text or is over the word budget, a box count that
does not match the span, a span outside the video, a ``sample_id`` an earlier
entry already gave, an unreadable video met by
the pipeline or listed by ``tools/misc/check_dataset.py``) raises
:class:`GroundingDataError` naming the annotation file, the video id and the
field; with ``on_bad_sample='skip'`` the sample is dropped instead, counted in
:attr:`BaseGroundingDataset.num_skipped` and logged once as a summary per file.
A dataset whose every sample was skipped is an error. A missing video is an
error that also says how many other videos of the split are missing (each
path checked once with ``os.path.exists``) and names the first few. The checks
themselves live in :mod:`mmstvg.datasets.validation` (shared with the
inferencer).
"""
import os
import os.path as osp
from collections import Counter
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import MMLogger

from mmstvg.structures import frames_to_seconds
from .validation import (DEFAULT_MAX_SENTENCE_WORDS, SENTENCE_POLICIES,
                         GroundingDataError, as_boxes, as_float, as_int,
                         check_fps, check_sentence, file_digest, load_json)

__all__ = ['GroundingDataError', 'BaseGroundingDataset', 'CONTRACT_KEYS',
           'ShortVideoError', 'VIDEO_META_KEYS']

#: Keys every dataset's ``parse_data_info`` returns.
CONTRACT_KEYS = ('sample_id', 'video_id', 'video_path', 'task', 'sentence',
                 'dataset_name', 'qtype', 'num_frames', 'fps', 'duration',
                 'height', 'width', 'gt_span_frames', 'gt_span_seconds',
                 'gt_tube_frame_inds', 'gt_tube_boxes')

#: The video metadata a dataset reads from its annotations or, where they
#: lack it, from ``known_video_meta`` or the video file.
VIDEO_META_KEYS = ('num_frames', 'fps', 'height', 'width')

BAD_SAMPLE_POLICIES = ('error', 'skip')
#: Missing videos named in the error beside the first one.
MISSING_EXAMPLES = 5
SHORT_VIDEO_POLICIES = ('skip', 'clip', 'error')


class ListedBadVideo(GroundingDataError):
    """A sample whose video ``bad_videos_file`` lists (always skipped and
    counted, whatever ``on_bad_sample`` says)."""


class ShortVideoError(RuntimeError):
    """A short-decoding video met with ``short_video='error'`` (raised even
    with ``on_bad_sample='skip'``)."""


class _VideoPathSeen(Exception):
    """Stops parsing an entry once its video path is known (the scan of the
    split's missing videos, :meth:`BaseGroundingDataset._missing_video_error`)."""


class BaseGroundingDataset(BaseDataset):
    """Common base of the grounding datasets (STVG, TVG, REC).

    Subclasses implement :meth:`load_raw_annotations` (read the source files
    into a list of raw entries) and :meth:`parse_data_info` (one raw entry ->
    one contract dict, or a list of them); they call :meth:`bad` to report a
    problem, :meth:`int_field` / :meth:`float_field` / :meth:`boxes_field` to
    read typed values and :meth:`finish_info` to fill the derived keys and
    validate.

    Boxes are kept as the provider wrote them (the metric scores against
    them, as TubeDETR's evaluator does); :class:`LoadGroundingAnnotations`
    clips the *training* targets to the frame.

    Args:
        ann_file: the annotation file.
        data_root: prefix joined to ``ann_file`` and to ``data_prefix``.
        data_prefix: ``dict(video='...')``: folder of the videos (images for
            REC) relative to ``data_root``.
        dataset_name: the name stored in every sample's ``dataset_name``;
            defaults to the class's ``DEFAULT_NAME``.
        on_bad_sample: ``'error'`` raises :class:`GroundingDataError` on bad
            input; ``'skip'`` drops the sample and counts it; the counts per
            field are logged once, as a summary.
        check_video_exists: check at load time that every video file exists.
        box_tolerance: None (default): a box may leave the frame (it is
            kept as written; training targets are clipped). A number: boxes
            further than this many pixels outside the frame are bad input.
        max_sentence_words: the sentence budget in words (None: none).
        long_sentence: ``'error'`` (a longer sentence is bad input) or
            ``'truncate'`` (cut to the budget, counted and logged once).
        bad_videos_file: the ``bad_videos.json`` written by
            ``tools/misc/check_dataset.py``; its unreadable videos are
            skipped and counted (field ``'bad_videos_file'``).
        short_video: what to do with a video of that file that decodes fewer
            frames than annotated: ``'skip'`` it, ``'clip'`` the sample to the
            decoded frames, or raise an ``'error'``. Logged once with counts.
        known_video_meta: ``{video_id: {'num_frames', 'fps', 'height',
            'width'}}`` used where the annotations lack a video's metadata,
            instead of reading the video file (``eval_predictions.py``
            passes the ones a prediction dump recorded, so that a split is
            re-scored without its videos).
        **kwargs: passed to :class:`mmengine.dataset.BaseDataset`
            (``pipeline``, ``test_mode``, ``lazy_init``, ``serialize_data``,
            ``indices`` ...).
    """

    DEFAULT_NAME = 'grounding'
    TASK = 'stvg'
    #: ``'frames'``: the annotation counts frames (a frame's time is
    #: ``index / fps``); ``'seconds'``: it gives wall-clock seconds (frames are
    #: timed by their presentation times). Passed to the pipeline as the data
    #: info's ``time_axis``.
    TIME_AXIS = 'frames'
    #: The annotation field(s) a sample's ``sample_id`` comes from, named in
    #: the error of a repeated id.
    SAMPLE_ID_FIELD = 'sample_id'

    def __init__(self,
                 ann_file: str = '',
                 data_root: str = '',
                 data_prefix: dict = dict(video=''),
                 dataset_name: Optional[str] = None,
                 on_bad_sample: str = 'error',
                 check_video_exists: bool = True,
                 box_tolerance: Optional[float] = None,
                 max_sentence_words: Optional[int] = DEFAULT_MAX_SENTENCE_WORDS,
                 long_sentence: str = 'error',
                 bad_videos_file: Optional[str] = None,
                 short_video: str = 'skip',
                 known_video_meta: Optional[Dict[str, dict]] = None,
                 **kwargs):
        if on_bad_sample not in BAD_SAMPLE_POLICIES:
            raise ValueError(f'on_bad_sample must be one of '
                             f'{BAD_SAMPLE_POLICIES}, got {on_bad_sample!r}')
        if long_sentence not in SENTENCE_POLICIES:
            raise ValueError(f'long_sentence must be one of '
                             f'{SENTENCE_POLICIES}, got {long_sentence!r}')
        if short_video not in SHORT_VIDEO_POLICIES:
            raise ValueError(f'short_video must be one of '
                             f'{SHORT_VIDEO_POLICIES}, got {short_video!r}')
        self.dataset_name = dataset_name or self.DEFAULT_NAME
        self.dataset_name_given = dataset_name is not None
        self.on_bad_sample = on_bad_sample
        self.check_video_exists = check_video_exists
        self.box_tolerance = None if box_tolerance is None else \
            float(box_tolerance)
        self.max_sentence_words = max_sentence_words
        self.long_sentence = long_sentence
        self.bad_videos_file = bad_videos_file
        self.short_video = short_video
        self.known_video_meta = dict(known_video_meta or {})
        #: :func:`file_digest` of ``ann_file`` (set at load; see
        #: :meth:`get_data_info`).
        self.ann_file_hash: Optional[str] = None
        self.skipped: Counter = Counter()
        #: One example message per skipped field (for the summary).
        self.skip_examples: Dict[str, str] = {}
        self.num_truncated = 0
        self.num_clipped_short = 0
        self._bad_videos: Optional[Dict[str, dict]] = None
        #: ``{video path: samples}`` of the videos found nowhere (at load).
        self.missing_videos: Dict[str, int] = {}
        self._scanning_paths = False
        #: Set by :class:`UniSTGDataset`: templates of this dataset's task.
        self.prompt_templates: Optional[List[str]] = None
        self._video_index: Optional[Dict[str, str]] = None
        super().__init__(
            ann_file=ann_file, data_root=data_root, data_prefix=data_prefix,
            **kwargs)

    # ------------------------------------------------------------------ #
    # Loading
    # ------------------------------------------------------------------ #
    def load_raw_annotations(self) -> List[Any]:
        """Read the source files into a list of raw entries."""
        raise NotImplementedError

    def load_json(self) -> Any:
        """The annotation file as json (UTF-8; errors name the file)."""
        return load_json(self.ann_file)

    def load_data_list(self) -> List[dict]:
        """Parse every raw entry; bad ones raise or are skipped and counted.

        Raises:
            GroundingDataError: when the file holds no entry, when every
                entry was skipped (with the counts per field and an example
                of each) or gave no sample (:meth:`drop_summary`), or on the
                first bad entry with ``on_bad_sample='error'``.
        """
        if self.ann_file and not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'{type(self).__name__}: annotation file {self.ann_file} '
                'does not exist (see docs/en/dataset_prepare.md)')
        self.ann_file_hash = file_digest(self.ann_file) if self.ann_file \
            else None
        self._load_bad_videos()
        self.missing_videos = {}
        data_list = []
        seen_ids: set = set()
        raw_entries = self.load_raw_annotations()
        for index, raw in enumerate(raw_entries):
            try:
                parsed = self.parse_data_info(raw)
                parsed = parsed if isinstance(parsed, list) else [parsed]
                parsed = [self._apply_bad_videos(info) for info in parsed]
                self._check_unique_ids(parsed, seen_ids)
            except ListedBadVideo as error:
                # The user listed the video to skip: counted whatever
                # on_bad_sample says.
                self._count_skip(error)
                continue
            except GroundingDataError as error:
                if self.on_bad_sample == 'error' and \
                        getattr(error, 'missing_video', None):
                    raise self._missing_video_error(
                        error, raw_entries[index + 1:]) from None
                self._handle_bad(error)
                continue
            data_list.extend(parsed)
        logger = MMLogger.get_current_instance()
        if self.num_truncated:
            logger.warning(
                f'{type(self).__name__} ({self.ann_file}): truncated '
                f'{self.num_truncated} sentences to max_sentence_words='
                f'{self.max_sentence_words} words')
        if self.num_clipped_short:
            logger.warning(
                f'{type(self).__name__} ({self.ann_file}): clipped '
                f'{self.num_clipped_short} samples to the frames their video '
                f'decodes (short_video=\'clip\', {self.bad_videos_file})')
        if self.skipped:
            logger.warning(self.skip_summary(len(raw_entries)))
        if not raw_entries:
            raise GroundingDataError(
                'the annotation file holds no samples (an empty conversion? '
                'check the converter\'s report and its input folders, see '
                'docs/en/dataset_prepare.md)', ann_file=self.ann_file,
                field='<all samples>')
        if raw_entries and not data_list and self.skipped:
            raise GroundingDataError(
                f'every sample was skipped as bad input: '
                f'{self.skip_summary(len(raw_entries))}',
                ann_file=self.ann_file, field='<all samples>')
        if raw_entries and not data_list:
            # Entries a subclass drops by its own rule (not bad input).
            raise GroundingDataError(
                f'none of its {len(raw_entries)} entries gave a sample'
                f'{self.drop_summary()}', ann_file=self.ann_file,
                field='<all samples>')
        return data_list

    def _check_unique_ids(self, infos: List[dict], seen: set) -> None:
        """Refuse a ``sample_id`` an earlier entry already gave, then record
        ``infos``' ids in ``seen``.

        Predictions are matched to samples by ``sample_id`` (a metric's dump,
        ``eval_predictions.py``): two samples of one id would both be scored
        with the first one's prediction.

        Raises:
            GroundingDataError: naming the file, the video and the field the
                id comes from (:attr:`SAMPLE_ID_FIELD`).
        """
        ids = [info['sample_id'] for info in infos]
        for info, sample_id in zip(infos, ids):
            if sample_id in seen or ids.count(sample_id) > 1:
                raise self.bad(
                    f'sample_id {sample_id!r} is already used by an earlier '
                    'entry (predictions are matched by sample_id: one of them '
                    'would be scored with the other\'s prediction); ids must '
                    'be unique', info.get('video_id'), self.SAMPLE_ID_FIELD)
        seen.update(ids)

    def drop_summary(self) -> str:
        """Why entries gave no sample besides bad input (a subclass's own
        rule), for the error of a file that gave none; ``''`` here."""
        return ''

    def _get_unserialized_subset(self, indices: Union[Sequence[int], int]
                                 ) -> list:
        """MMEngine's subset of ``indices``, refused when it is empty.

        Raises:
            GroundingDataError: naming the annotation file and ``indices``
                when the subset holds no sample (``indices=0``, ``[]``): a
                test would score nothing and report all-zero figures.
        """
        subset = super()._get_unserialized_subset(indices)
        if not subset:
            raise GroundingDataError(
                f'indices={indices!r} selects none of the '
                f'{len(self.data_list)} samples (leave indices out for all '
                'of them)', ann_file=self.ann_file, field='indices')
        return subset

    def skip_summary(self, num_entries: Optional[int] = None) -> str:
        """One line: how many samples were skipped, per field, with an
        example of each."""
        total = '' if num_entries is None else f' of {num_entries} entries'
        examples = '; '.join(f'{field}: e.g. {self.skip_examples[field]}'
                             for field in self.skipped
                             if field in self.skip_examples)
        missing = ''
        if self.missing_videos:
            missing = (f'; {len(self.missing_videos)} videos missing '
                       f'({sum(self.missing_videos.values())} samples)')
        return (f'{type(self).__name__} ({self.ann_file}): skipped '
                f'{self.num_skipped}{total} as bad samples, by field: '
                f'{dict(self.skipped)} ({examples}){missing}')

    @property
    def num_skipped(self) -> int:
        """Number of samples dropped as bad input so far (this process)."""
        return sum(self.skipped.values())

    def _handle_bad(self, error: GroundingDataError,
                    log_first: bool = False) -> None:
        if self.on_bad_sample == 'error':
            raise error
        self._count_skip(error, log_first)

    def _count_skip(self, error: GroundingDataError,
                    log_first: bool = False) -> None:
        field = error.field or 'unknown'
        first = field not in self.skip_examples
        self.skipped[field] += 1
        if first:
            self.skip_examples[field] = \
                f'{error.video_id}: {error.reason}'
        if log_first and first:
            MMLogger.get_current_instance().warning(
                f'skipping bad sample: {error} (further skips of field '
                f'{field!r} are counted, not logged)')

    def bad(self, message: str, video_id: Any, field: str) -> GroundingDataError:
        """Build the error for a bad sample of this dataset's annotation file."""
        return GroundingDataError(message, ann_file=self.ann_file,
                                  video_id=str(video_id), field=field)

    def where(self, video_id: Any) -> dict:
        """The ``where`` dict of :mod:`mmstvg.datasets.validation`."""
        return dict(ann_file=self.ann_file, video_id=str(video_id))

    def require(self, entry: dict, key: str, video_id: Any) -> Any:
        """``entry[key]``, or a :class:`GroundingDataError` naming the key."""
        if not isinstance(entry, dict):
            raise self.bad(f'the entry must be a dict, got '
                           f'{type(entry).__name__}', video_id, key)
        if key not in entry:
            raise self.bad('missing key', video_id, key)
        return entry[key]

    def int_field(self, entry: dict, key: str, video_id: Any,
                  minimum: Optional[int] = None) -> int:
        """``entry[key]`` checked to be an integer (see :func:`as_int`)."""
        return as_int(self.require(entry, key, video_id), key,
                      self.where(video_id), minimum=minimum)

    def float_field(self, entry: dict, key: str, video_id: Any,
                    positive: bool = False) -> float:
        """``entry[key]`` checked to be a finite number."""
        return as_float(self.require(entry, key, video_id), key,
                        self.where(video_id), positive=positive)

    def str_field(self, entry: dict, key: str, video_id: Any) -> str:
        """``entry[key]`` checked to be a non-empty string."""
        value = self.require(entry, key, video_id)
        if not isinstance(value, str) or not value:
            raise self.bad(f'must be a non-empty string, got '
                           f'{type(value).__name__} {value!r:.60}', video_id,
                           key)
        return value

    def boxes_field(self, value: Any, key: str, video_id: Any) -> np.ndarray:
        """``value`` checked to be a non-empty ``(N, 4)`` list of numbers."""
        return as_boxes(value, key, self.where(video_id))

    # ------------------------------------------------------------------ #
    # Videos found bad by tools/misc/check_dataset.py
    # ------------------------------------------------------------------ #
    def _load_bad_videos(self) -> None:
        self._bad_videos = None
        path = self.bad_videos_file
        if not path:
            return
        if self.data_root and not osp.isabs(path) and not osp.isfile(path):
            path = osp.join(self.data_root, path)
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'{type(self).__name__}: bad_videos_file {path} does not '
                'exist (write it with tools/misc/check_dataset.py CONFIG)')
        content = load_json(path)
        videos = content.get('videos') if isinstance(content, dict) else None
        if not isinstance(videos, dict):
            raise GroundingDataError(
                'must be {"videos": {video file: {"reason": ..., '
                '"decoded_frames": ...}}} as check_dataset.py writes it',
                ann_file=path, field='videos')
        self._bad_videos = {}
        for video, entry in videos.items():
            self._bad_videos[osp.normpath(video)] = entry
            self._bad_videos.setdefault(osp.basename(video), entry)

    def _apply_bad_videos(self, info: dict) -> dict:
        if not self._bad_videos:
            return info
        path = osp.normpath(info['video_path'])
        entry = self._bad_videos.get(path) or self._bad_videos.get(
            osp.basename(path))
        if entry is None:
            return info
        reason = entry.get('reason', 'unreadable')
        where = f'listed in {self.bad_videos_file}'
        if reason != 'short':
            raise ListedBadVideo(
                f'{where}: {reason} ({entry.get("detail", "")})',
                self.ann_file, info['video_id'], 'bad_videos_file')
        decoded = int(entry.get('decoded_frames', 0))
        message = (f'{where}: decodes {decoded} frames, the annotation says '
                   f'{info["num_frames"]}')
        if self.short_video == 'error':
            # Raised past on_bad_sample: the user asked for an error.
            error = self.bad(message + " (short_video='error')",
                             info['video_id'], 'bad_videos_file')
            raise ShortVideoError(str(error)) from None
        if self.short_video == 'skip':
            raise ListedBadVideo(message + " (short_video='skip')",
                                 self.ann_file, info['video_id'],
                                 'bad_videos_file')
        return self._clip_to_frames(info, decoded, message)

    def _clip_to_frames(self, info: dict, decoded: int, message: str) -> dict:
        """``short_video='clip'``: cut the sample to ``decoded`` frames."""
        start, end = info['gt_span_frames']
        clip = info['clip_span_frames']
        if decoded <= start or decoded <= clip[0]:
            raise self.bad(message + ': the span starts after the last '
                           "decoded frame (short_video='clip')",
                           info['video_id'], 'bad_videos_file')
        fps = info['fps']
        end = min(end, decoded)
        keep = info['gt_tube_frame_inds'] < decoded
        info.update(
            num_frames=decoded, duration=decoded / fps,
            gt_span_frames=[start, end],
            gt_span_seconds=(info['gt_span_seconds'][0],
                             min(info['gt_span_seconds'][1], decoded / fps)),
            gt_tube_frame_inds=info['gt_tube_frame_inds'][keep],
            gt_tube_boxes=info['gt_tube_boxes'][keep],
            clip_span_frames=[clip[0], min(clip[1], decoded)])
        self.num_clipped_short += 1
        return info

    # ------------------------------------------------------------------ #
    # Paths
    # ------------------------------------------------------------------ #
    @property
    def video_prefix(self) -> str:
        return self.data_prefix.get('video', '') or ''

    def resolve_video_path(self, relative: str, video_id: Any) -> str:
        """Full path of a video: ``<video prefix>/<relative>``.

        When that file does not exist, the video prefix is searched
        recursively for a file of the same name (some releases, e.g. TubeDETR's
        HC-STVG layout, keep videos in sub-folders). With
        ``check_video_exists`` a video found nowhere is bad input (field
        ``'video'``), recorded in :attr:`missing_videos`; one that
        ``bad_videos_file`` lists is skipped and counted.
        """
        path = osp.join(self.video_prefix, relative)
        found: Optional[str] = path
        if self.check_video_exists and not osp.isfile(path):
            found = self._find_in_index(osp.basename(relative))
        if found is None:
            self.missing_videos[path] = self.missing_videos.get(path, 0) + 1
        if self._scanning_paths:
            raise _VideoPathSeen(path)
        if found is None:
            self._raise_listed(path, video_id)
            error = self.bad(f'video file {path} does not exist', video_id,
                             'video')
            error.missing_video = path
            raise error
        return found

    def _raise_listed(self, path: str, video_id: Any) -> None:
        """Raise :class:`ListedBadVideo` if ``bad_videos_file`` lists the
        missing video ``path`` (the doctor lists missing videos too)."""
        if not self._bad_videos:
            return
        entry = self._bad_videos.get(osp.normpath(path)) or \
            self._bad_videos.get(osp.basename(path))
        if entry is not None:
            raise ListedBadVideo(
                f'listed in {self.bad_videos_file}: '
                f'{entry.get("reason", "missing")} (video file {path} does '
                'not exist)', self.ann_file, str(video_id), 'bad_videos_file')

    def _missing_video_error(self, error: GroundingDataError,
                             rest: Sequence[Any]) -> GroundingDataError:
        """The error of a missing video, counting the split's other missing
        videos: the entries after it are parsed only up to their video path,
        which is checked once with ``os.path.exists`` (no video is opened)."""
        self._scanning_paths = True
        try:
            for raw in rest:
                try:
                    self.parse_data_info(raw)
                except Exception:  # _VideoPathSeen, or bad before its path
                    pass
        finally:
            self._scanning_paths = False
        others = [path for path in self.missing_videos
                  if path != error.missing_video]
        samples = sum(self.missing_videos.values())
        if others:
            shown = ', '.join(others[:MISSING_EXAMPLES])
            more = ', ...' if len(others) > MISSING_EXAMPLES else ''
            count = (f'{len(others)} other video{"s" if len(others) > 1 else ""}'
                     f' of this split {"are" if len(others) > 1 else "is"} '
                     f'missing too ({len(self.missing_videos)} videos, '
                     f'{samples} samples in all): {shown}{more}')
        else:
            count = 'no other video of this split is missing'
        hint = ('; tools/misc/check_dataset.py lists the missing videos in '
                'bad_videos.json (reason "missing"), on_bad_sample=\'skip\' '
                'skips and counts them')
        missing = self.bad(f'{error.reason}; {count}{hint}', error.video_id,
                           error.field)
        missing.missing_video = error.missing_video
        return missing

    def with_known_meta(self, video_id: str, info: Dict[str, Any]) -> dict:
        """``info`` (a video's metadata from the annotations) completed from
        ``known_video_meta`` where it lacks a key of :data:`VIDEO_META_KEYS`."""
        known = self.known_video_meta.get(video_id) or {}
        return {**{key: known[key] for key in VIDEO_META_KEYS
                   if known.get(key) is not None}, **info}

    def _find_in_index(self, name: str) -> Optional[str]:
        if self._video_index is None:
            self._video_index = {}
            if osp.isdir(self.video_prefix):
                for root, _, files in os.walk(self.video_prefix):
                    for file in files:
                        self._video_index.setdefault(file, osp.join(root, file))
        return self._video_index.get(name)

    # ------------------------------------------------------------------ #
    # Validation
    # ------------------------------------------------------------------ #
    def finish_info(self,
                    *,
                    sample_id: str,
                    video_id: str,
                    video_path: str,
                    sentence: str,
                    num_frames: int,
                    fps: float,
                    height: int,
                    width: int,
                    span_frames: Sequence[int],
                    tube_frame_inds: Union[np.ndarray, Sequence[int]],
                    tube_boxes: Union[np.ndarray, Sequence[Sequence[float]]],
                    span_seconds: Optional[Sequence[float]] = None,
                    clip_span_frames: Optional[Sequence[int]] = None,
                    qtype: str = '',
                    task: Optional[str] = None,
                    span_field: str = 'span',
                    box_field: str = 'bbox',
                    source_id: Optional[str] = None,
                    **extra) -> dict:
        """Assemble a contract dict and check it; raises on bad input.

        Checks: the span is non-empty and inside ``[0, num_frames]``; every
        annotated frame lies inside the video; boxes are finite, have positive
        size and stay inside the frame up to ``box_tolerance`` pixels (then
        they are clipped to it).

        Args:
            span_field / box_field: source field names quoted in errors.
            source_id: the sample's id in the annotation file, quoted in
                errors (defaults to ``video_id``).
            Others: the contract values (see the module docstring).

        Returns:
            The contract dict (plus ``clip_span_frames`` and ``extra``).
        """
        contract_video_id = video_id
        video_id = source_id if source_id is not None else video_id
        where = self.where(video_id)
        num_frames = as_int(num_frames, 'num_frames', where, minimum=1)
        fps = check_fps(fps, 'fps', where)
        height = as_int(height, 'height', where, minimum=1)
        width = as_int(width, 'width', where, minimum=1)
        sentence, truncated = check_sentence(
            sentence, 'sentence', where, self.max_sentence_words,
            self.long_sentence)
        self.num_truncated += int(truncated)
        start = as_int(span_frames[0], span_field, where)
        end = as_int(span_frames[1], span_field, where)
        if not 0 <= start < end <= num_frames:
            raise self.bad(
                f'span [{start}, {end}) is empty or outside the video of '
                f'{num_frames} frames', video_id, span_field)
        inds = np.asarray(tube_frame_inds)
        if inds.size and inds.dtype.kind not in 'iu':
            raise self.bad(f'frame indices must be integers, got dtype '
                           f'{inds.dtype}', video_id, box_field)
        inds = inds.astype(np.int64).reshape(-1)
        boxes = as_boxes(tube_boxes, box_field, where,
                         allow_empty=True).astype(np.float32)
        if len(inds) != len(boxes):
            raise self.bad(f'{len(boxes)} boxes for {len(inds)} frames',
                           video_id, box_field)
        if len(inds):
            if inds.min() < 0 or inds.max() >= num_frames:
                raise self.bad(
                    f'annotated frames {int(inds.min())}..{int(inds.max())} '
                    f'outside the video of {num_frames} frames', video_id,
                    box_field)
            if (np.diff(inds) <= 0).any():
                raise self.bad('annotated frames are not strictly increasing',
                               video_id, box_field)
            self._check_boxes(boxes, height, width, video_id, box_field)
        if span_seconds is None:
            span_seconds = frames_to_seconds((start, end), fps)
        clip = (0, num_frames) if clip_span_frames is None else (
            int(clip_span_frames[0]), int(clip_span_frames[1]))
        if not 0 <= clip[0] < clip[1] <= num_frames:
            raise self.bad(f'clip [{clip[0]}, {clip[1]}) outside the video of '
                           f'{num_frames} frames', video_id, 'clip_span_frames')
        info = dict(
            sample_id=str(sample_id),
            video_id=str(contract_video_id),
            video_path=video_path,
            task=task or self.TASK,
            sentence=sentence,
            dataset_name=self.dataset_name,
            qtype=qtype,
            num_frames=num_frames,
            fps=fps,
            duration=num_frames / fps,
            height=height,
            width=width,
            gt_span_frames=[start, end],
            gt_span_seconds=(float(span_seconds[0]), float(span_seconds[1])),
            gt_tube_frame_inds=inds,
            gt_tube_boxes=boxes,
            clip_span_frames=list(clip))
        info.update(extra)
        return info

    def _check_boxes(self, boxes: np.ndarray, height: int, width: int,
                     video_id: Any, field: str) -> None:
        """Boxes must have positive size; with ``box_tolerance`` they must
        also stay inside the frame up to that many pixels. They are never
        changed here: the metric scores against the provider's boxes."""
        if ((boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1])).any():
            row = int(np.flatnonzero((boxes[:, 2] <= boxes[:, 0])
                                     | (boxes[:, 3] <= boxes[:, 1]))[0])
            raise self.bad(f'box {row} {boxes[row].tolist()} (xyxy) has no '
                           'area', video_id, field)
        tol = self.box_tolerance
        if tol is None:
            return
        outside = ((boxes[:, 0] < -tol) | (boxes[:, 1] < -tol)
                   | (boxes[:, 2] > width + tol) | (boxes[:, 3] > height + tol))
        if outside.any():
            row = int(np.flatnonzero(outside)[0])
            raise self.bad(
                f'box {row} {boxes[row].tolist()} (xyxy) is outside the '
                f'{width}x{height} frame by more than box_tolerance={tol} px',
                video_id, field)

    # ------------------------------------------------------------------ #
    # Samples
    # ------------------------------------------------------------------ #
    def get_data_info(self, idx: int) -> dict:
        """The contract dict of sample ``idx`` plus ``ann_file`` (for errors),
        ``time_axis`` (:attr:`TIME_AXIS`),
        ``ann_file_hash`` (its content's digest, which prediction dumps
        record) and, inside a mixture, a ``prompt_template`` (random at
        training time, ``templates[idx % n]`` at test time)."""
        info = super().get_data_info(idx)
        info['ann_file'] = self.ann_file
        info.setdefault('time_axis', self.TIME_AXIS)
        info['ann_file_hash'] = self.ann_file_hash
        # LoadGroundingAnnotations clips the training targets, not the
        # boxes the metric scores.
        info['test_mode'] = self.test_mode
        if self.prompt_templates:
            templates = self.prompt_templates
            pick = idx % len(templates) if self.test_mode else \
                np.random.randint(len(templates))
            info['prompt_template'] = templates[pick]
        return info

    def prepare_data(self, idx: int) -> Any:
        """Run the pipeline; a :class:`GroundingDataError` raised by it (an
        unreadable video) is re-raised, or with ``on_bad_sample='skip'`` at
        training time counted, logged and answered with None so that MMEngine
        draws another sample."""
        try:
            return super().prepare_data(idx)
        except GroundingDataError as error:
            if self.on_bad_sample == 'skip' and not self.test_mode:
                self._handle_bad(error, log_first=True)
                return None
            raise

    def get_cat_ids(self, idx: int) -> List[int]:  # pragma: no cover - n/a
        return []
