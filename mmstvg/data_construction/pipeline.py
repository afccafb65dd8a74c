"""The STVG construction pipeline: captions -> HC-STVG annotations + a report.

Two stages, each resumable per video (:class:`~.io.ResultStore`):

1. **pick**: the object picker reads the captions in batches; each video's
   pick is stored as soon as its batch is answered.
2. **ground**: per video, the filters that need no detections (the clip
   duration), frame sampling and decoding, the detector on the sampled
   frames, the box choice per frame, then the remaining filters in config
   order; the record (kept with its HC-STVG entry, dropped with the rule and
   reason, or failed with the error) is stored as soon as the video is done.
   Videos run in ``workers`` processes, each with its own detector.

Then every stored record of the input list is gathered into the annotation
file (input order) and the report. A rerun skips the videos with a stored
record, so a killed run resumes where it stopped and ends with the same
files as an uninterrupted one. See ``docs/en/data_construction.md``.
"""
import multiprocessing as mp
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.logging import MMLogger, print_log

from mmstvg.datasets.transforms.input_budget import (DEFAULT_MAX_FRAME_PIXELS,
                                                     DEFAULT_MAX_VIDEO_SECONDS,
                                                     check_duration_budget, check_frame_budget)
from mmstvg.registry import CONSTRUCTION_FILTERS, GROUNDING_DETECTORS, OBJECT_PICKERS
from mmstvg.structures import seconds_to_frames
from mmstvg.utils.runtime_patches import apply_runtime_patches
from .io import ResultStore, VideoCaption, atomic_write_json, load_caption_list
from .object_picker import PickedObject
from .sample import BOX_CHOICES, CandidateSample, candidate_to_hcstvg_entry

__all__ = ['STVGConstructionPipeline', 'sample_frame_indices', 'ground_video',
           'build_report']

PICK_STAGE, RESULT_STAGE = 'picks', 'results'
PICKER_RULE, ERROR_RULE, EMPTY_RULE = 'object_picker', 'error', 'no_detections'


def _plain(cfg):
    return cfg.to_dict() if hasattr(cfg, 'to_dict') else cfg


def sample_frame_indices(num_frames: int, fps: float, span_frames=None,
                         sample_fps: Optional[float] = 2.0,
                         max_frames: Optional[int] = None) -> np.ndarray:
    """The frames the detector runs on.

    Every ``round(fps / sample_fps)``-th frame of the span (all frames when
    ``sample_fps`` is ``None`` or not below ``fps``), thinned uniformly to at
    most ``max_frames``.

    Args:
        num_frames / fps: of the video.
        span_frames: a half-open span to sample in (default the whole video).
        sample_fps: frames per second to detect on.
        max_frames: the most frames per video.

    Returns:
        Increasing 0-based frame indices (possibly empty).
    """
    start, end = span_frames if span_frames is not None else (0, num_frames)
    step = 1 if not sample_fps or sample_fps >= fps else max(1, int(round(fps / sample_fps)))
    inds = np.arange(start, end, step, dtype=np.int64)
    if max_frames is not None and len(inds) > max_frames:
        inds = np.unique(np.round(np.linspace(start, end - 1, max_frames)).astype(np.int64))
    return inds


def _read_video(path: str, max_frame_pixels: Optional[int] = DEFAULT_MAX_FRAME_PIXELS,
                max_video_seconds: Optional[float] = DEFAULT_MAX_VIDEO_SECONDS):
    """The reader, frame count, fps and frame size of ``path``, held to the
    loaders' frame and duration budgets before a frame is decoded
    (:mod:`~mmstvg.datasets.transforms.input_budget`)."""
    from decord import VideoReader, cpu
    if not osp.isfile(path):
        raise FileNotFoundError(f'video {path}: no such file')
    check_frame_budget(path, max_frame_pixels)
    reader = VideoReader(path, ctx=cpu(0), num_threads=1)
    num_frames = len(reader)
    fps = float(reader.get_avg_fps())
    check_duration_budget(path, num_frames, fps, max_video_seconds)
    if num_frames < 1 or not fps > 0:
        raise ValueError(f'video {path}: {num_frames} frames at {fps} fps')
    height, width = reader[0].shape[:2]
    return reader, num_frames, fps, int(height), int(width)


def _record(item: VideoCaption, pick: PickedObject, status: str, rule=None, reason='',
            sample: Optional[CandidateSample] = None, entry=None) -> dict:
    record = dict(key=item.key, status=status, rule=rule, reason=reason,
                  caption=item.caption, pick=pick.to_dict(), entry=entry)
    if sample is not None:
        keep = sample.keep if sample.keep is not None else np.zeros(0, bool)
        chosen = sample.chosen_boxes
        record.update(
            video=dict(num_frames=sample.num_frames, fps=sample.fps,
                       height=sample.height, width=sample.width),
            num_sampled_frames=int(len(sample.frame_inds)),
            num_detected_frames=int((~np.isnan(chosen[:, 0])).sum()) if chosen is not None
            else 0,
            num_kept_frames=int(keep.sum()),
            frames_dropped=dict(sample.frames_dropped),
            span_frames=list(sample.span_frames) if sample.span_frames else None)
    return record


def ground_video(item: VideoCaption, pick: PickedObject, detector, filters: Sequence,
                 sampling: dict, box_choice: str = 'highest_score',
                 fill: str = 'linear', budget: Optional[dict] = None) -> dict:
    """Stage 2 on one video: the record to store (see the module docstring).

    Args:
        item: the video and caption.
        pick: its picked object (must be ok).
        detector: a built :class:`~.grounding_dino.BaseGroundingDetector`.
        filters: built filters, in config order.
        sampling: ``sample_fps`` / ``max_frames`` of
            :func:`sample_frame_indices`.
        box_choice: see :func:`~.sample.choose_boxes`.
        fill: see :func:`~.sample.fill_span_boxes`.
        budget: ``max_frame_pixels`` / ``max_video_seconds`` of the video
            (an over-budget video fails, counted, before any frame is
            decoded); None: the loaders' defaults.

    Returns:
        The record (json-serialisable).
    """
    reader, num_frames, fps, height, width = _read_video(item.video_path, **(budget or {}))
    sample = CandidateSample(key=item.key, caption=item.caption,
                             object_phrase=pick.object_phrase,
                             sentence=pick.sentence or item.caption,
                             num_frames=num_frames, fps=fps, height=height, width=width)
    for rule in filters:
        if not rule.needs_detections:
            reason = rule(sample)
            if reason:
                return _record(item, pick, 'dropped', rule.rule, reason, sample)
    span = None
    if item.span_seconds is not None:
        span = seconds_to_frames(item.span_seconds, fps, num_frames)
        if span[1] <= span[0]:
            return _record(item, pick, 'dropped', 'coarse_span',
                           f'coarse span {item.span_seconds} s holds no frame of the '
                           f'{num_frames}-frame video', sample)
    frame_inds = sample_frame_indices(num_frames, fps, span, **sampling)
    frames = list(reader.get_batch(frame_inds.tolist()).asnumpy())
    detections = detector.detect(frames, pick.object_phrase)
    sample.set_detections(frame_inds, detections, box_choice)
    for rule in filters:
        if rule.needs_detections:
            reason = rule(sample)
            if reason:
                return _record(item, pick, 'dropped', rule.rule, reason, sample)
    if not sample.keep.any():
        return _record(item, pick, 'dropped', EMPTY_RULE,
                       'the object is detected on no kept frame', sample)
    entry = candidate_to_hcstvg_entry(sample, fill=fill)
    return _record(item, pick, 'kept', sample=sample, entry=entry)


def build_report(items: Sequence[VideoCaption], records: Dict[str, dict],
                 rules: Sequence[str]) -> dict:
    """Counts over the records of ``items`` (see the report format in the docs).

    Args:
        items: the inputs, in order.
        records: stored records by key.
        rules: the configured rule names (counted even when zero).

    Returns:
        The report.
    """
    all_rules = [PICKER_RULE, *rules, EMPTY_RULE]
    dropped = {rule: 0 for rule in all_rules}
    frames_dropped = {rule: 0 for rule in rules}
    status = dict(kept=0, dropped=0, failed=0)
    totals = dict(num_sampled_frames=0, num_detected_frames=0, num_kept_frames=0)
    samples = {}
    picked = malformed = 0
    for item in items:
        record = records[item.key]
        status[record['status']] += 1
        if record['status'] == 'dropped':
            dropped[record['rule']] = dropped.get(record['rule'], 0) + 1
        if record['pick']['ok']:
            picked += 1
        else:
            malformed += 1
        for rule, count in record.get('frames_dropped', {}).items():
            frames_dropped[rule] = frames_dropped.get(rule, 0) + count
        for key in totals:
            totals[key] += record.get(key, 0)
        samples[item.key] = dict(status=record['status'], rule=record['rule'],
                                 reason=record['reason'],
                                 span_frames=record.get('span_frames'),
                                 frames_dropped=record.get('frames_dropped', {}))
    num = len(items)
    return dict(num_videos=num, num_kept=status['kept'], num_dropped=status['dropped'],
                num_failed=status['failed'],
                kept_fraction=round(status['kept'] / num, 6) if num else 0.0,
                dropped_by_rule=dropped, frames_dropped_by_rule=frames_dropped,
                object_picker=dict(num_picked=picked, num_malformed=malformed),
                **totals, samples=samples)


# Per-process state of the worker processes.
_WORKER: dict = {}


def _build_grounding_parts(detector_cfg: dict, filter_cfgs: Sequence[dict]):
    detector = GROUNDING_DETECTORS.build(dict(detector_cfg))
    filters = [CONSTRUCTION_FILTERS.build(dict(cfg)) for cfg in filter_cfgs]
    return detector, filters


def _init_worker(detector_cfg, filter_cfgs, custom_imports, settings):
    # A spawned worker starts bare: the message filters, safe checkpoint
    # loading and atomic writes of the parent (mmstvg/utils/runtime_patches.py).
    apply_runtime_patches()
    import torch
    if custom_imports:
        from mmengine.utils import import_modules_from_strings
        import_modules_from_strings(list(custom_imports))
    import mmstvg.data_construction  # noqa: F401  (registers the parts)
    torch.set_num_threads(settings.pop('threads_per_worker'))
    detector_cfg = dict(detector_cfg)
    identity = mp.current_process()._identity
    rank = identity[0] - 1 if identity else 0
    if detector_cfg.get('device', 'auto') == 'auto' and torch.cuda.device_count() > 1:
        detector_cfg['device'] = f'cuda:{rank % torch.cuda.device_count()}'
    _WORKER['parts'] = _build_grounding_parts(detector_cfg, filter_cfgs)
    _WORKER['settings'] = settings


def _safe_ground(item, pick, detector, filters, settings) -> dict:
    try:
        return ground_video(item, pick, detector, filters, **settings)
    except Exception as error:  # counted per video, not fatal
        return _record(item, pick, 'failed', ERROR_RULE, f'{type(error).__name__}: {error}')


def _worker_ground(job):
    item, pick = job
    detector, filters = _WORKER['parts']
    return _safe_ground(item, pick, detector, filters, _WORKER['settings'])


class STVGConstructionPipeline:
    """Builds HC-STVG annotations from captioned videos (see the module docstring).

    Args:
        source: ``ann_file``, ``video_root``, ``format`` (and
            ``caption_key``) of :func:`~.io.load_caption_list`.
        object_picker: an :data:`~mmstvg.registry.OBJECT_PICKERS` config.
        detector: a :data:`~mmstvg.registry.GROUNDING_DETECTORS` config.
        construction_filters: :data:`~mmstvg.registry.CONSTRUCTION_FILTERS`
            configs, applied in order.
        work_dir: where the per-video results, the annotations and the
            report go.
        ann_file: the HC-STVG annotation file, relative to ``work_dir``.
        report_file: the report, relative to ``work_dir``.
        sampling: ``sample_fps`` and ``max_frames`` of
            :func:`sample_frame_indices`.
        box_choice: see :func:`~.sample.choose_boxes`.
        fill: see :func:`~.sample.fill_span_boxes`.
        max_frame_pixels: a video's frame budget in pixels, from its
            metadata (None: none); a video over it fails, counted.
        max_video_seconds: a video's duration budget (None: none).
        workers: processes grounding videos in parallel (1: in this
            process). Each builds its own detector; with several GPUs they
            are spread over them.
        start_method: the ``multiprocessing`` start method of the workers
            (``'spawn'`` is safe with CUDA).
        threads_per_worker: torch CPU threads in each worker process.
        custom_imports: modules the workers import (a config's
            ``custom_imports.imports``), for parts registered outside mmstvg.
        retry_failed: rerun videos whose stored record is ``failed``.
        progress: show progress bars.
    """

    def __init__(self, source: dict, object_picker: dict, detector: dict,
                 construction_filters: Sequence[dict], work_dir: str,
                 ann_file: str = 'annotations/hcstvg_constructed.json',
                 report_file: str = 'construction_report.json',
                 sampling: Optional[dict] = None, box_choice: str = 'highest_score',
                 fill: str = 'linear',
                 max_frame_pixels: Optional[int] = DEFAULT_MAX_FRAME_PIXELS,
                 max_video_seconds: Optional[float] = DEFAULT_MAX_VIDEO_SECONDS,
                 workers: int = 1, start_method: str = 'spawn',
                 threads_per_worker: int = 1, custom_imports: Sequence[str] = (),
                 retry_failed: bool = False, progress: bool = True):
        if box_choice not in BOX_CHOICES:
            raise ValueError(f'box_choice must be one of {BOX_CHOICES}, got {box_choice!r}')
        if fill not in ('linear', 'nearest'):
            raise ValueError(f"fill must be 'linear' or 'nearest', got {fill!r}")
        self.source = dict(_plain(source))
        self.picker_cfg = dict(_plain(object_picker))
        self.detector_cfg = dict(_plain(detector))
        self.filter_cfgs = [dict(_plain(c)) for c in construction_filters]
        # Built here once to check the configs and the order (the workers
        # build their own copies).
        self.filters = [CONSTRUCTION_FILTERS.build(dict(c)) for c in self.filter_cfgs]
        has_span = False
        for rule in self.filters:
            if rule.needs_span and not has_span:
                raise ValueError(f'{rule!r} reads the refined span: put a filter that '
                                 'sets it (BoundaryRefinement) before it')
            has_span = has_span or rule.sets_span
        names = [rule.rule for rule in self.filters]
        if len(set(names)) != len(names):
            raise ValueError(f'two filters share a rule name: {names}; give one a rule=')
        self.work_dir = work_dir
        self.ann_file = osp.join(work_dir, ann_file)
        self.report_file = osp.join(work_dir, report_file)
        self.sampling = dict(sample_fps=2.0, max_frames=None)
        self.sampling.update(_plain(sampling or {}))
        if set(self.sampling) != {'sample_fps', 'max_frames'}:
            raise ValueError(f'sampling takes sample_fps and max_frames, got {sampling}')
        self.box_choice = box_choice
        self.fill = fill
        self.budget = dict(max_frame_pixels=max_frame_pixels,
                           max_video_seconds=max_video_seconds)
        self.workers = max(1, int(workers))
        self.start_method = start_method
        self.threads_per_worker = int(threads_per_worker)
        self.custom_imports = list(custom_imports)
        self.retry_failed = retry_failed
        self.progress = progress
        self.store = ResultStore(work_dir)
        #: how many videos each stage processed in the last :meth:`run`.
        self.processed = dict(picked=[], grounded=[])

    @classmethod
    def from_config(cls, cfg, **overrides) -> 'STVGConstructionPipeline':
        """Build from a config (``tools/data_construction/build_stvg.py``'s)."""
        keys = ('source', 'object_picker', 'detector', 'construction_filters', 'work_dir',
                'ann_file', 'report_file', 'sampling', 'box_choice', 'fill',
                'max_frame_pixels', 'max_video_seconds', 'workers',
                'start_method', 'threads_per_worker', 'retry_failed', 'progress')
        kwargs = {k: cfg[k] for k in keys if k in cfg}
        imports = (cfg.get('custom_imports') or {}).get('imports', [])
        kwargs['custom_imports'] = [imports] if isinstance(imports, str) else list(imports)
        kwargs.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**kwargs)

    def _bar(self, total: int, desc: str):
        from tqdm import tqdm
        return tqdm(total=total, desc=desc, disable=not self.progress or not total,
                    dynamic_ncols=True)

    def _pending(self, items: Sequence[VideoCaption]) -> List[VideoCaption]:
        pending = []
        for item in items:
            record = self.store.load(RESULT_STAGE, item.key)
            if record is None or (self.retry_failed and record['status'] == 'failed'):
                pending.append(item)
        return pending

    def pick_objects(self, items: Sequence[VideoCaption]) -> Dict[str, PickedObject]:
        """Stage 1: the stored or new pick of every item."""
        picks, todo = {}, []
        for item in items:
            stored = self.store.load(PICK_STAGE, item.key)
            if stored is None:
                todo.append(item)
            else:
                picks[item.key] = PickedObject(**stored)
        if todo:
            picker = OBJECT_PICKERS.build(dict(self.picker_cfg))
            batch = max(1, int(getattr(picker, 'batch_size', 1)))
            with self._bar(len(todo), 'pick objects') as bar:
                for start in range(0, len(todo), batch):
                    chunk = todo[start:start + batch]
                    answers = picker.pick([item.caption for item in chunk])
                    if len(answers) != len(chunk):
                        raise RuntimeError(f'{type(picker).__name__} returned '
                                           f'{len(answers)} picks for {len(chunk)} captions')
                    for item, answer in zip(chunk, answers):
                        self.store.save(PICK_STAGE, item.key, answer.to_dict())
                        picks[item.key] = answer
                        self.processed['picked'].append(item.key)
                    bar.update(len(chunk))
            del picker
        return picks

    def _settings(self) -> dict:
        return dict(sampling=dict(self.sampling), box_choice=self.box_choice, fill=self.fill,
                    budget=dict(self.budget))

    def ground(self, items: Sequence[VideoCaption], picks: Dict[str, PickedObject]) -> None:
        """Stage 2 on ``items``, storing each record as it finishes."""
        jobs = []
        for item in items:
            pick = picks[item.key]
            if pick.ok:
                jobs.append((item, pick))
            else:
                self._store_record(_record(item, pick, 'dropped', PICKER_RULE,
                                           f'malformed reply: {pick.error}'))
        if not jobs:
            return
        with self._bar(len(jobs), 'ground videos') as bar:
            if self.workers == 1 or len(jobs) == 1:
                detector, filters = _build_grounding_parts(self.detector_cfg,
                                                           self.filter_cfgs)
                for item, pick in jobs:
                    self._store_record(_safe_ground(item, pick, detector, filters,
                                                    self._settings()))
                    bar.update(1)
                return
            settings = dict(self._settings(), threads_per_worker=self.threads_per_worker)
            context = mp.get_context(self.start_method)
            with context.Pool(min(self.workers, len(jobs)), initializer=_init_worker,
                              initargs=(self.detector_cfg, self.filter_cfgs,
                                        self.custom_imports, settings)) as pool:
                for record in pool.imap_unordered(_worker_ground, jobs):
                    self._store_record(record)
                    bar.update(1)

    def _store_record(self, record: dict) -> None:
        self.store.save(RESULT_STAGE, record['key'], record)
        self.processed['grounded'].append(record['key'])
        if record['status'] == 'failed':
            print_log(f'{record["key"]}: failed: {record["reason"]}',
                      logger=MMLogger.get_current_instance(), level=30)

    def run(self, limit: Optional[int] = None) -> dict:
        """Build, write the annotations and the report; returns the report.

        Args:
            limit: only the first ``limit`` inputs (for trying it out); the
                outputs then cover those only.

        Raises:
            ValueError: when no video is kept (every one failed or was
                dropped): the report is written, the annotation file is not
                (an empty one would only fail later, far from the cause).
        """
        items = load_caption_list(self.source['ann_file'], self.source.get('video_root', ''),
                                  self.source.get('format', 'auto'),
                                  self.source.get('caption_key'))
        if limit is not None:
            items = items[:int(limit)]
        self.processed = dict(picked=[], grounded=[])
        pending = self._pending(items)
        if pending:
            picks = self.pick_objects(pending)
            self.ground(pending, picks)
        records = {item.key: self.store.load(RESULT_STAGE, item.key) for item in items}
        annotations = {item.key: records[item.key]['entry'] for item in items
                       if records[item.key]['status'] == 'kept'}
        report = build_report(items, records, [rule.rule for rule in self.filters])
        atomic_write_json(self.report_file, report)
        if items and not annotations:
            raise ValueError(self._kept_nothing(report))
        atomic_write_json(self.ann_file, annotations)
        return report

    def _kept_nothing(self, report: dict) -> str:
        """The error of a run that kept no video: the counts and a first reason."""
        rules = ', '.join(f'{rule}: {count}' for rule, count in
                          report['dropped_by_rule'].items() if count)
        first = next((f"{key}: {sample['reason']}" for key, sample in
                      report['samples'].items() if sample['status'] == 'failed'), None)
        first = first or next((f"{key}: {sample['reason']}" for key, sample in
                               report['samples'].items()), '')
        return (f"{self.source['ann_file']}: the construction kept none of its "
                f"{report['num_videos']} video(s) ({report['num_failed']} failed, "
                f"{report['num_dropped']} dropped{' by ' + rules if rules else ''}); "
                f'no annotation file is written ({self.ann_file}). The first: {first}. '
                f'Every video and its reason: {self.report_file}')
