from .base import BaseSpaceDecoder, box_targets
from .mlp_box_head import MLPBoxHead
from .query_span_score_head import QuerySpanScoreHead, span_targets

__all__ = ['BaseSpaceDecoder', 'box_targets', 'MLPBoxHead', 'QuerySpanScoreHead', 'span_targets']
