"""TACoS: 2D-TAN's ``{train,val,test}.json`` -> mmstvg's TVG json.

Input, as published by 2D-TAN (``data/TACoS/``; also read by MMN and most
later TACoS code): a dict keyed by the video file (``"s13-d21.avi"``) with
``num_frames``, ``fps``, ``timestamps`` (one ``[start, end]`` **frame**
pair a sentence) and ``sentences``; seconds are ``frame / fps`` and the
video lasts ``num_frames / fps`` (the span's end is clipped to it, as
2D-TAN does).

Output: :class:`mmstvg.datasets.TACoSDataset`'s json (one span a sentence).

2D-TAN's ``test.json`` holds 4,001 test moments where the published split
statistics say 4,083 (see ``docs/en/dataset_prepare.md``): the report's
``kept`` is the number scored.
"""
import math
import numbers
import os.path as osp
from typing import Optional

from ..validation import GroundingDataError, load_json
from .report import ConversionReport, probe_videos, progress, write_json

__all__ = ['convert_tacos']


def _number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) \
        and math.isfinite(value)


def convert_tacos(ann_file: str, out_file: str,
                  video_dir: Optional[str] = None,
                  show_progress: bool = True) -> ConversionReport:
    """Convert one TACoS split (see the module docstring)."""
    report = ConversionReport(f'TACoS {osp.basename(ann_file)}')
    raw = load_json(ann_file)
    if not isinstance(raw, dict):
        raise GroundingDataError('must be a dict keyed by video file, got '
                                 f'{type(raw).__name__}', ann_file=ann_file,
                                 field='<top level>')
    videos, annotations = {}, []
    for name, entry in progress(list(raw.items()), show_progress):
        vid = osp.splitext(name)[0]
        if not isinstance(entry, dict) or not all(
                k in entry for k in ('num_frames', 'fps', 'timestamps',
                                     'sentences')):
            report.drop('video entry lacks num_frames / fps / timestamps / '
                        'sentences', name)
            continue
        fps, num_frames = entry['fps'], entry['num_frames']
        if not (_number(fps) and fps > 0 and _number(num_frames)
                and num_frames > 0):
            report.drop('fps / num_frames not positive numbers', name,
                        len(entry['sentences']))
            continue
        stamps, sentences = entry['timestamps'], entry['sentences']
        if not isinstance(stamps, list) or not isinstance(sentences, list) \
                or len(stamps) != len(sentences):
            report.drop('timestamps and sentences differ in length', name)
            continue
        duration = num_frames / fps
        for index, (stamp, sentence) in enumerate(zip(stamps, sentences)):
            if not (isinstance(stamp, list) and len(stamp) == 2
                    and all(_number(v) for v in stamp)):
                report.drop('timestamp is not [start, end] frames',
                            f'{name}#{index}')
                continue
            if not isinstance(sentence, str) or not sentence.strip():
                report.drop('sentence is not a non-empty string',
                            f'{name}#{index}')
                continue
            start = max(stamp[0] / fps, 0.0)
            end = min(stamp[1] / fps, duration)
            if end < stamp[1] / fps:
                report.note('spans clipped to the video length')
            if end <= start:
                report.drop('empty span', f'{name}#{index} {stamp}')
                continue
            annotations.append(dict(id=f'{vid}#{index}', video_id=vid,
                                    sentence=sentence,
                                    spans_seconds=[[start, end]]))
        videos[vid] = dict(video=name, num_frames=int(num_frames),
                           fps=float(fps))
    if video_dir is not None:
        probed = probe_videos({v: osp.join(video_dir, info['video'])
                               for v, info in videos.items()}, report,
                              show_progress)
        for vid, meta in probed.items():
            videos[vid].update(height=meta['height'], width=meta['width'])
            if meta['num_frames'] < videos[vid]['num_frames']:
                report.note('videos decoding fewer frames than num_frames')
        annotations = [a for a in annotations if a['video_id'] in probed]
        videos = {v: i for v, i in videos.items() if v in probed}
    report.keep(len(annotations))
    report.check_kept(ann_file)
    write_json(dict(dataset='tacos', videos=videos, annotations=annotations),
               out_file)
    return report
