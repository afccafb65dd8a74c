"""RefCOCO / RefCOCO+ / RefCOCOg in MDETR-style COCO json (REC as 1-frame videos)."""
import os.path as osp
from collections import defaultdict
from typing import List, Tuple

import numpy as np

from mmstvg.registry import DATASETS
from mmstvg.structures import xywh_to_xyxy
from .base_grounding_dataset import BaseGroundingDataset
from .validation import Target, VideoMeta, build_data_info

__all__ = ['RefCOCODataset']


@DATASETS.register_module()
class RefCOCODataset(BaseGroundingDataset):
    """Referring expression comprehension: an image, a phrase, one box.

    **Source files**: MDETR's ``final_refcoco_{train,val,testA,testB}.json``
    (also ``final_refcoco+_*`` and ``final_refcocog_*``): COCO-style json
    where each entry of ``images`` is one (image, expression) pair; images
    under ``data_prefix['video']`` (the COCO ``train2014`` folder).

    **Keys read**: ``images[*]``: ``id``, ``file_name``, ``height``,
    ``width``, ``caption`` (the expression), optional ``dataset_name``
    (``'refcoco'`` ...) which becomes ``dataset_name`` unless the config
    names one (e.g. ``'refcoco_testA'``, for per-split metrics);
    ``annotations[*]``: ``image_id``, ``bbox`` (``[x, y, w, h]``). Each image
    entry must have exactly one annotation (its referred object).

    **Convention converted from**: an image is a one-frame video at 1 fps:
    ``num_frames = 1``, ``gt_span_frames = [0, 1)``, ``gt_span_seconds =
    (0, 1)``, ``gt_tube_frame_inds = [0]`` and ``gt_tube_boxes`` the box in
    xyxy.

    ``sample_id = '<file_name>#<id>'``, ``video_id = <file_name without
    extension>``.
    """

    DEFAULT_NAME = 'refcoco'
    TASK = 'rec'
    SAMPLE_ID_FIELD = 'file_name/id'

    def load_raw_annotations(self) -> List[Tuple[dict, list]]:
        coco = self.load_json()
        for key in ('images', 'annotations'):
            if not isinstance(coco, dict) or key not in coco:
                raise self.bad('missing top-level key', '<all>', key)
            if not isinstance(coco[key], list):
                raise self.bad(f'must be a list, got {type(coco[key]).__name__}',
                               '<all>', key)
        anns = defaultdict(list)
        for ann in coco['annotations']:
            if isinstance(ann, dict):
                anns[ann.get('image_id')].append(ann)
        return [(image, anns.get(image.get('id'), []) if isinstance(
            image, dict) else []) for image in coco['images']]

    def parse_data_info(self, raw: Tuple[dict, list]) -> dict:
        image, anns = raw
        file_name = self.str_field(
            image, 'file_name',
            image.get('id', '?') if isinstance(image, dict) else '?')
        get = lambda key: self.require(image, key, file_name)  # noqa: E731
        image_id = get('id')
        if len(anns) != 1:
            raise self.bad(f'{len(anns)} annotations for one expression '
                           '(expected 1)', file_name, 'annotations')
        box = self.boxes_field(self.require(anns[0], 'bbox', file_name),
                               'bbox', file_name)
        if len(box) != 1:
            raise self.bad(f'bbox must be one [x, y, w, h], got {len(box)} '
                           'boxes', file_name, 'bbox')
        info = build_data_info(
            self.info_checks,
            sample_id=f'{file_name}#{image_id}',
            video_id=osp.splitext(osp.basename(file_name))[0],
            video_path=self.resolve_video_path(file_name, file_name),
            sentence=get('caption'),
            video=VideoMeta(
                num_frames=1, fps=1.0,
                height=self.int_field(image, 'height', file_name, minimum=1),
                width=self.int_field(image, 'width', file_name, minimum=1)),
            target=Target((0, 1), np.zeros(1, dtype=np.int64),
                          xywh_to_xyxy(box), span_field='image',
                          box_field='bbox'),
            source_id=file_name)
        if image.get('dataset_name') and not self.dataset_name_given:
            info['dataset_name'] = str(image['dataset_name'])
        return info
