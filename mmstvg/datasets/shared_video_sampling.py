"""Evaluation order that keeps the sentences of one video segment together.

:class:`SharedVideoSampler` orders a test set by video segment (the video file
and the sample's ``clip_span_frames``, which fix the frames a test pipeline
samples) and :class:`SharedVideoBatchSampler` puts each segment's sentences in
one batch, so that the grounder can decode, encode and prefill the video once
for all of them (``share_video`` in :class:`VideoGroundingLLM`). Rationale and
figures: ``docs/en/shared_video_evaluation.md``.
"""
import math
from collections import OrderedDict
from typing import Dict, Hashable, Iterator, List, Optional, Sequence

from mmengine.dist import get_dist_info
from torch.utils.data import Sampler

from mmstvg.registry import DATA_SAMPLERS

__all__ = ['video_segment_key', 'SharedVideoSampler', 'SharedVideoBatchSampler']


def video_segment_key(data_info: dict) -> Hashable:
    """What a test pipeline's frames depend on: the video file and the segment.

    Args:
        data_info: one sample's ``get_data_info`` dict.

    Returns:
        ``(video_path, clip_span_frames)``; samples with equal keys are decoded
        from the same frames by a deterministic (test-mode) pipeline.
    """
    span = data_info.get('clip_span_frames')
    return (data_info.get('video_path'), None if span is None else tuple(int(x) for x in span))


def _group_indices(dataset) -> List[List[int]]:
    """The dataset's indices grouped by video segment, in first-seen order."""
    groups: Dict[Hashable, List[int]] = OrderedDict()
    for index in range(len(dataset)):
        groups.setdefault(video_segment_key(dataset.get_data_info(index)), []).append(index)
    return list(groups.values())


@DATA_SAMPLERS.register_module()
class SharedVideoSampler(Sampler):
    """Test-set order with each video segment's samples next to each other.

    A drop-in for ``DefaultSampler(shuffle=False)`` in evaluation, with the
    same contract in distributed runs: every rank yields
    ``ceil(len(dataset) / world_size)`` indices, padded with repeats, and
    MMEngine's ``collect_results`` (which interleaves the ranks' results and
    drops the padded tail) gets every sample exactly once. Rank ``r`` takes
    the ``r``-th contiguous slice of the grouped order, so a segment is split
    between ranks at most at a slice boundary (it is then shared on each
    side).

    Args:
        dataset: the dataset (needs ``get_data_info``).
        seed: unused (accepted because the Runner passes it to samplers).
    """

    def __init__(self, dataset, seed: Optional[int] = None):
        self.dataset = dataset
        self.rank, self.world_size = get_dist_info()
        self.groups = _group_indices(dataset)
        order = [index for group in self.groups for index in group]
        total = len(order)
        self.num_samples = math.ceil(total / self.world_size) if total else 0
        # Rank r's share, as DefaultSampler's padded interleaving fills it: the
        # first `total % world_size` ranks (all when it divides) get one more.
        full = total % self.world_size or self.world_size
        start = self.rank * self.num_samples - max(0, self.rank - full)
        length = self.num_samples - (1 if self.rank >= full and total else 0)
        self.indices = order[start:start + length]
        if len(self.indices) < self.num_samples:  # pad: dropped by collect_results
            self.indices = self.indices + order[:self.num_samples - len(self.indices)]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Evaluation order does not depend on the epoch."""


@DATA_SAMPLERS.register_module()
class SharedVideoBatchSampler(Sampler):
    """Batches that never split a video segment's sentences.

    Consecutive samples of one segment (as :class:`SharedVideoSampler`
    orders them) make a batch of their own, even past ``batch_size``, up to
    ``max_sentences``, so that the batch holds one video (the data
    preprocessor then normalises it once); segments with one sentence are
    packed together up to ``batch_size``. With any other sampler it still
    never splits a run of one segment's samples.

    Args:
        sampler: the index sampler (its ``dataset`` gives the segments).
        batch_size: samples a batch of several segments may hold.
        max_sentences: the most sentences of one segment in one batch (a
            segment with more is split into batches of this size).
    """

    def __init__(self, sampler, batch_size: int, max_sentences: int = 16):
        if batch_size < 1 or max_sentences < 1:
            raise ValueError(f'batch_size and max_sentences must be >= 1, got '
                             f'{batch_size} and {max_sentences}')
        self.sampler = sampler
        self.batch_size = batch_size
        self.max_sentences = max_sentences
        self._batches: Optional[List[List[int]]] = None

    def _runs(self, indices: Sequence[int]) -> List[List[int]]:
        """Maximal runs of consecutive indices of one segment, cut at max_sentences."""
        dataset = self.sampler.dataset
        runs: List[List[int]] = []
        last_key = object()
        for index in indices:
            key = video_segment_key(dataset.get_data_info(index))
            if key != last_key or len(runs[-1]) >= self.max_sentences:
                runs.append([])
            runs[-1].append(index)
            last_key = key
        return runs

    def batches(self) -> List[List[int]]:
        """The batches of the sampler's indices (computed once)."""
        if self._batches is None:
            batches: List[List[int]] = []
            self._packable: List[bool] = []  # a batch of single-sentence segments
            for run in self._runs(list(self.sampler)):
                if len(run) == 1 and batches and len(batches[-1]) < self.batch_size and \
                        self._packable[-1]:
                    batches[-1].extend(run)
                else:
                    batches.append(list(run))
                    self._packable.append(len(run) == 1)
            self._batches = batches
        return self._batches

    def __iter__(self) -> Iterator[List[int]]:
        return iter(self.batches())

    def __len__(self) -> int:
        return len(self.batches())
