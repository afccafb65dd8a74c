"""Charades-STA: the split files + ``Charades_v1_*.csv`` -> ``video_meta.json``.

Inputs, as published: Charades-STA's ``charades_sta_{train,test}.txt`` (one
sample a line, ``"<VID> <start s> <end s>##<sentence>"``) and Charades'
``Charades_v1_{train,test}.csv`` (columns ``id, subject, scene, quality,
relevance, verified, script, objects, descriptions, actions, length``;
``length`` is the official video length in seconds, which 2D-TAN clips the
spans to).

Output: the ``meta_file`` of :class:`mmstvg.datasets.CharadesSTADataset`,
``{VID: {"length": s[, "num_frames", "fps", "height", "width",
"duration"]}}`` for every video the split files name. With ``video_dir``
the decoded frame counts, fps and sizes are added (the dataset then opens
no video at load time); without it they are probed at load time.
"""
import csv
import io
import math
import os.path as osp
from typing import Dict, List, Optional, Sequence

from ..validation import read_text
from .report import ConversionReport, probe_videos, progress, write_json

__all__ = ['convert_charades_sta', 'read_charades_lengths']


def read_charades_lengths(csv_files: Sequence[str],
                          report: ConversionReport) -> Dict[str, float]:
    """``{id: length}`` from ``Charades_v1_*.csv`` files."""
    lengths = {}
    for path in csv_files:
        rows = csv.DictReader(io.StringIO(read_text(path)))
        if rows.fieldnames is None or not {'id', 'length'} <= set(
                rows.fieldnames):
            raise ValueError(f'{path}: expected the columns "id" and "length" '
                             f'of Charades_v1_*.csv, got {rows.fieldnames}')
        for row in rows:
            try:
                length = float(row['length'])
            except (TypeError, ValueError):
                report.drop('csv length is not a number', row.get('id'))
                continue
            if not math.isfinite(length) or length <= 0:
                report.drop('csv length is not positive', row.get('id'))
                continue
            lengths[row['id']] = length
    return lengths


def convert_charades_sta(split_files: Sequence[str], csv_files: Sequence[str],
                         out_file: str, video_dir: Optional[str] = None,
                         video_ext: str = '.mp4',
                         show_progress: bool = True) -> ConversionReport:
    """Write the meta file of the videos the split files name.

    Lines are counted (kept, or dropped when malformed or their video has no
    csv length); lines ending past the csv length are counted as a note
    (the dataset clips them, ``clip_end_to='length'``). Videos missing or
    unreadable under ``video_dir`` are a note too: they stay in the meta
    (length only) and their lines stay kept.

    Raises:
        FileNotFoundError: when ``video_dir`` is given but is not a folder.
        GroundingDataError: when no line was kept (nothing is written).
    """
    report = ConversionReport('Charades-STA ' + ', '.join(
        osp.basename(f) for f in split_files))
    lengths = read_charades_lengths(csv_files, report)
    videos: List[str] = []
    seen = set()
    for path in split_files:
        lines = [line.strip() for line in read_text(path).splitlines()]
        for number, line in enumerate(progress(lines, show_progress), 1):
            if not line:
                continue
            head, sep, sentence = line.partition('##')
            parts = head.split()
            try:
                assert sep and len(parts) == 3 and sentence.strip()
                start, end = float(parts[1]), float(parts[2])
            except (AssertionError, ValueError):
                report.drop('malformed line', f'{osp.basename(path)}:{number}')
                continue
            vid = parts[0]
            if vid not in lengths:
                report.drop('video not in the csv files',
                            f'{osp.basename(path)}:{number} {vid}')
                continue
            if end > lengths[vid]:
                report.note('lines ending past the csv length (clipped by '
                            "the dataset's clip_end_to='length')")
            if min(end, lengths[vid]) <= start:
                report.note('lines empty after clipping to the csv length '
                            '(dropped by the dataset)')
            report.keep()
            if vid not in seen:
                seen.add(vid)
                videos.append(vid)
    meta = {vid: dict(length=lengths[vid]) for vid in videos}
    if video_dir is not None:
        if not osp.isdir(video_dir):
            raise FileNotFoundError(
                f'video_dir {video_dir} is not a folder (the Charades videos, '
                f'<VID>{video_ext}; leave it out to probe them at load time)')
        # A video that does not probe stays in the meta with its csv length
        # and its lines stay kept: a note, not a drop.
        unprobed = ConversionReport('probe')
        probed = probe_videos(
            {v: osp.join(video_dir, v + video_ext) for v in videos}, unprobed,
            show_progress)
        for vid in videos:
            if vid in probed:
                meta[vid].update(probed[vid])
        report.note('videos probed', len(probed))
        for reason, count in unprobed.dropped.items():
            report.note(f'videos not probed, {reason} (kept in the meta without '
                        'frame counts; the dataset probes them at load time; e.g. '
                        f'{unprobed.examples[reason]})', count)
    report.note('videos in the meta file', len(meta))
    report.check_kept(', '.join(split_files), '<all lines>')
    write_json(meta, out_file)
    return report
