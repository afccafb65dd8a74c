"""SpaceVLLM's parts, registered in mmstvg's plugin registries on import.

The paper's parts:

- :class:`InterleavedQueries` (``QUERY_INTERLEAVERS``): one learnable query
  token right after each sampled frame's visual tokens.
- :class:`QueryGuidedSpaceDecoder` (``SPACE_DECODERS``): per-frame dual
  cross-attention and a box MLP, in a learnable and a parameter-free reading.

Ours, not the paper's, all in :mod:`.addons` (the recipe's configs compose
some of them): ``ReferencePointSpaceDecoder``, ``TimeStampedQueries``,
``QuerySpanScoreHead``, ``TimeStampPointer`` and ``SnappedSpanAnswer``.

A config loads both with ``custom_imports = dict(imports=[
'projects.spacevllm.spacevllm'], allow_failed_imports=False)``.
"""
from .addons import (QuerySpanScoreHead, ReferencePointSpaceDecoder, SnappedSpanAnswer,
                     TimeStampedQueries, TimeStampPointer)
from .interleaved_queries import InterleavedQueries
from .query_guided_space_decoder import (LearnableCrossAttention,
                                         QueryGuidedSpaceDecoder,
                                         parameter_free_cross_attention)

__all__ = [
    'InterleavedQueries', 'QueryGuidedSpaceDecoder', 'LearnableCrossAttention',
    'parameter_free_cross_attention', 'ReferencePointSpaceDecoder', 'TimeStampedQueries',
    'QuerySpanScoreHead', 'TimeStampPointer', 'SnappedSpanAnswer'
]
