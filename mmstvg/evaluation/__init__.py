"""Evaluation: STVG, temporal grounding and REC metrics, offline re-scoring."""
from .functional import (PROTOCOLS, DumpMismatchError, rescore_dump,
                         sample_from_data_info, samples_from_dump, score_stvg)
from .metrics import (BaseGroundingMetric, DiDeMoMetric, RECMetric, STVGMetric,
                      TemporalGroundingMetric, VideoQAMetric)

__all__ = [
    'BaseGroundingMetric', 'DiDeMoMetric', 'DumpMismatchError', 'PROTOCOLS',
    'RECMetric', 'STVGMetric',
    'TemporalGroundingMetric', 'rescore_dump', 'sample_from_data_info',
    'samples_from_dump', 'score_stvg', 'VideoQAMetric'
]
