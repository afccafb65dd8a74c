"""A dataset config that reads annotations only: no video is opened or needed.

Re-scoring a prediction dump (``tools/analysis_tools/eval_predictions.py``)
and the trivial answer (``tools/analysis_tools/trivial_baseline.py``) need the
ground truth and each video's frame count, fps and size, all of which the
annotations (or a dump's ``video_meta``) give: they build the dataset with
:func:`annotations_only` and never touch a video file.
"""
import copy
from typing import Dict, Optional

from mmengine.dataset import BaseDataset

from mmstvg.registry import DATASETS
from .base_grounding_dataset import BaseGroundingDataset

__all__ = ['annotations_only']


def annotations_only(dataset_cfg: dict,
                     video_meta: Optional[Dict[str, dict]] = None) -> dict:
    """A dataset config that reads annotations only.

    No pipeline, no check that the videos exist, and the video metadata the
    annotations lack taken from ``video_meta`` (a dump's), in every
    sub-dataset of a mixture or wrapper too.

    Args:
        dataset_cfg: the config's dataset (not modified).
        video_meta: ``{video_id: {'num_frames', 'fps', 'height', 'width'}}``
            for annotations without them.

    Returns:
        A new dataset config.
    """
    dataset_cfg = copy.deepcopy(dataset_cfg)
    if isinstance(dataset_cfg.get('datasets'), (list, tuple)):
        dataset_cfg['datasets'] = [
            annotations_only(d, video_meta) if isinstance(d, dict) else d
            for d in dataset_cfg['datasets']]
    if isinstance(dataset_cfg.get('dataset'), dict):
        dataset_cfg['dataset'] = annotations_only(dataset_cfg['dataset'],
                                                  video_meta)
    cls = dataset_cfg.get('type')
    cls = DATASETS.get(cls) if isinstance(cls, str) else cls
    if isinstance(cls, type) and issubclass(cls, BaseDataset):
        dataset_cfg['pipeline'] = []  # no transform is needed
    if isinstance(cls, type) and issubclass(cls, BaseGroundingDataset):
        dataset_cfg['check_video_exists'] = False
        dataset_cfg['known_video_meta'] = dict(video_meta or {})
    return dataset_cfg
