"""Issue 31: the evaluation order that keeps one video segment's sentences in one batch,
and a clip asked again decoded once."""
import os

import pytest

from mmstvg.datasets import shared_video_sampling
from mmstvg.datasets.shared_video_sampling import (SharedVideoBatchSampler, SharedVideoSampler,
                                                   video_segment_key)


class SegmentsDataset:
    """``get_data_info`` of sentences on (video, segment) pairs, in the given order."""

    def __init__(self, segments):
        self.infos = [dict(video_path=f'{video}.mp4', clip_span_frames=[start, start + 10])
                      for video, start in segments]

    def __len__(self):
        return len(self.infos)

    def get_data_info(self, index):
        return self.infos[index]


# VidSTG-like: sentences of one segment are not next to each other in the file;
# video b has two segments.
SEGMENTS = [('a', 0), ('b', 0), ('a', 0), ('c', 5), ('b', 20), ('a', 0), ('b', 0), ('d', 0)]


def test_key_is_the_video_and_the_segment():
    assert video_segment_key(dict(video_path='v.mp4', clip_span_frames=[2, 18])) == \
        ('v.mp4', (2, 18))
    assert video_segment_key(dict(video_path='v.mp4')) == ('v.mp4', None)


def test_one_process_sees_each_sample_once_segments_together():
    sampler = SharedVideoSampler(SegmentsDataset(SEGMENTS))
    assert list(sampler) == [0, 2, 5, 1, 6, 3, 4, 7]
    assert len(sampler) == 8


@pytest.mark.parametrize('world_size', [2, 3, 5])
def test_ranks_follow_the_default_samplers_contract(monkeypatch, world_size):
    """MMEngine's collect_results interleaves the ranks' results and keeps the
    first len(dataset): that must be every sample exactly once."""
    dataset = SegmentsDataset(SEGMENTS)
    parts = []
    for rank in range(world_size):
        monkeypatch.setattr(shared_video_sampling, 'get_dist_info',
                            lambda rank=rank: (rank, world_size))
        parts.append(list(SharedVideoSampler(dataset)))
    assert len({len(part) for part in parts}) == 1  # equal lengths, as zip needs
    interleaved = [index for row in zip(*parts) for index in row][:len(dataset)]
    assert sorted(interleaved) == list(range(len(dataset)))


def test_batches_keep_a_segment_whole_and_pack_small_ones():
    dataset = SegmentsDataset(SEGMENTS)
    batches = list(SharedVideoBatchSampler(SharedVideoSampler(dataset), batch_size=2))
    # a's three sentences exceed batch_size but stay together; b@0's two; then
    # the single c and the single b@20 packed; d alone
    assert batches == [[0, 2, 5], [1, 6], [3, 4], [7]]
    assert len(SharedVideoBatchSampler(SharedVideoSampler(dataset), batch_size=2)) == 4
    # several sentences of one segment never share a batch with another video
    wide = list(SharedVideoBatchSampler(SharedVideoSampler(dataset), batch_size=8))
    assert wide == [[0, 2, 5], [1, 6], [3, 4, 7]]


def test_max_sentences_splits_a_long_segment():
    dataset = SegmentsDataset([('a', 0)] * 5)
    batches = list(SharedVideoBatchSampler(SharedVideoSampler(dataset), batch_size=1,
                                           max_sentences=2))
    assert batches == [[0, 1], [2, 3], [4]]
    with pytest.raises(ValueError, match='max_sentences'):
        SharedVideoBatchSampler(SharedVideoSampler(dataset), batch_size=1, max_sentences=0)


def _decode(reader_transform, decode_transform, path, frame_inds):
    results = reader_transform(dict(video_path=path, num_frames=20, fps=10.0))
    results['frame_inds'] = frame_inds
    return decode_transform(results)['imgs']


def test_a_clip_asked_again_is_decoded_once(tmp_path, helpers, monkeypatch):
    import numpy as np

    from mmstvg.datasets.transforms.loading import GroundingDecordDecode, GroundingDecordInit
    path = str(tmp_path / 'v.mp4')
    helpers['write_video'](path)
    init, decode = GroundingDecordInit(), GroundingDecordDecode()
    calls = []
    real = GroundingDecordDecode._decode

    def counting(reader, frame_inds, results):
        calls.append(frame_inds.tolist())
        return real(reader, frame_inds, results)

    monkeypatch.setattr(GroundingDecordDecode, '_decode', staticmethod(counting))
    first = _decode(init, decode, path, np.array([0, 5, 10]))
    with pytest.raises(ValueError, match='read-only'):
        first[:] = 0  # a transform writing into the kept clip fails, it cannot change it
    second = _decode(init, decode, path, np.array([0, 5, 10]))
    assert len(calls) == 1 and second.any()
    assert second is first  # kept, not copied (a copy a sample cost ~0.2 s at 720p)
    fresh = GroundingDecordDecode(reuse_last=False)
    uncached = _decode(init, fresh, path, np.array([0, 5, 10]))
    assert np.array_equal(second, uncached) and uncached.flags.writeable
    _decode(init, decode, path, np.array([0, 5, 11]))  # other frames: decoded
    assert len(calls) == 3
    other = np.full((20, 32, 32, 3), 200, dtype=np.uint8)
    helpers['write_video'](path, frames=other)  # the file changed
    os.utime(path, ns=(1, 1))
    third = _decode(init, decode, path, np.array([0, 5, 11]))
    assert len(calls) == 4 and not np.array_equal(third, second)


def test_the_kept_clip_is_copied_only_where_packed_as_it_is(tmp_path, helpers):
    import numpy as np

    from mmstvg.datasets.transforms import (GroundingDecordDecode, GroundingDecordInit,
                                            GroundingResize, PackGroundingInputs)
    path = str(tmp_path / 'v.mp4')
    helpers['write_video'](path)
    init, decode, pack = GroundingDecordInit(), GroundingDecordDecode(), PackGroundingInputs()
    inds = np.array([0, 5, 10])

    def results():
        out = init(dict(video_path=path, num_frames=20, fps=10.0))
        out['frame_inds'] = inds
        return decode(out)

    kept = results()['imgs']
    packed = pack(results())['inputs']  # read-only frames: Pack copies them
    assert not kept.flags.writeable
    assert packed.permute(0, 2, 3, 1).numpy().ctypes.data != kept.ctypes.data
    assert np.array_equal(packed.permute(0, 2, 3, 1).numpy(), kept)
    packed[:] = 0  # the tensor is the model's to change
    assert kept.any()
    resized = GroundingResize(scale=(16, 16))(results())['imgs']
    assert resized.flags.writeable  # the resize made new frames: Pack need not copy
    sample = results()
    sample['imgs'] = resized
    frames = pack(sample)['inputs']
    assert frames.permute(0, 2, 3, 1).numpy().ctypes.data == resized.ctypes.data


def test_presentation_times_are_read_once_per_reused_reader(tmp_path, helpers, monkeypatch):
    from mmstvg.datasets.transforms import loading
    path = str(tmp_path / 'v.mp4')
    helpers['write_video'](path)
    calls = []

    def boundaries(reader, decodable):
        calls.append(decodable)
        return None  # a constant frame rate

    monkeypatch.setattr(loading, 'frame_boundaries', boundaries)
    init = loading.GroundingDecordInit(frame_times='presentation')
    for _ in range(3):
        init(dict(video_path=path, num_frames=20, fps=10.0))
    assert calls == [20]
    fresh = loading.GroundingDecordInit(frame_times='presentation', reuse_last=False)
    for _ in range(2):
        fresh(dict(video_path=path, num_frames=20, fps=10.0))
    assert calls == [20, 20, 20]
