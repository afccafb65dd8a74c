"""DiDeMo: ``{train,val,test}_data.json`` -> mmstvg's TVG json.

Input, as published by Hendricks et al. (LocalizingMoments, ``data/``): a
list of ``{"annotation_id", "description", "video" (the Flickr file name,
e.g. ``"12090392@N02_13482799053_87ef417396.mov"``), "times" (one
``[start, end]`` per annotator, *inclusive* indices of 5-second segments,
0..5), "download_link", "num_segments"}``.

Output: :class:`mmstvg.datasets.DiDeMoDataset`'s json; each annotator's
moment in seconds is ``[5 * start, 5 * (end + 1)]`` (so 5-second moments
are kept exactly; DiDeMo's evaluator, which works on segment indices,
gives the same IoUs).

A video is its Flickr id, the file name without its extension: the release
names some videos twice, with two extensions (``<id>.mov`` and
``<id>.mp4``); their sentences go to one video (the file name met first),
and the report says so in a line of its own: ``merged N file names into M
videos (same Flickr id, other extension)`` (the test split: 1,037 file
names, 1,004 videos).
"""
import numbers
import os.path as osp
from typing import Dict, List, Optional

from ..validation import GroundingDataError, load_json
from .report import ConversionReport, probe_videos, progress, write_json

__all__ = ['convert_didemo', 'report_merged_names', 'SEGMENT_SECONDS']

#: DiDeMo's segment length.
SEGMENT_SECONDS = 5.0


def report_merged_names(names_of: Dict[str, List[str]], videos: Dict[str, dict],
                        report: ConversionReport) -> None:
    """Say how many file names went into how many videos, when a Flickr id
    came with more than one extension (one example named).

    Args:
        names_of: each Flickr id's file names, as the release writes them.
        videos: the converted videos (``{id: {"video": file}}``).
        report: the conversion's report.
    """
    num_names = sum(len(names) for names in names_of.values())
    merged = [vid for vid, names in names_of.items() if len(names) > 1]
    if not merged:
        return
    report.note('file names merged into the video of the same Flickr id',
                num_names - len(names_of))
    example = merged[0]
    report.say(f'merged {num_names} file names into {len(names_of)} videos '
               f'(same Flickr id, other extension; e.g. '
               f'{" + ".join(names_of[example])} -> {videos[example]["video"]})')


def convert_didemo(ann_file: str, out_file: str,
                   video_dir: Optional[str] = None,
                   video_ext: Optional[str] = None,
                   show_progress: bool = True) -> ConversionReport:
    """Convert one DiDeMo split (see the module docstring).

    Args:
        ann_file: ``train_data.json`` / ``val_data.json`` / ``test_data.json``.
        out_file: the json to write.
        video_dir: the videos; given, their frame counts, fps and sizes are
            written and missing / unreadable videos dropped.
        video_ext: replaces the extension of the ``video`` names (the
            downloads are often transcoded to ``.mp4``); None: as written.
    """
    report = ConversionReport(f'DiDeMo {osp.basename(ann_file)}')
    entries = load_json(ann_file)
    if not isinstance(entries, list):
        raise GroundingDataError('must be a list of DiDeMo entries, got '
                                 f'{type(entries).__name__}',
                                 ann_file=ann_file, field='<top level>')
    videos, annotations = {}, []
    names_of: Dict[str, List[str]] = {}  # Flickr id -> its file names
    for entry in progress(entries, show_progress):
        name = entry.get('video') if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name:
            report.drop('entry without a video name', repr(entry)[:60])
            continue
        times = entry.get('times')
        if not isinstance(times, list) or not times or not all(
                isinstance(t, list) and len(t) == 2 and all(
                    isinstance(v, numbers.Integral) and not isinstance(v, bool)
                    for v in t) and 0 <= t[0] <= t[1] for t in times):
            report.drop('times is not a list of [start, end] segment indices',
                        entry.get('annotation_id'))
            continue
        sentence = entry.get('description')
        if not isinstance(sentence, str) or not sentence.strip():
            report.drop('description is not a non-empty string',
                        entry.get('annotation_id'))
            continue
        file_name = name if video_ext is None else \
            osp.splitext(name)[0] + video_ext
        vid = osp.splitext(name)[0]
        videos.setdefault(vid, dict(video=file_name))
        if name not in names_of.setdefault(vid, []):
            names_of[vid].append(name)
        annotations.append(dict(
            id=f'{vid}#{entry.get("annotation_id", len(annotations))}',
            video_id=vid, sentence=sentence,
            spans_seconds=[[SEGMENT_SECONDS * s, SEGMENT_SECONDS * (e + 1)]
                           for s, e in times]))
    report_merged_names(names_of, videos, report)
    if video_dir is not None:
        probed = probe_videos(
            {v: osp.join(video_dir, info['video'])
             for v, info in videos.items()}, report, show_progress)
        kept = [a for a in annotations if a['video_id'] in probed]
        if len(kept) != len(annotations):
            report.note('sentences of missing / unreadable videos dropped',
                        len(annotations) - len(kept))
        annotations = kept
        videos = {v: dict(info, **probed[v]) for v, info in videos.items()
                  if v in probed}
    report.keep(len(annotations))
    report.check_kept(ann_file)
    write_json(dict(dataset='didemo', videos=videos, annotations=annotations),
               out_file)
    return report
