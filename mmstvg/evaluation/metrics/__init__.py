"""Grounding metrics, registered in ``mmstvg.registry.METRICS``."""
from .base_grounding_metric import BaseGroundingMetric
from .rec_metric import RECMetric
from .stvg_metric import STVGMetric
from .temporal_grounding_metric import DiDeMoMetric, TemporalGroundingMetric

__all__ = [
    'BaseGroundingMetric', 'DiDeMoMetric', 'RECMetric', 'STVGMetric', 'TemporalGroundingMetric'
]
