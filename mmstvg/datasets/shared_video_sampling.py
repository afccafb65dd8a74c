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

__all__ = ['video_segment_key', 'pack_runs', 'SharedVideoSampler', 'SharedVideoBatchSampler']


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


def pack_runs(keys: Sequence[Hashable], batch_size: int,
              max_sentences: int = 16) -> List[List[int]]:
    """Batches of positions that never split a run of equal consecutive keys.

    A run of several equal keys (one video's sentences) is a batch of its own,
    cut every ``max_sentences``; single keys are packed up to ``batch_size``.

    Args:
        keys: one key a position (e.g. :func:`video_segment_key`).
        batch_size: positions a batch of single keys may hold.
        max_sentences: the most positions of one run in one batch.

    Returns:
        Lists of positions into ``keys``, in order.
    """
    runs: List[List[int]] = []
    last_key = object()
    for position, key in enumerate(keys):
        if key != last_key or len(runs[-1]) >= max_sentences:
            runs.append([])
        runs[-1].append(position)
        last_key = key
    batches: List[List[int]] = []
    packable: List[bool] = []  # a batch of single keys, still open
    for run in runs:
        if len(run) == 1 and batches and packable[-1] and len(batches[-1]) < batch_size:
            batches[-1].extend(run)
        else:
            batches.append(list(run))
            packable.append(len(run) == 1)
    return batches


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

    def batches(self) -> List[List[int]]:
        """The batches of the sampler's indices (computed once)."""
        if self._batches is None:
            indices = list(self.sampler)
            dataset = self.sampler.dataset
            keys = [video_segment_key(dataset.get_data_info(i)) for i in indices]
            self._batches = [[indices[i] for i in batch] for batch in
                             pack_runs(keys, self.batch_size, self.max_sentences)]
        return self._batches

    def __iter__(self) -> Iterator[List[int]]:
        return iter(self.batches())

    def __len__(self) -> int:
        return len(self.batches())
