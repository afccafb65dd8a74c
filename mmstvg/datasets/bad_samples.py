"""What a grounding dataset does with a bad sample, and what it counted.

:class:`BadSamplePolicy` is the one place that decides between raising and
skipping (``on_bad_sample``), counts the skipped samples per field and logs
them once, keeps the videos found nowhere (and, on the first one, counts the
split's other missing videos for the error), and applies the
``bad_videos.json`` that ``tools/misc/check_dataset.py`` writes (unreadable
videos skipped, short ones skipped, clipped or refused by ``short_video``).
:class:`~mmstvg.datasets.BaseGroundingDataset` holds one and delegates to it.
"""
import os.path as osp
from collections import Counter
from typing import Any, Callable, Dict, Iterable, Optional

from mmengine.logging import MMLogger

from .validation import GroundingDataError, check_option, load_json

__all__ = ['BadSamplePolicy', 'ListedBadVideo', 'ShortVideoError',
           'VideoPathSeen', 'BAD_SAMPLE_POLICIES', 'SHORT_VIDEO_POLICIES']

BAD_SAMPLE_POLICIES = ('error', 'skip')
SHORT_VIDEO_POLICIES = ('skip', 'clip', 'error')
#: Missing videos named in the error beside the first one.
MISSING_EXAMPLES = 5

#: ``make_error(message, video_id, field)``: the dataset's error for a bad
#: sample (:meth:`BaseGroundingDataset.bad`).
ErrorMaker = Callable[[str, Any, str], GroundingDataError]


class ListedBadVideo(GroundingDataError):
    """A sample whose video ``bad_videos_file`` lists (always skipped and
    counted, whatever ``on_bad_sample`` says)."""


class ShortVideoError(RuntimeError):
    """A short-decoding video met with ``short_video='error'`` (raised even
    with ``on_bad_sample='skip'``)."""


class VideoPathSeen(Exception):
    """Stops parsing an entry once its video path is known (the scan of the
    split's missing videos, :meth:`BadSamplePolicy.missing_video_error`)."""


class BadSamplePolicy:
    """Raise on a bad sample or skip it, count and log it; missing and listed videos.

    Args:
        on_bad_sample: ``'error'`` raises the sample's
            :class:`GroundingDataError`; ``'skip'`` drops the sample and counts
            it per field (the first of each field is kept as an example).
        bad_videos_file: the ``bad_videos.json`` of
            ``tools/misc/check_dataset.py`` as configured (quoted in
            messages); :meth:`load_bad_videos` reads it.
        short_video: a listed video that decodes fewer frames than annotated
            is ``'skip'``-ped, ``'clip'``-ped to the decoded frames, or an
            ``'error'`` (:class:`ShortVideoError`, whatever ``on_bad_sample``).
    """

    def __init__(self, on_bad_sample: str = 'error',
                 bad_videos_file: Optional[str] = None,
                 short_video: str = 'skip'):
        check_option('on_bad_sample', on_bad_sample, BAD_SAMPLE_POLICIES)
        check_option('short_video', short_video, SHORT_VIDEO_POLICIES)
        self.on_bad_sample = on_bad_sample
        self.bad_videos_file = bad_videos_file
        self.short_video = short_video
        #: Skipped samples per field.
        self.skipped: Counter = Counter()
        #: One example message per skipped field (for the summary).
        self.skip_examples: Dict[str, str] = {}
        #: ``{video path: samples}`` of the videos found nowhere (at load).
        self.missing_videos: Dict[str, int] = {}
        self.num_clipped_short = 0
        #: True while :meth:`missing_video_error` scans the other entries.
        self.scanning = False
        self._bad_videos: Optional[Dict[str, dict]] = None

    # ------------------------------------------------------------------ #
    # Raise or skip, count, log once
    # ------------------------------------------------------------------ #
    @property
    def num_skipped(self) -> int:
        """Number of samples dropped as bad input so far (this process)."""
        return sum(self.skipped.values())

    def handle(self, error: GroundingDataError, log_first: bool = False) -> None:
        """Raise ``error`` (``on_bad_sample='error'``) or count it as skipped.

        Args:
            error: the sample's error.
            log_first: log the first skip of each field as it happens (the
                pipeline's skips, met after loading); loading logs one summary.
        """
        if self.on_bad_sample == 'error':
            raise error
        self.count(error, log_first)

    def count(self, error: GroundingDataError, log_first: bool = False) -> None:
        """Count ``error``'s sample as skipped, whatever ``on_bad_sample`` says."""
        field = error.field or 'unknown'
        first = field not in self.skip_examples
        self.skipped[field] += 1
        if first:
            self.skip_examples[field] = f'{error.video_id}: {error.reason}'
        if log_first and first:
            MMLogger.get_current_instance().warning(
                f'skipping bad sample: {error} (further skips of field '
                f'{field!r} are counted, not logged)')

    def summary(self, owner: str, num_entries: Optional[int] = None) -> str:
        """One line: how many samples were skipped, per field, with an
        example of each.

        Args:
            owner: who skipped them, e.g. ``'HCSTVGDataset (ann.json)'``.
            num_entries: the entries of the file, when known.
        """
        total = '' if num_entries is None else f' of {num_entries} entries'
        examples = '; '.join(f'{field}: e.g. {self.skip_examples[field]}'
                             for field in self.skipped
                             if field in self.skip_examples)
        missing = ''
        if self.missing_videos:
            missing = (f'; {len(self.missing_videos)} videos missing '
                       f'({sum(self.missing_videos.values())} samples)')
        return (f'{owner}: skipped {self.num_skipped}{total} as bad samples, '
                f'by field: {dict(self.skipped)} ({examples}){missing}')

    # ------------------------------------------------------------------ #
    # Missing videos
    # ------------------------------------------------------------------ #
    def record_missing(self, path: str) -> None:
        """Count one more sample of the video ``path``, found nowhere."""
        self.missing_videos[path] = self.missing_videos.get(path, 0) + 1

    def missing_video_error(self, error: GroundingDataError,
                            rest: Iterable[Any], parse: Callable[[Any], Any],
                            make_error: ErrorMaker) -> GroundingDataError:
        """The error of a missing video, counting the split's other missing videos.

        The entries after it are parsed with ``parse`` only up to their video
        path (the dataset raises :class:`VideoPathSeen` while
        :attr:`scanning`), which is checked once with ``os.path.exists``: no
        video is opened.

        Args:
            error: the first missing video's error (``error.missing_video``
                is its path).
            rest: the raw entries after the one that raised ``error``.
            parse: the dataset's ``parse_data_info``.
            make_error: the dataset's error for a bad sample.
        """
        self.scanning = True
        try:
            for raw in rest:
                try:
                    parse(raw)
                except Exception:  # VideoPathSeen, or bad before its path
                    pass
        finally:
            self.scanning = False
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
        missing = make_error(f'{error.reason}; {count}{hint}', error.video_id,
                             error.field)
        missing.missing_video = error.missing_video
        return missing

    # ------------------------------------------------------------------ #
    # Videos found bad by tools/misc/check_dataset.py
    # ------------------------------------------------------------------ #
    def load_bad_videos(self, path: Optional[str]) -> None:
        """Read ``bad_videos.json`` from ``path`` (the configured file,
        resolved); None: no file."""
        self._bad_videos = None
        if not path:
            return
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

    def _listed(self, path: str) -> Optional[dict]:
        if not self._bad_videos:
            return None
        path = osp.normpath(path)
        return self._bad_videos.get(path) or self._bad_videos.get(
            osp.basename(path))

    def raise_if_listed(self, path: str, video_id: Any,
                        ann_file: Optional[str]) -> None:
        """Raise :class:`ListedBadVideo` if ``bad_videos_file`` lists the
        missing video ``path`` (the doctor lists missing videos too)."""
        entry = self._listed(path)
        if entry is not None:
            raise ListedBadVideo(
                f'listed in {self.bad_videos_file}: '
                f'{entry.get("reason", "missing")} (video file {path} does '
                'not exist)', ann_file, str(video_id), 'bad_videos_file')

    def apply_bad_videos(self, info: dict, make_error: ErrorMaker,
                         ann_file: Optional[str]) -> dict:
        """``info`` unchanged, or clipped to the frames its listed video
        decodes (``short_video='clip'``).

        Raises:
            ListedBadVideo: the video is listed as unreadable, or as short
                with ``short_video='skip'``.
            ShortVideoError: it is listed as short with ``short_video='error'``.
        """
        entry = self._listed(info['video_path'])
        if entry is None:
            return info
        reason = entry.get('reason', 'unreadable')
        where = f'listed in {self.bad_videos_file}'
        if reason != 'short':
            raise ListedBadVideo(
                f'{where}: {reason} ({entry.get("detail", "")})',
                ann_file, info['video_id'], 'bad_videos_file')
        decoded = int(entry.get('decoded_frames', 0))
        message = (f'{where}: decodes {decoded} frames, the annotation says '
                   f'{info["num_frames"]}')
        if self.short_video == 'error':
            # Raised past on_bad_sample: the user asked for an error.
            error = make_error(message + " (short_video='error')",
                               info['video_id'], 'bad_videos_file')
            raise ShortVideoError(str(error)) from None
        if self.short_video == 'skip':
            raise ListedBadVideo(message + " (short_video='skip')", ann_file,
                                 info['video_id'], 'bad_videos_file')
        return self._clip_to_frames(info, decoded, message, make_error)

    def _clip_to_frames(self, info: dict, decoded: int, message: str,
                        make_error: ErrorMaker) -> dict:
        """``short_video='clip'``: cut the sample to ``decoded`` frames."""
        start, end = info['gt_span_frames']
        clip = info['clip_span_frames']
        if decoded <= start or decoded <= clip[0]:
            raise make_error(message + ': the span starts after the last '
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
