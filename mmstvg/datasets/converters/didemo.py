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
"""
import numbers
import os.path as osp
from typing import Optional

from ..validation import GroundingDataError, load_json
from .report import ConversionReport, probe_videos, progress, write_json

__all__ = ['convert_didemo', 'SEGMENT_SECONDS']

#: DiDeMo's segment length.
SEGMENT_SECONDS = 5.0


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
        annotations.append(dict(
            id=f'{vid}#{entry.get("annotation_id", len(annotations))}',
            video_id=vid, sentence=sentence,
            spans_seconds=[[SEGMENT_SECONDS * s, SEGMENT_SECONDS * (e + 1)]
                           for s, e in times]))
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
    write_json(dict(dataset='didemo', videos=videos, annotations=annotations),
               out_file)
    return report
