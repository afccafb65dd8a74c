"""Decode every video of a dataset and reconcile it with the annotation.

What ``tools/misc/check_dataset.py`` runs: each video is decoded in full
(in chunks, with decord, in worker processes), its decoded frame count,
fps and frame size are compared with what the annotation says, and the
results are appended to a JSON-lines file as they come, so an interrupted
run resumes where it stopped. The report (counts per finding) and the
``bad_videos.json`` that the datasets read (``bad_videos_file``) follow.

A video is *bad* when it is not on disk (``'missing'``), cannot be opened or
decoded (``'unreadable'``), decodes fewer frames than annotated beyond
``frame_tolerance`` (``'short'``; the dataset's ``short_video`` policy
decides: skip, clip or error), or its frames have another size than
annotated (``'size_mismatch'``; its entry gives both sizes,
``annotated_size`` and ``decoded_size``, ``[height, width]``). An fps that
differs from the annotation by more than ``fps_tolerance`` (relative) is
reported, not listed: the annotation's fps is what maps its frame indices to
seconds.
"""
import json
import os
import os.path as osp
from collections import Counter
from typing import Dict, Iterable, List, Optional

__all__ = ['decode_video', 'reconcile', 'bad_entry', 'check_videos',
           'collect_videos']

#: Frames decoded per ``get_batch`` call.
CHUNK = 64
#: :func:`decode_video`'s ``error`` for a file that is not there.
MISSING = 'file does not exist'
#: The findings listed in ``bad_videos.json`` (the first one found names the
#: reason).
LISTED = ('missing', 'unreadable', 'short', 'size_mismatch')


def decode_video(path: str, chunk: int = CHUNK) -> dict:
    """Decode every frame of ``path``.

    Returns:
        ``{"video_path", "decoded_frames", "container_frames", "fps",
        "height", "width", "error"}``; ``decoded_frames`` counts the frames
        decoded before the first failure, ``error`` is None or its text.
    """
    result = dict(video_path=path, decoded_frames=0, container_frames=None,
                  fps=None, height=None, width=None, error=None)
    if not osp.isfile(path):
        result['error'] = MISSING
        return result
    try:
        import decord
        reader = decord.VideoReader(path, num_threads=1)
        total = len(reader)
        result.update(container_frames=total, fps=float(reader.get_avg_fps()))
        for start in range(0, total, chunk):
            frames = reader.get_batch(list(range(start, min(start + chunk,
                                                            total))))
            shape = frames.shape
            if result['height'] is None:
                result['height'], result['width'] = int(shape[1]), int(shape[2])
            result['decoded_frames'] = start + int(shape[0])
    except Exception as error:  # decord raises DECORDError / RuntimeError
        text = str(error).splitlines()[0] if str(error) else ''
        result['error'] = f'{type(error).__name__}: {text}'[:300]
    return result


def reconcile(decoded: dict, annotated: dict, frame_tolerance: int = 3,
              fps_tolerance: float = 0.01) -> List[str]:
    """Findings of one video: ``'missing'``, ``'unreadable'``, ``'short'``,
    ``'size_mismatch'``, ``'fps_mismatch'``, ``'longer'`` (more frames than
    annotated; harmless), or ``[]``."""
    if decoded['error'] == MISSING:
        return ['missing']
    findings = []
    expected = annotated.get('num_frames')
    if decoded['error'] is not None and (
            expected is None or decoded['decoded_frames'] == 0):
        return ['unreadable']
    if expected is not None:
        if decoded['decoded_frames'] < expected - frame_tolerance:
            findings.append('short' if decoded['decoded_frames'] else
                            'unreadable')
        elif decoded['decoded_frames'] > expected:
            findings.append('longer')
    size = (annotated.get('height'), annotated.get('width'))
    if None not in size and decoded['height'] is not None and size != (
            decoded['height'], decoded['width']):
        findings.append('size_mismatch')
    fps = annotated.get('fps')
    if fps and decoded['fps'] and abs(decoded['fps'] - fps) > \
            fps_tolerance * fps:
        findings.append('fps_mismatch')
    return findings


def collect_videos(data_infos: Iterable[dict]) -> Dict[str, dict]:
    """``{video_path: {"num_frames", "fps", "height", "width", "samples"}}``
    of the videos the samples use (the largest ``num_frames`` where samples
    of one video disagree)."""
    videos: Dict[str, dict] = {}
    for info in data_infos:
        entry = videos.setdefault(info['video_path'], dict(
            num_frames=info.get('num_frames'), fps=info.get('fps'),
            height=info.get('height'), width=info.get('width'), samples=0))
        entry['samples'] += 1
        if info.get('num_frames') and (entry['num_frames'] or 0) < \
                info['num_frames']:
            entry['num_frames'] = info['num_frames']
    return videos


def _read_done(results_file: str) -> Dict[str, dict]:
    done = {}
    if osp.isfile(results_file):
        with open(results_file, encoding='utf-8') as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:  # a line cut by a kill
                    continue
                done[record['video_path']] = record
    return done


def bad_entry(findings: List[str], decoded: dict, annotated: dict) -> dict:
    """The ``bad_videos.json`` entry of a video with listed findings:
    ``reason`` (the first of :data:`LISTED` found), ``decoded_frames``,
    ``annotated_frames``, ``samples``, ``detail`` and, for a
    ``size_mismatch``, ``annotated_size`` and ``decoded_size`` (``[height,
    width]``)."""
    reason = next(finding for finding in LISTED if finding in findings)
    entry = dict(reason=reason, decoded_frames=decoded['decoded_frames'],
                 annotated_frames=annotated.get('num_frames'),
                 samples=annotated.get('samples'),
                 detail=decoded['error'] or ', '.join(findings))
    if 'size_mismatch' in findings:
        entry['annotated_size'] = [annotated['height'], annotated['width']]
        entry['decoded_size'] = [decoded['height'], decoded['width']]
        size = (f'size_mismatch: the annotation says {annotated["height"]}x'
                f'{annotated["width"]} (HxW), the video decodes '
                f'{decoded["height"]}x{decoded["width"]}')
        entry['detail'] = ', '.join(size if f == 'size_mismatch' else f
                                    for f in findings)
    return entry


def check_videos(videos: Dict[str, dict], out_dir: str, workers: int = 1,
                 resume: bool = True, frame_tolerance: int = 3,
                 fps_tolerance: float = 0.01, show_progress: bool = True,
                 name: str = 'dataset') -> dict:
    """Decode ``videos`` (from :func:`collect_videos`), write
    ``<out_dir>/decoded.jsonl``, ``report.json`` and ``bad_videos.json``.

    A video missing from disk is listed with reason ``'missing'`` (and looked
    for again by a resumed run).

    Args:
        videos: what the annotation says of each video (a video the dataset
            found missing may have just ``samples``).
        out_dir: where the three files go.
        workers: decoding processes.
        resume: reuse the videos ``decoded.jsonl`` already holds.
        frame_tolerance / fps_tolerance: see :func:`reconcile`.
        show_progress: mmengine's progress bar.
        name: the dataset, named in the report.

    Returns:
        The report dict.
    """
    os.makedirs(out_dir, exist_ok=True)
    results_file = osp.join(out_dir, 'decoded.jsonl')
    if not resume and osp.isfile(results_file):
        os.remove(results_file)
    done = _read_done(results_file)
    todo = [path for path in sorted(videos)
            if path not in done or done[path]['error'] == MISSING]
    if todo:
        from mmengine.utils import ProgressBar
        bar = ProgressBar(len(todo)) if show_progress else None
        with open(results_file, 'a', encoding='utf-8') as out:
            if workers > 1:
                import multiprocessing as mp

                # fork: the workers need nothing but decord, and a spawned
                # worker re-imports torch and mmstvg (tens of seconds).
                method = 'fork' if 'fork' in mp.get_all_start_methods() \
                    else 'spawn'
                with mp.get_context(method).Pool(workers) as pool:
                    for record in pool.imap_unordered(decode_video, todo):
                        _append(out, record, done, bar)
            else:
                for path in todo:
                    _append(out, decode_video(path), done, bar)
        if bar is not None:
            print()
    counts: Counter = Counter()
    bad, findings_of = {}, {}
    for path, annotated in videos.items():
        decoded = done[path]
        findings = reconcile(decoded, annotated, frame_tolerance,
                             fps_tolerance)
        findings_of[path] = findings
        counts.update(findings or ['ok'])
        if any(finding in LISTED for finding in findings):
            bad[path] = bad_entry(findings, decoded, annotated)
    report = dict(
        dataset=name, num_videos=len(videos),
        num_samples=sum(v.get('samples', 0) for v in videos.values()),
        counts=dict(counts), num_bad=len(bad),
        samples_of_bad_videos=sum(v['samples'] or 0 for v in bad.values()),
        frame_tolerance=frame_tolerance, fps_tolerance=fps_tolerance,
        examples={finding: [p for p, f in findings_of.items()
                            if finding in f][:5]
                  for finding in counts if finding != 'ok'})
    _write(osp.join(out_dir, 'report.json'), report)
    _write(osp.join(out_dir, 'bad_videos.json'), dict(videos=bad))
    return report


def _append(out, record: dict, done: dict, bar: Optional[object]) -> None:
    out.write(json.dumps(record) + '\n')
    out.flush()
    done[record['video_path']] = record
    if bar is not None:
        bar.update()


def _write(path: str, obj) -> None:
    tmp = path + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)
