"""Automatic STVG data construction (SpaceVLLM's Uni-STG recipe, secondary reading).

caption -> an object picker names the object and writes a referring sentence
-> a phrase detector boxes it on sampled frames -> filters refine and clean
-> HC-STVG annotations + a report. Run it with
``tools/data_construction/build_stvg.py CONFIG``; see
``docs/en/data_construction.md``.
"""
from .filters import (BaseConstructionFilter, BoundaryRefinement, BoxAreaJumpFrameFilter,
                      DurationFilter, MaxBoxesFrameFilter)
from .grounding_dino import (BaseGroundingDetector, GroundingDINODetector,
                             adapt_mmdet_bert_to_transformers5, load_detector_weights,
                             resolve_mmdet_config)
from .io import ResultStore, VideoCaption, atomic_write_json, load_caption_list
from .object_picker import (PICKER_PROMPT, PICKER_SYSTEM_PROMPT, BaseObjectPicker,
                            PickedObject, RegexObjectPicker, TransformersObjectPicker,
                            parse_picker_reply)
from .pipeline import STVGConstructionPipeline, build_report, ground_video, sample_frame_indices
from .sample import (BOX_CHOICES, CandidateSample, FrameDetections,
                     candidate_to_hcstvg_entry, choose_boxes, fill_span_boxes)

__all__ = [
    'BaseConstructionFilter', 'BoundaryRefinement', 'BoxAreaJumpFrameFilter',
    'DurationFilter', 'MaxBoxesFrameFilter', 'BaseGroundingDetector',
    'GroundingDINODetector', 'adapt_mmdet_bert_to_transformers5', 'load_detector_weights',
    'resolve_mmdet_config', 'ResultStore', 'VideoCaption', 'atomic_write_json',
    'load_caption_list', 'PICKER_PROMPT', 'PICKER_SYSTEM_PROMPT', 'BaseObjectPicker',
    'PickedObject', 'RegexObjectPicker', 'TransformersObjectPicker', 'parse_picker_reply',
    'STVGConstructionPipeline', 'build_report', 'ground_video', 'sample_frame_indices',
    'BOX_CHOICES', 'CandidateSample', 'FrameDetections', 'candidate_to_hcstvg_entry',
    'choose_boxes', 'fill_span_boxes'
]
