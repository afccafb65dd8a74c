"""Grounding metrics, registered in ``mmstvg.registry.METRICS``."""
from .base_grounding_metric import BaseGroundingMetric
from .rec_metric import RECMetric
from .stvg_metric import STVGMetric
from .temporal_grounding_metric import DiDeMoMetric, TemporalGroundingMetric
from .video_qa_metric import VideoQAMetric

__all__ = [
    'BaseGroundingMetric', 'DiDeMoMetric', 'RECMetric', 'STVGMetric', 'TemporalGroundingMetric',
    'VideoQAMetric'
]
