"""Inference: a video + a sentence (or an image + a phrase) -> span and tube."""
from .grounding_inferencer import GroundingInferencer, prediction_to_dict
from .inference_pipeline import (ANNOTATION_TRANSFORMS, RANDOM_TRANSFORMS, ArrayVideo,
                                 InferenceVideoInit, adapt_test_pipeline,
                                 build_inference_data_info, open_video_source)
from .tube_rendering import (SENTENCE_COLORS, Mp4StreamWriter, densify_tube, draw_tubes,
                             render_tube_video, render_tubes_video, sentence_color,
                             span_caption, tube_sample_for_frames)

__all__ = [
    'GroundingInferencer', 'prediction_to_dict', 'ANNOTATION_TRANSFORMS',
    'RANDOM_TRANSFORMS', 'ArrayVideo', 'InferenceVideoInit', 'adapt_test_pipeline',
    'build_inference_data_info', 'open_video_source', 'Mp4StreamWriter', 'densify_tube',
    'render_tube_video', 'span_caption', 'tube_sample_for_frames', 'SENTENCE_COLORS',
    'draw_tubes', 'render_tubes_video', 'sentence_color'
]
