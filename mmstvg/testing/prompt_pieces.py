"""Test helpers for the prompt's tokenization in the data pipeline (issue 30):
which samples reach a grounder with the pipeline's ``prompt_pieces``, and a
pipeline without the transform (the grounder's own tokenization)."""
from typing import List

from mmengine.dataset import Compose

__all__ = ['record_prompt_pieces', 'without_prompt_tokenization']


def record_prompt_pieces(model) -> List[bool]:
    """Record, for each sample the grounder's ``SequenceBuilder`` tokenizes
    or takes, whether it carries ``prompt_pieces`` (appended to the returned
    list; ``del model.sequence_builder.pieces`` stops it)."""
    builder, seen = model.sequence_builder, []
    pieces = builder.pieces

    def recording(sample, num_frames, with_answer):
        seen.append('prompt_pieces' in sample.metainfo)
        return pieces(sample, num_frames, with_answer)

    builder.pieces = recording
    return seen


def without_prompt_tokenization(pipeline: Compose) -> Compose:
    """``pipeline`` without its ``TokenizeGroundingPrompt`` steps.

    Matched by class name: ``mmstvg.testing`` sits below ``mmstvg.datasets``
    in the package layers (``docs/en/architecture.md``) and imports nothing
    from it."""
    return Compose([t for t in pipeline.transforms
                    if type(t).__name__ != 'TokenizeGroundingPrompt'])
