"""RefCOCO / RefCOCO+ / RefCOCOg: check MDETR's ``final_*.json``.

Input, as published by MDETR (``final_refcoco_train.json`` ...): COCO-style
``{"images": [...], "annotations": [...], "categories": [...]}`` where each
image entry is one (image, expression) pair: ``id``, ``file_name``
(``COCO_train2014_000000581857.jpg``), ``height``, ``width``, ``caption``,
``dataset_name``, ``original_id`` ...; each annotation ``image_id``,
``bbox`` (``[x, y, w, h]``), ``category_id`` ...

Output: the same format with only the pairs
:class:`mmstvg.datasets.RefCOCODataset` can use (exactly one annotation with a
box of positive size, a non-empty caption, a positive frame size; the image
present when ``image_dir`` is given); the others dropped and counted.
"""
import math
import numbers
import os.path as osp
from collections import defaultdict
from typing import Optional

from ..validation import GroundingDataError, load_json
from .report import ConversionReport, progress, write_json

__all__ = ['convert_refcoco']


def convert_refcoco(ann_file: str, out_file: str,
                    image_dir: Optional[str] = None,
                    show_progress: bool = True) -> ConversionReport:
    """Check one MDETR REC file (see the module docstring)."""
    report = ConversionReport(f'REC {osp.basename(ann_file)}')
    coco = load_json(ann_file)
    if not isinstance(coco, dict) or not isinstance(coco.get('images'), list) \
            or not isinstance(coco.get('annotations'), list):
        raise GroundingDataError('must be COCO-style with "images" and '
                                 '"annotations" lists', ann_file=ann_file,
                                 field='<top level>')
    anns = defaultdict(list)
    for ann in coco['annotations']:
        if isinstance(ann, dict):
            anns[ann.get('image_id')].append(ann)
    images, annotations = [], []
    for image in progress(coco['images'], show_progress):
        name = image.get('file_name') if isinstance(image, dict) else None
        if not isinstance(name, str):
            report.drop('image entry without a file_name', repr(image)[:60])
            continue
        mine = anns.get(image.get('id'), [])
        box = mine[0].get('bbox') if len(mine) == 1 else None
        caption = image.get('caption')
        if len(mine) != 1:
            report.drop('not exactly one annotation', f'{name} ({len(mine)})')
        elif not isinstance(caption, str) or not caption.strip():
            report.drop('caption is not a non-empty string', name)
        elif not (isinstance(box, list) and len(box) == 4 and all(
                isinstance(v, numbers.Real) and math.isfinite(v) for v in box)
                  and box[2] > 0 and box[3] > 0):
            report.drop('bbox is not [x, y, w, h] of positive size', name)
        elif not all(isinstance(image.get(k), int) and image[k] > 0
                     for k in ('height', 'width')):
            report.drop('height / width are not positive integers', name)
        elif image_dir is not None and not osp.isfile(
                osp.join(image_dir, name)):
            report.drop('image file missing', osp.join(image_dir, name))
        else:
            images.append(image)
            annotations.append(mine[0])
            report.keep()
    report.check_kept(ann_file, 'images')
    write_json(dict(coco, images=images, annotations=annotations), out_file)
    return report
