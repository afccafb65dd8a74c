"""HC-STVG v1 / v2: check and normalise the provider's raw json.

Inputs, as published (the provider's README): a dict keyed by the video file
(``"55_vfjywN5CN0Y.mp4"``); per video ``st_frame`` (1-based), ``bbox`` (one
``[x, y, w, h]`` per frame from ``st_frame``), ``img_num`` (frame count),
``st_time`` / ``ed_time`` (seconds), and ``caption`` + ``width`` +
``height`` (v1) or ``English`` + ``img_size = [height, width]`` (v2).

Output: the same format (v1 keys stay v1, v2 keys v2, so
:class:`mmstvg.datasets.HCSTVGDataset` / ``HCSTVGv2Dataset`` read it), with
the entries that would fail dropped and counted per reason. Given the videos
(``video_dir``), each kept entry gets the decoded ``fps`` (so no
``img_num / 20`` guess is needed) and videos that are missing, unreadable
or decode fewer frames than ``img_num`` (beyond ``frame_tolerance``) are
dropped and counted.
"""
import math
import numbers
import os
import os.path as osp
from typing import Optional

from ..validation import GroundingDataError, load_json
from .report import ConversionReport, probe_videos, progress, write_json

__all__ = ['convert_hcstvg', 'check_hcstvg_entry']


def _is_int(value) -> bool:
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and float(value).is_integer())


def check_hcstvg_entry(entry, version: int) -> Optional[str]:
    """The reason ``entry`` is unusable, or None."""
    if not isinstance(entry, dict):
        return 'entry is not a dict'
    caption_key = 'caption' if version == 1 else 'English'
    keys = ['st_frame', 'bbox', 'img_num', caption_key] + (
        ['width', 'height'] if version == 1 else ['img_size'])
    for key in keys:
        if key not in entry:
            return f'missing key {key!r}'
    for key in ('st_frame', 'img_num'):
        if not _is_int(entry[key]):
            return f'{key} is not an integer'
    if not isinstance(entry[caption_key], str) or not entry[caption_key].strip():
        return f'{caption_key} is not a non-empty string'
    size = [entry['height'], entry['width']] if version == 1 else \
        entry['img_size']
    if not isinstance(size, list) or len(size) != 2 or not all(
            _is_int(v) and v > 0 for v in size):
        return 'frame size is not two positive integers'
    boxes = entry['bbox']
    if not isinstance(boxes, list) or not boxes or not all(
            isinstance(b, list) and len(b) == 4 and all(
                isinstance(v, numbers.Real) and not isinstance(v, bool)
                and math.isfinite(v) for v in b) for b in boxes):
        return 'bbox is not a non-empty list of 4 finite numbers'
    if any(b[2] <= 0 or b[3] <= 0 for b in boxes):
        return 'box with no area'
    if entry['st_frame'] < 1 or entry['st_frame'] - 1 + len(boxes) > \
            entry['img_num']:
        return 'st_frame + len(bbox) outside img_num'
    return None


def convert_hcstvg(ann_file: str, out_file: str, version: int = 1,
                   video_dir: Optional[str] = None, frame_tolerance: int = 3,
                   show_progress: bool = True) -> ConversionReport:
    """Check and normalise one HC-STVG annotation file.

    Args:
        ann_file: the provider's json (e.g. ``test.json``, ``valv2.json``).
        out_file: the json to write.
        version: 1 or 2 (the key names differ).
        video_dir: the videos (searched recursively by file name); None:
            no video checks and no ``fps``.
        frame_tolerance: a video may decode this many frames fewer than
            ``img_num``.
        show_progress: show progress bars.
    """
    if version not in (1, 2):
        raise ValueError(f'version must be 1 or 2, got {version}')
    report = ConversionReport(f'HC-STVG v{version} {osp.basename(ann_file)}')
    raw = load_json(ann_file)
    if not isinstance(raw, dict):
        raise GroundingDataError(
            f'must be a dict keyed by video file, got {type(raw).__name__}',
            ann_file=ann_file, field='<top level>')
    kept = {}
    for video, entry in progress(list(raw.items()), show_progress):
        reason = check_hcstvg_entry(entry, version)
        if reason is not None:
            report.drop(reason, video)
            continue
        kept[video] = dict(entry)
    if video_dir is not None:
        index = {}
        for root, _, files in os.walk(video_dir):
            for name in files:
                index.setdefault(name, osp.join(root, name))
        metas = probe_videos(
            {v: index.get(v, osp.join(video_dir, v)) for v in kept}, report,
            show_progress)
        for video in list(kept):
            meta = metas.get(video)
            if meta is None:
                del kept[video]
                continue
            if meta['num_frames'] < kept[video]['img_num'] - frame_tolerance:
                report.drop('video decodes fewer frames than img_num',
                            f'{video} ({meta["num_frames"]} < '
                            f'{kept[video]["img_num"]})')
                del kept[video]
                continue
            if meta['num_frames'] != kept[video]['img_num']:
                report.note('videos whose decoded frame count differs from '
                            'img_num (within the tolerance, kept)')
            kept[video]['fps'] = meta['fps']
    report.keep(len(kept))
    report.check_kept(ann_file)
    write_json(kept, out_file)
    return report
