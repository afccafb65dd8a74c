"""VidSTG: the raw sentence files + VidOR's trajectories -> the dataset's json.

Inputs, as published:

- VidSTG's ``{train,val,test}_annotations.json``: a list with one entry per
  (video, relation instance): ``vid``, ``frame_count``, ``fps``, ``width``,
  ``height``, ``used_segment`` / ``temporal_gt`` (``begin_fid``,
  ``end_fid``: 0-based, end excluded), ``captions`` (declarative) and
  ``questions`` (interrogative), each a list of ``{"target_id",
  "description", "type"}``.
- VidOR's annotation folders ``training/`` and ``validation/``
  (``<group>/<vid>.json``, each with ``video_id``, ``video_path``,
  ``frame_count``, ``fps``, ``width``, ``height``, ``subject/objects``
  (``tid``, ``category``) and ``trajectories``: per frame a list of
  ``{"tid", "bbox": {"xmin", "ymin", "xmax", "ymax"}, ...}``). VidSTG's train
  and val videos are VidOR training videos, its test videos VidOR
  validation ones. VidSTG publishes no boxes of its own: they come from
  VidOR's annotation release (the VidOR dataset's own download, next to its
  videos); a missing or empty folder is an error, not an empty output.

Output: what :class:`mmstvg.datasets.VidSTGDataset` reads (the layout of
TubeDETR's ``preproc_vidstg.py``): ``{"videos": [one entry per sentence],
"trajectories": {vid: {str(tid): {str(frame): {"bbox": [x, y, w, h]}}}}}``.
"""
import os.path as osp
from typing import Dict, Optional

from ..validation import GroundingDataError, load_json
from .report import ConversionReport, iter_json_files, progress, write_json

__all__ = ['convert_vidstg', 'load_vidor_trajectories']

SENTENCE_KINDS = (('questions', 'interrogative'), ('captions', 'declarative'))


def load_vidor_trajectories(vidor_dir: str, report: ConversionReport,
                            wanted: Optional[set] = None,
                            show_progress: bool = True) -> Dict[str, dict]:
    """Read VidOR's per-video files under ``vidor_dir`` (recursively).

    Returns:
        ``{video_id: {"video_path", "frame_count", "fps", "width", "height",
        "tracks": {str(tid): {str(frame): {"bbox": [x, y, w, h]}}}}}`` for
        the videos in ``wanted`` (all when None).

    Raises:
        FileNotFoundError: when ``vidor_dir`` is not a folder or holds no
            ``.json`` file (nothing would be converted).
    """
    if not osp.isdir(vidor_dir):
        raise FileNotFoundError(
            f'VidOR annotation folder {vidor_dir} does not exist: VidSTG\'s '
            'boxes are in VidOR\'s own annotation release (folders training/ '
            'and validation/, see docs/en/dataset_prepare.md)')
    videos = {}
    files = iter_json_files(vidor_dir)
    if not files:
        raise FileNotFoundError(
            f'VidOR annotation folder {vidor_dir} holds no .json file: give '
            'the training/ or validation/ folder of VidOR\'s annotation '
            'release (see docs/en/dataset_prepare.md)')
    if wanted is not None:
        files = [f for f in files
                 if osp.splitext(osp.basename(f))[0] in wanted]
    for path in progress(files, show_progress):
        annot = load_json(path)
        try:
            tracks: Dict[str, dict] = {}
            for frame, boxes in enumerate(annot['trajectories']):
                for box in boxes:
                    b = box['bbox']
                    tracks.setdefault(str(box['tid']), {})[str(frame)] = dict(
                        bbox=[b['xmin'], b['ymin'], b['xmax'] - b['xmin'],
                              b['ymax'] - b['ymin']])
            videos[str(annot['video_id'])] = dict(
                video_path=annot['video_path'],
                frame_count=annot['frame_count'], fps=annot['fps'],
                width=annot['width'], height=annot['height'], tracks=tracks)
        except (KeyError, TypeError) as error:
            report.drop('malformed VidOR file', f'{path} ({error!r})')
    return videos


def convert_vidstg(vidstg_file: str, vidor_dir: str, out_file: str,
                   show_progress: bool = True) -> ConversionReport:
    """Convert one VidSTG split (see the module docstring).

    A sentence is dropped (and counted by reason) when its video has no
    VidOR file, its target has no trajectory, a frame of
    ``[temporal_gt.begin_fid, end_fid)`` has no box, or a field is
    malformed.

    Args:
        vidstg_file: e.g. ``test_annotations.json``.
        vidor_dir: VidOR's ``training`` (train / val) or ``validation``
            (test) annotation folder.
        out_file: the json to write (e.g. ``annotations/test.json``).
        show_progress: show progress bars.
    """
    report = ConversionReport(f'VidSTG {osp.basename(vidstg_file)}')
    entries = load_json(vidstg_file)
    if not isinstance(entries, list):
        raise GroundingDataError(
            f'must be a list of VidSTG entries, got {type(entries).__name__}'
            + (' (already converted?)' if isinstance(entries, dict) and
               'videos' in entries else ''),
            ann_file=vidstg_file, field='<top level>')
    wanted = {str(e.get('vid')) for e in entries if isinstance(e, dict)}
    vidor = load_vidor_trajectories(vidor_dir, report, wanted, show_progress)
    videos, trajectories = [], {}
    for entry in progress(entries, show_progress):
        vid = str(entry.get('vid')) if isinstance(entry, dict) else '?'
        try:
            sentences = [(kind, q) for key, kind in SENTENCE_KINDS
                         for q in entry[key]]
            base = dict(
                original_video_id=vid, frame_count=entry['frame_count'],
                fps=entry['fps'], width=entry['width'],
                height=entry['height'],
                start_frame=entry['used_segment']['begin_fid'],
                end_frame=entry['used_segment']['end_fid'],
                tube_start_frame=entry['temporal_gt']['begin_fid'],
                tube_end_frame=entry['temporal_gt']['end_fid'])
        except (KeyError, TypeError) as error:
            report.drop('malformed VidSTG entry', f'{vid} ({error!r})')
            continue
        if vid not in vidor:
            report.drop(f'video not in the VidOR folder {vidor_dir}', vid,
                        len(sentences))
            continue
        source = vidor[vid]
        frames = range(int(base['tube_start_frame']),
                       int(base['tube_end_frame']))
        for kind, query in sentences:
            target = str(query.get('target_id'))
            track = source['tracks'].get(target)
            if track is None:
                report.drop('target_id without a VidOR trajectory',
                            f'{vid} target {target}')
                continue
            missing = [f for f in frames if str(f) not in track]
            if missing:
                report.drop('frames of temporal_gt without a box',
                            f'{vid} target {target} frame {missing[0]}')
                continue
            if not isinstance(query.get('description'), str):
                report.drop('description is not text', f'{vid} {query!r:.60}')
                continue
            videos.append(dict(
                base, video_path=source['video_path'],
                caption=query['description'], type=query.get('type'),
                target_id=query['target_id'], video_id=len(videos),
                qtype=kind))
            trajectories.setdefault(vid, {})[target] = {
                str(f): track[str(f)] for f in sorted(map(int, track))}
            report.keep()
    for kind in ('declarative', 'interrogative'):
        report.note(f'{kind} sentences kept',
                    sum(v['qtype'] == kind for v in videos))
    report.check_kept(vidstg_file)
    write_json(dict(videos=videos, trajectories=trajectories), out_file)
    return report
