"""The base of every grounding dataset: loading, video paths and typed fields.

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
path checked once with ``os.path.exists``) and names the first few.

Two modules hold the parts: :mod:`mmstvg.datasets.validation` the checks and
:func:`~mmstvg.datasets.validation.build_data_info`, which assembles the
contract dict (shared with the inferencer), and
:mod:`mmstvg.datasets.bad_samples` the policy (:class:`BadSamplePolicy`: raise
or skip and count, missing videos, ``bad_videos.json``).
"""
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import MMLogger

from mmstvg.models.language.questions import QUESTION_TEMPLATES_KEY
from .bad_samples import (BadSamplePolicy, ListedBadVideo, ShortVideoError,
                          VideoPathSeen)
from .validation import (DEFAULT_MAX_SENTENCE_WORDS, SENTENCE_POLICIES,
                         DataInfoChecks, GroundingDataError, as_boxes, as_float,
                         as_int, check_option, file_digest, load_json)

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

def _policy_attribute(name: str, doc: str) -> property:
    """A read-only attribute of the dataset's :class:`BadSamplePolicy`."""
    return property(lambda self: getattr(self.bad_samples, name), doc=doc)


class BaseGroundingDataset(BaseDataset):
    """Common base of the grounding datasets (STVG, TVG, REC).

    Subclasses implement :meth:`load_raw_annotations` (read the source files
    into a list of raw entries) and :meth:`parse_data_info` (one raw entry ->
    one contract dict, or a list of them); they call :meth:`bad` to report a
    problem, :meth:`int_field` / :meth:`float_field` / :meth:`boxes_field` to
    read typed values and
    :func:`~mmstvg.datasets.validation.build_data_info` with
    :attr:`info_checks` to fill the derived keys and validate. Bad samples
    are raised or skipped by :attr:`bad_samples`
    (:class:`~mmstvg.datasets.bad_samples.BadSamplePolicy`).

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
        check_option('long_sentence', long_sentence, SENTENCE_POLICIES)
        #: Raise or skip a bad sample, and what was skipped.
        self.bad_samples = BadSamplePolicy(on_bad_sample, bad_videos_file,
                                           short_video)
        self.dataset_name = dataset_name or self.DEFAULT_NAME
        self.dataset_name_given = dataset_name is not None
        self.check_video_exists = check_video_exists
        self.box_tolerance = None if box_tolerance is None else \
            float(box_tolerance)
        self.max_sentence_words = max_sentence_words
        self.long_sentence = long_sentence
        self.bad_videos_file = bad_videos_file
        self.known_video_meta = dict(known_video_meta or {})
        #: :func:`file_digest` of ``ann_file`` (set at load; see
        #: :meth:`get_data_info`).
        self.ann_file_hash: Optional[str] = None
        #: What ``build_data_info`` checks this file's samples against (made
        #: at load, when ``ann_file`` is final).
        self.info_checks: Optional[DataInfoChecks] = None
        #: Set by :class:`UniSTGDataset`: question templates of this dataset's
        #: task, handed to the pipeline's ``ChooseQuestionTemplate``.
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
        self.info_checks = self._make_info_checks()
        self.bad_samples.load_bad_videos(self._bad_videos_path())
        self.bad_samples.missing_videos = {}
        data_list = []
        seen_ids: set = set()
        raw_entries = self.load_raw_annotations()
        for index, raw in enumerate(raw_entries):
            try:
                parsed = self.parse_data_info(raw)
                parsed = parsed if isinstance(parsed, list) else [parsed]
                parsed = [self.bad_samples.apply_bad_videos(
                    info, self.bad, self.ann_file) for info in parsed]
                self._check_unique_ids(parsed, seen_ids)
            except ListedBadVideo as error:
                # The user listed the video to skip: counted whatever
                # on_bad_sample says.
                self.bad_samples.count(error)
                continue
            except GroundingDataError as error:
                if self.on_bad_sample == 'error' and \
                        getattr(error, 'missing_video', None):
                    raise self.bad_samples.missing_video_error(
                        error, raw_entries[index + 1:], self.parse_data_info,
                        self.bad) from None
                self.bad_samples.handle(error)
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
        return self.bad_samples.summary(
            f'{type(self).__name__} ({self.ann_file})', num_entries)

    # What the policy counted, read as the dataset's own (the tools and the
    # tests read ``dataset.skipped`` ...).
    on_bad_sample = _policy_attribute('on_bad_sample', "``'error'`` or ``'skip'``.")
    num_skipped = _policy_attribute(
        'num_skipped', 'Number of samples dropped as bad input so far (this process).')
    skipped = _policy_attribute('skipped', 'Skipped samples per field (a Counter).')
    missing_videos = _policy_attribute(
        'missing_videos', '``{video path: samples}`` of the videos found nowhere (at load).')
    num_clipped_short = _policy_attribute(
        'num_clipped_short', 'Samples clipped to the frames their video decodes.')

    @property
    def num_truncated(self) -> int:
        """Sentences cut to ``max_sentence_words`` at load."""
        return self.info_checks.num_truncated if self.info_checks else 0

    def _make_info_checks(self) -> DataInfoChecks:
        return DataInfoChecks(
            ann_file=self.ann_file, dataset_name=self.dataset_name,
            task=self.TASK, max_sentence_words=self.max_sentence_words,
            long_sentence=self.long_sentence, box_tolerance=self.box_tolerance)

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

    def _bad_videos_path(self) -> Optional[str]:
        """``bad_videos_file``, relative to ``data_root`` unless found as given."""
        path = self.bad_videos_file
        if not path:
            return None
        if self.data_root and not osp.isabs(path) and not osp.isfile(path):
            path = osp.join(self.data_root, path)
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'{type(self).__name__}: bad_videos_file {path} does not '
                'exist (write it with tools/misc/check_dataset.py CONFIG)')
        return path

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
            self.bad_samples.record_missing(path)
        if self.bad_samples.scanning:
            raise VideoPathSeen(path)
        if found is None:
            self.bad_samples.raise_if_listed(path, video_id, self.ann_file)
            error = self.bad(f'video file {path} does not exist', video_id,
                             'video')
            error.missing_video = path
            raise error
        return found

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
    # Samples
    # ------------------------------------------------------------------ #
    def get_data_info(self, idx: int) -> dict:
        """The contract dict of sample ``idx`` plus ``ann_file`` (for errors),
        ``time_axis`` (:attr:`TIME_AXIS`),
        ``ann_file_hash`` (its content's digest, which prediction dumps
        record) and, inside a mixture, the ``question_templates`` of its task
        (the pipeline's ``ChooseQuestionTemplate`` picks one)."""
        info = super().get_data_info(idx)
        info['ann_file'] = self.ann_file
        info.setdefault('time_axis', self.TIME_AXIS)
        info['ann_file_hash'] = self.ann_file_hash
        # LoadGroundingAnnotations clips the training targets, not the
        # boxes the metric scores.
        info['test_mode'] = self.test_mode
        if self.prompt_templates:
            info[QUESTION_TEMPLATES_KEY] = list(self.prompt_templates)
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
                self.bad_samples.handle(error, log_first=True)
                return None
            raise

    def get_cat_ids(self, idx: int) -> List[int]:  # pragma: no cover - n/a
        return []
