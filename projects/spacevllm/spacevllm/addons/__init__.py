"""Our additions to SpaceVLLM, not the paper's: one named place for all of them.

Each module registers its part in mmstvg's registries on import, as the paper's
parts in :mod:`projects.spacevllm.spacevllm` do; that package imports this one,
so a config's ``custom_imports = dict(imports=['projects.spacevllm.spacevllm'])``
loads both. A config without these types builds the paper's model.

- :class:`ReferencePointSpaceDecoder` (``SPACE_DECODERS``): the QGSD with
  reference points on the token grid and token position embeddings, the
  recipe's default.
- :class:`TimeStampedQueries` (``QUERY_INTERLEAVERS``): interleaved queries
  carrying their frame's time.
- :class:`QuerySpanScoreHead` (``MODELS``, an entry of the grounder's
  ``heads``): per-frame "inside the span" scores.
- :class:`TimeStampPointer` (``MODELS``, an entry of the grounder's
  ``logits_processors``): the answer writes a shown time by pointing at a
  frame boundary.
- :class:`FrameScoreSpanWriter` (``MODELS``, an entry of the grounder's
  ``logits_processors``): the answer states the span of the frame scores.
- :class:`SnappedSpanAnswer` (``TASK_UTILS``, the grounder's ``answer``): the
  span stated on the shown frame times.

Why each is here and what it measured: ``docs/en/model_core.md`` ("Our
additions") and ``docs/en/results.md``.
"""
from .frame_score_span_writer import FrameScoreSpanWriter, best_scoring_run, run_to_seconds
from .query_span_score_head import QuerySpanScoreHead, span_targets
from .reference_point_space_decoder import ReferencePointSpaceDecoder, grid_cells
from .snapped_span_answer import (SnappedSpanAnswer, digits_for_fps, one_token_time_limit,
                                  sampled_frames_in_span, snap_span_to_frames)
from .time_stamp_pointer import TimeStampPointer
from .time_stamped_queries import TimeStampedQueries

__all__ = [
    'ReferencePointSpaceDecoder', 'grid_cells', 'TimeStampedQueries', 'QuerySpanScoreHead',
    'span_targets', 'TimeStampPointer', 'SnappedSpanAnswer', 'snap_span_to_frames',
    'sampled_frames_in_span', 'digits_for_fps', 'one_token_time_limit',
    'FrameScoreSpanWriter', 'best_scoring_run', 'run_to_seconds'
]
