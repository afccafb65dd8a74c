"""Re-score a metric's prediction dump against a dataset's annotations.

A dump (``<outfile_prefix>.<metric>.json``, written by the metrics'
``outfile_prefix``) holds, per sample, the predictions and the sampled
``frame_inds``. The annotation side comes from a dataset's
``get_data_info(i)`` dicts (the data-info contract: ``sample_id``,
``gt_span_frames``, ``gt_span_seconds``, ``gt_tube_frame_inds``,
``gt_tube_boxes``, ``num_frames``, ``fps``, ``qtype`` ...). Here the two are
matched by ``sample_id`` into the very dicts a metric's ``process`` receives
online (the metainfo :class:`PackGroundingInputs` would copy, the ground truth
at the sampled frames as :class:`LoadGroundingAnnotations` puts it there), so
offline and online scoring share one code path and give the same figures.

Each dump entry's ``fingerprint`` is checked against its data info (see
:mod:`.fingerprint`); a dump's ``video_meta`` lets annotations without
frame counts and fps be loaded without the videos (:func:`dumped_video_meta`).
"""
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.logging import MMLogger

from mmstvg.registry import METRICS
from mmstvg.datasets.transforms.formatting import DEFAULT_META_KEYS
from mmstvg.datasets.transforms.grounding_targets import tube_boxes_at
from mmstvg.datasets.validation import check_frame_inds
from .fingerprint import DumpMismatchError, check_fingerprints
from .sample_fields import to_numpy

__all__ = ['sample_from_data_info', 'samples_from_dump', 'rescore_dump',
           'dumped_video_meta']

#: Metainfo keys the pipeline sets (from the video), not the data info.
_PIPELINE_KEYS = ('frame_inds', 'frame_times', 'ori_shape', 'img_shape',
                  'pad_shape', 'scale_factor', 'flip', 'flip_direction',
                  'presentation_times')
#: Data-info keys copied into the sample dict as they are: the metainfo
#: ``PackGroundingInputs`` copies (``gt_spans_seconds_all``, ``gt_choice``,
#: ``ann_file_hash`` ...).
_META_KEYS = tuple(k for k in DEFAULT_META_KEYS if k not in _PIPELINE_KEYS)
#: Prediction keys read back from a dump entry.
_PRED_KEYS = ('pred_span_frames', 'pred_span_seconds', 'pred_boxes',
              'pred_parse_ok', 'pred_text', 'pred_choice')


def sample_from_data_info(info: Dict[str, Any],
                          prediction: Optional[Dict[str, Any]] = None,
                          dump_file: Optional[str] = None) -> dict:
    """Build the dict a metric's ``process`` receives from annotations + a dump entry.

    Args:
        info: one ``get_data_info(i)`` dict (the data-info contract).
        prediction: the sample's dump entry (``frame_inds`` and ``pred_*``);
            None: the sample has no prediction (it is scored as missing).
        dump_file: the dump's path, named in errors.

    Raises:
        GroundingDataError: naming the dump, the sample and ``frame_inds``
            when the dumped frame indices are not integers in
            ``[0, num_frames)`` in ascending order.

    Returns:
        A dict shaped like ``GroundingDataSample.to_dict()``: the meta keys,
        ``frame_inds``, the ground-truth fields (``gt_boxes`` / ``gt_box_mask``
        at the dump's sampled frames, looked up in the annotated tube) and the
        ``pred_*`` fields of the dump.
    """
    sample = {key: info[key] for key in _META_KEYS if key in info}
    # As PackGroundingInputs packs them (int64 frames, float32 seconds), so
    # that a threshold decides alike online and offline.
    for key, dtype in (('gt_span_frames', np.int64),
                       ('gt_span_seconds', np.float32)):
        if info.get(key) is not None:
            sample[key] = np.asarray(info[key], dtype=dtype)
    tube_inds = np.asarray(info.get('gt_tube_frame_inds', ()),
                           dtype=np.int64).reshape(-1)
    tube_boxes = np.asarray(info.get('gt_tube_boxes', np.zeros((0, 4))),
                            dtype=np.float64).reshape(-1, 4)
    sample['gt_tube_frame_inds'] = tube_inds
    sample['gt_tube_boxes'] = tube_boxes

    if prediction is not None and prediction.get('frame_inds') is not None:
        where = dict(ann_file=dump_file or '<prediction dump>',
                     video_id=info.get('sample_id'))
        if info.get('num_frames') is None:
            frame_inds = check_frame_inds(prediction['frame_inds'],
                                          np.iinfo(np.int64).max,
                                          'frame_inds', where)
        else:
            frame_inds = check_frame_inds(prediction['frame_inds'],
                                          int(info['num_frames']),
                                          'frame_inds', where)
    elif info.get('task') == 'rec':
        frame_inds = np.zeros(1, dtype=np.int64)
    else:
        frame_inds = np.zeros(0, dtype=np.int64)
    sample['frame_inds'] = frame_inds
    span = sample.get('gt_span_frames')
    if len(tube_inds):
        if span is None:  # the whole tube
            span = (int(tube_inds.min()), int(tube_inds.max()) + 1)
        # LoadGroundingAnnotations' boxes (interpolated between annotated
        # frames; test samples are not clipped).
        sample['gt_boxes'], sample['gt_box_mask'] = tube_boxes_at(
            frame_inds, span, tube_inds, tube_boxes)
    if prediction is None:
        return sample
    for key in _PRED_KEYS:
        if prediction.get(key) is not None:
            value = prediction[key]
            sample[key] = value if isinstance(value, (str, bool, int)) else \
                np.asarray(value, dtype=np.float64)
    for name, count in (prediction.get('answer_counts') or {}).items():
        sample[f'pred_num_{name}'] = int(count)
    return sample


def dumped_video_meta(dump: Dict[str, Any]) -> Dict[str, dict]:
    """``{video_id: {'num_frames', 'fps', 'height', 'width'}}`` that a dump's
    entries recorded (their ``video_meta``), for
    ``BaseGroundingDataset(known_video_meta=...)``."""
    meta: Dict[str, dict] = {}
    entries = dump.get('samples') if isinstance(dump, dict) else None
    for entry in entries if isinstance(entries, list) else ():
        video_meta = entry.get('video_meta') if isinstance(entry, dict) \
            else None
        if isinstance(video_meta, dict) and entry.get('video_id') is not None:
            meta.setdefault(str(entry['video_id']), {
                k: v for k, v in video_meta.items() if v is not None})
    return meta


def samples_from_dump(dump_samples: Sequence[Dict[str, Any]],
                      data_infos: Sequence[Dict[str, Any]],
                      dump_file: Optional[str] = None,
                      allow_changed_ann_file: bool = False
                      ) -> Tuple[List[dict], Dict[str, int]]:
    """Match dump entries to data infos by ``sample_id``.

    Every data info gives one sample (in the dataset's order); one without a
    dump entry has no prediction and is scored as missing. Dump entries whose
    ``sample_id`` the dataset does not have, and repeated entries, are
    counted and logged, not scored. The matched entries' fingerprints are
    checked against their data infos (:func:`check_fingerprints`).

    Raises:
        DumpMismatchError: an entry answered another video or sentence, or
            (unless ``allow_changed_ann_file``) another version of the
            annotation file; or no entry matches a sample of the dataset (an
            empty dump, a dump of another split): every sample would be
            scored as missing and every figure read 0.

    Returns:
        ``(samples, counts)`` with counts ``num_unmatched_pred`` and
        ``num_duplicate_pred``.
    """
    logger = MMLogger.get_current_instance()
    by_id: Dict[str, dict] = {}
    duplicates = 0
    for entry in dump_samples:
        sample_id = entry.get('sample_id')
        if sample_id in by_id:
            duplicates += 1
            continue
        by_id[sample_id] = entry
    samples, used, pairs = [], set(), []
    for index, info in enumerate(data_infos):
        if 'sample_id' not in info:
            raise ValueError(f'data info #{index} (video '
                             f'{info.get("video_id")!r}) has no "sample_id"')
        entry = by_id.get(info['sample_id'])
        if entry is not None:
            used.add(info['sample_id'])
            pairs.append((entry, info))
    if data_infos and not pairs:
        some = [e.get('sample_id') for e in dump_samples[:3]]
        ann_file = data_infos[0].get('ann_file')
        raise DumpMismatchError(
            f'{dump_file or "<prediction dump>"}: field \'samples\': none of '
            f'its {len(dump_samples)} entries matches a sample_id of the '
            f'{len(data_infos)} samples of {ann_file} (dumped: {some}, the '
            f'dataset: {data_infos[0]["sample_id"]!r} ...); an empty dump, or '
            'one of another split (--split) or config? Scoring it would '
            'report every sample as missing and all-zero figures.')
    check_fingerprints(pairs, dump_file, allow_changed_ann_file)
    for info in data_infos:
        samples.append(sample_from_data_info(
            info, by_id.get(info['sample_id']), dump_file))
    unmatched = [sid for sid in by_id if sid not in used]
    if unmatched:
        logger.warning(f'{len(unmatched)} dumped predictions match no sample of '
                       f'the dataset and are not scored: {unmatched[:5]}')
    if duplicates:
        logger.warning(f'{duplicates} dumped predictions repeat a sample_id; '
                       'the first one of each is scored')
    return samples, dict(num_unmatched_pred=len(unmatched),
                         num_duplicate_pred=duplicates)


def rescore_dump(dump: Dict[str, Any],
                 data_infos: Sequence[Dict[str, Any]],
                 protocol: Optional[str] = None,
                 dump_file: Optional[str] = None,
                 allow_changed_ann_file: bool = False) -> Dict[str, Any]:
    """Score a metric dump against annotations, optionally with another protocol.

    Args:
        dump: the loaded ``<prefix>.<metric>.json``.
        data_infos: the dataset's ``get_data_info(i)`` dicts.
        protocol: for an STVG dump, the protocol to score with (``'tubedetr'``,
            ``'stcat'``, ``'hcstvg'``); None: the dump's own.
        dump_file: the dump's path, named in errors.
        allow_changed_ann_file: score a dump written for another version
            of the annotation file (the same videos and sentences).

    Raises:
        DumpMismatchError: see :func:`samples_from_dump`.

    Returns:
        The metrics (keys without prefix), plus ``num_unmatched_pred`` and
        ``num_duplicate_pred``.
    """
    if 'samples' not in dump or 'metric' not in dump:
        raise ValueError('not a metric dump: keys "metric" and "samples" are '
                         'required')
    cfg = dict(dump.get('config') or dict(type=dump['metric']))
    if protocol is not None:
        if cfg['type'] != 'STVGMetric':
            raise ValueError(f'--protocol applies to STVGMetric dumps, this one '
                             f'is a {cfg["type"]} dump')
        cfg['protocol'] = protocol
    metric = METRICS.build(cfg)
    samples, counts = samples_from_dump(dump['samples'], data_infos,
                                        dump_file, allow_changed_ann_file)
    metric.process(None, samples)
    metrics = metric.compute_metrics(metric.results)
    metrics.update(counts)
    return {k: (to_numpy(v).item() if hasattr(v, 'shape') else v)
            for k, v in metrics.items()}
