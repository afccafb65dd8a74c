from .base import BaseSpaceDecoder
from .mlp_box_head import MLPBoxHead
from .query_span_score_head import QuerySpanScoreHead, span_targets

__all__ = ['BaseSpaceDecoder', 'MLPBoxHead', 'QuerySpanScoreHead', 'span_targets']
