"""SpaceVLLM's parts, registered in mmstvg's plugin registries on import.

The paper's parts:

- :class:`InterleavedQueries` (``QUERY_INTERLEAVERS``): one learnable query
  token right after each sampled frame's visual tokens.
- :class:`QueryGuidedSpaceDecoder` (``SPACE_DECODERS``): per-frame dual
  cross-attention and a box MLP, in a learnable and a parameter-free reading.

Ours, not the paper's (the toy config composes them):

- :class:`TimeStampedQueries`: interleaved queries carrying their frame's time.
- :class:`ReferencePointSpaceDecoder`: the QGSD with reference points on the
  token grid and token position embeddings.

A config loads them with ``custom_imports = dict(imports=[
'projects.spacevllm.spacevllm'], allow_failed_imports=False)``.
"""
from .interleaved_queries import InterleavedQueries
from .query_guided_space_decoder import (LearnableCrossAttention,
                                         QueryGuidedSpaceDecoder,
                                         parameter_free_cross_attention)
from .reference_point_space_decoder import ReferencePointSpaceDecoder
from .time_stamped_queries import TimeStampedQueries

__all__ = [
    'InterleavedQueries', 'QueryGuidedSpaceDecoder', 'LearnableCrossAttention',
    'parameter_free_cross_attention', 'ReferencePointSpaceDecoder', 'TimeStampedQueries'
]
