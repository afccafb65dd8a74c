"""The documents of mmstvg's lmms-eval grounding tasks, read through mmstvg's datasets.

A task's folder holds a one-line *data spec* (``<task>.data.jsonl``), which
lmms-eval loads as its dataset (``dataset_path: json``)::

    {"dataset": {"type": "HCSTVGDataset", "data_root": "data/hcstvg_v1/",
                 "ann_file": "annos/hcstvg_v1/test.json",
                 "data_prefix": {"video": "v1_video"}, "st_frame_base": 1},
     "num_frames": 32, "qtype": null}

The task's ``process_docs`` (:func:`docs_from_specs`) builds that mmstvg
dataset (the class the converters' files are read by, with its field checks:
bad input is an error naming the annotation file, the video and the field)
and turns each sample into one lmms-eval document: the query, the video, the
ground truth, the frames the text prompt asks boxes for, and the sample's
data info as the dataset gives it to the test pipeline (``mmstvg_data_info``,
for the ``mmstvg`` lmms-eval model, which runs its own pipeline on it).

**Frame sampling** (the frames a text answer gives boxes for): ``num_frames``
frame centres spread uniformly over the clip, as ``UniformSampleFrames(
num_frames, test_mode=True)`` does: frame ``k`` of a clip ``[s, e)`` of
``L`` frames is ``s + floor((k + 0.5) * L / num_frames)``. The clip is the
whole video, or for VidSTG the sentence's used segment (as TubeDETR and
mmstvg sample). Frame ``i`` is at ``i / fps`` seconds. Relative paths of the
spec resolve against the working directory, as mmstvg's configs do; a
document's ``video_path`` is absolute.
"""
import json
import os.path as osp
from typing import Any, Dict, Iterable, List, Optional

import numpy as np

from mmstvg.datasets.transforms.loading import UniformSampleFrames

__all__ = ['docs_from_specs', 'docs_from_spec', 'encode_data_info',
           'decode_data_info', 'sample_frames']

#: The keys of a data spec.
SPEC_KEYS = ('dataset', 'num_frames', 'qtype')


def encode_data_info(info: Dict[str, Any]) -> str:
    """A data info as JSON text that :func:`decode_data_info` restores exactly.

    numpy arrays keep their dtype and shape, tuples stay tuples.
    """

    def encode(value):
        if isinstance(value, np.ndarray):
            return {'__ndarray__': value.tolist(), 'dtype': str(value.dtype),
                    'shape': list(value.shape)}
        if isinstance(value, tuple):
            return {'__tuple__': [encode(v) for v in value]}
        if isinstance(value, list):
            return [encode(v) for v in value]
        if isinstance(value, dict):
            return {k: encode(v) for k, v in value.items()}
        if isinstance(value, np.generic):
            return value.item()
        return value

    return json.dumps({k: encode(v) for k, v in info.items()})


def decode_data_info(text: str) -> Dict[str, Any]:
    """The data info :func:`encode_data_info` wrote."""

    def decode(value):
        if isinstance(value, dict):
            if '__ndarray__' in value:
                return np.asarray(value['__ndarray__'], dtype=value['dtype']).reshape(
                    value['shape'])
            if '__tuple__' in value:
                return tuple(decode(v) for v in value['__tuple__'])
            return {k: decode(v) for k, v in value.items()}
        if isinstance(value, list):
            return [decode(v) for v in value]
        return value

    return {k: decode(v) for k, v in json.loads(text).items()}


def sample_frames(num_video_frames: int, clip: Optional[Iterable[int]],
                  num_frames: int) -> np.ndarray:
    """The frames a text answer is asked boxes for (see the module docstring).

    Args:
        num_video_frames: frames of the video (the annotation's count).
        clip: ``[start, end)`` to sample from; None: the whole video.
        num_frames: how many frames.

    Returns:
        Ascending int64 frame indices.
    """
    start, end = (0, num_video_frames) if clip is None else (int(c) for c in clip)
    end = min(end, num_video_frames)
    return UniformSampleFrames(num_frames=num_frames, test_mode=True).sample(start, end)


def _spec_error(where: str, message: str) -> ValueError:
    return ValueError(f'lmms-eval data spec {where}: {message}')


def _check_spec(spec: Dict[str, Any], where: str) -> None:
    unknown = sorted(set(spec) - set(SPEC_KEYS))
    if unknown:
        raise _spec_error(where, f'unknown field(s) {unknown}; a spec holds {SPEC_KEYS}')
    dataset = spec.get('dataset')
    if not isinstance(dataset, dict) or not isinstance(dataset.get('type'), str):
        raise _spec_error(where, 'field "dataset" must be an mmstvg dataset config '
                          f'with a "type", got {dataset!r}')
    num_frames = spec.get('num_frames')
    if type(num_frames) is not int or num_frames < 1:
        raise _spec_error(where, f'field "num_frames" must be an integer >= 1, '
                          f'got {num_frames!r}')
    qtype = spec.get('qtype')
    if qtype is not None and not isinstance(qtype, str):
        raise _spec_error(where, f'field "qtype" must be a string or null, got {qtype!r}')


def _doc(info: Dict[str, Any], num_frames: int) -> Dict[str, Any]:
    """One lmms-eval document of an mmstvg data info."""
    fps = float(info['fps'])
    clip = info.get('clip_span_frames')
    frame_inds = sample_frames(int(info['num_frames']), clip, num_frames)
    tube_boxes = np.asarray(info.get('gt_tube_boxes', np.zeros((0, 4))),
                            dtype=np.float64).reshape(-1, 4)
    gt_span_seconds = info.get('gt_span_seconds')
    if gt_span_seconds is None:
        gt_span_seconds = np.asarray(info['gt_span_frames'], dtype=np.float64) / fps
    return dict(
        sample_id=str(info['sample_id']),
        video_id=str(info['video_id']),
        video_path=osp.abspath(str(info['video_path'])),  # models may change directory
        sentence=str(info['sentence']),
        task=str(info['task']),
        dataset_name=str(info.get('dataset_name') or ''),
        qtype=str(info.get('qtype') or ''),
        num_frames=int(info['num_frames']),
        fps=fps,
        duration=float(info.get('duration') or info['num_frames'] / fps),
        height=int(info['height']),
        width=int(info['width']),
        gt_span_frames=[int(v) for v in info['gt_span_frames']],
        gt_span_seconds=[float(v) for v in gt_span_seconds],
        gt_tube_frame_inds=[int(v) for v in np.asarray(
            info.get('gt_tube_frame_inds', []), dtype=np.int64).reshape(-1)],
        gt_tube_boxes=tube_boxes.tolist(),
        frame_inds=frame_inds.tolist(),
        frame_times=(frame_inds.astype(np.float64) / fps).tolist(),
        mmstvg_data_info=encode_data_info(info))


def docs_from_spec(spec: Dict[str, Any], where: str = '<spec>') -> List[Dict[str, Any]]:
    """The documents of one data spec.

    Args:
        spec: the spec (see the module docstring).
        where: how errors name the spec.

    Raises:
        ValueError: for a malformed spec (naming it and the field), or a
            ``qtype`` that no sample has; mmstvg's dataset raises its own
            errors for bad annotations (naming the file, video and field).
    """
    from mmstvg.registry import DATASETS
    from mmstvg.utils import register_all_modules
    register_all_modules()
    _check_spec(spec, where)
    dataset_cfg = dict(spec['dataset'], pipeline=[], test_mode=True)
    dataset = DATASETS.build(dataset_cfg)
    docs = []
    qtype = spec.get('qtype')
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        if qtype and (info.get('qtype') or '') != qtype:
            continue
        docs.append(_doc(info, spec['num_frames']))
    if not docs:
        qtypes = sorted({dataset.get_data_info(i).get('qtype') or ''
                         for i in range(len(dataset))})
        raise _spec_error(where, f'no sample of {dataset_cfg.get("ann_file")} has '
                          f'qtype {qtype!r} (its qtypes: {qtypes})' if qtype else
                          f'{dataset_cfg.get("ann_file")} holds no sample')
    return docs


def docs_from_specs(dataset):
    """lmms-eval's ``process_docs``: the documents of the loaded spec rows.

    Args:
        dataset: the ``datasets.Dataset`` lmms-eval loaded from the task's
            ``data_files`` (one row per spec).

    Returns:
        A ``datasets.Dataset`` with one row per sample.
    """
    import datasets
    docs = []
    for row, spec in enumerate(dataset):
        spec = {k: v for k, v in spec.items() if v is not None or k == 'qtype'}
        source = f'row {row} of the task\'s data_files'
        if isinstance(spec.get('dataset'), dict):
            spec['dataset'] = {k: v for k, v in spec['dataset'].items() if v is not None}
            ann = spec['dataset'].get('ann_file')
            source += f' (ann_file {osp.join(spec["dataset"].get("data_root", ""), ann)})' \
                if isinstance(ann, str) else ''
        docs.extend(docs_from_spec(spec, source))
    return datasets.Dataset.from_list(docs)
