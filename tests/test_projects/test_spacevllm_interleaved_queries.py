"""Layout, embeddings and errors of SpaceVLLM's InterleavedQueries."""
import pytest
import torch

from mmstvg.models.query_interleavers.base import InterleavedVideo
from mmstvg.registry import MODELS, QUERY_INTERLEAVERS
from projects.spacevllm.spacevllm import InterleavedQueries, TimeStampedQueries


def _frames_and_prefixes(num_frames, num_tokens, prefix_lengths, dim, seed=0):
    gen = torch.Generator().manual_seed(seed)
    visual = torch.randn(num_frames, num_tokens, dim, generator=gen)
    prefixes = [torch.randn(n, dim, generator=gen) for n in prefix_lengths]
    return visual, prefixes


def test_layout_three_frames_two_tokens_prefixes_1_2_1():
    interleaver = InterleavedQueries(embed_dim=8)
    visual, prefixes = _frames_and_prefixes(3, 2, [1, 2, 1], 8)
    video = interleaver(visual, prefixes)

    # By hand: [p0][v0 v0][q0] [p1 p1][v1 v1][q1] [p2][v2 v2][q2]
    #            0   1  2   3    4  5   6  7   8    9  10 11  12
    assert isinstance(video, InterleavedVideo)
    assert video.embeds.shape == (13, 8)
    assert video.frame_prefix_index.tolist() == [0, 4, 9]
    assert video.frame_token_index.tolist() == [[1, 2], [6, 7], [10, 11]]
    assert video.query_index.tolist() == [3, 8, 12]
    assert video.num_queries == 3
    for tensor in (video.frame_prefix_index, video.frame_token_index, video.query_index):
        assert tensor.dtype == torch.long

    # Every token is where the layout says it is.
    assert torch.equal(video.embeds[[1, 2]], visual[0])
    assert torch.equal(video.embeds[[6, 7]], visual[1])
    assert torch.equal(video.embeds[[10, 11]], visual[2])
    assert torch.equal(video.embeds[[0]], prefixes[0])
    assert torch.equal(video.embeds[[4, 5]], prefixes[1])
    assert torch.equal(video.embeds[[9]], prefixes[2])
    shared = interleaver.query_embed.detach()
    for position in (3, 8, 12):
        assert torch.equal(video.embeds[position], shared)


def test_layout_without_prefixes_and_with_empty_prefix():
    interleaver = InterleavedQueries(embed_dim=4)
    visual, _ = _frames_and_prefixes(2, 3, [], 4)
    video = interleaver(visual)
    # [v0 v0 v0][q0][v1 v1 v1][q1]
    assert video.frame_token_index.tolist() == [[0, 1, 2], [4, 5, 6]]
    assert video.frame_prefix_index.tolist() == [0, 4]
    assert video.query_index.tolist() == [3, 7]
    assert video.embeds.shape == (8, 4)

    # A frame with an empty prefix: its prefix index is its first visual token.
    visual, prefixes = _frames_and_prefixes(2, 3, [0, 2], 4)
    video = interleaver(visual, prefixes)
    # [v0 v0 v0][q0][p1 p1][v1 v1 v1][q1]
    assert video.frame_prefix_index.tolist() == [0, 4]
    assert video.frame_token_index.tolist() == [[0, 1, 2], [6, 7, 8]]
    assert video.query_index.tolist() == [3, 9]
    assert torch.equal(video.embeds[[4, 5]], prefixes[1])


def test_image_gets_a_single_query_after_the_image():
    interleaver = InterleavedQueries(embed_dim=4)
    visual, prefixes = _frames_and_prefixes(1, 4, [2], 4)
    video = interleaver(visual)
    assert video.frame_token_index.tolist() == [[0, 1, 2, 3]]
    assert video.frame_prefix_index.tolist() == [0]
    assert video.query_index.tolist() == [4]
    assert video.num_queries == 1
    assert video.embeds.shape == (5, 4)

    video = interleaver(visual, prefixes)
    assert video.frame_token_index.tolist() == [[2, 3, 4, 5]]
    assert video.query_index.tolist() == [6]
    assert video.embeds.shape == (7, 4)


def test_frame_index_embedding_and_gradients():
    interleaver = InterleavedQueries(embed_dim=4, frame_index_embed=True, max_frames=5,
                                     init_std=0.5)
    visual = torch.zeros(3, 1, 4)
    video = interleaver(visual)
    shared = interleaver.query_embed.detach()
    table = interleaver.frame_index_embed.weight.detach()
    for t in range(3):
        assert torch.allclose(video.embeds[video.query_index[t]], shared + table[t])
    # Queries differ from frame to frame.
    assert not torch.allclose(video.embeds[1], video.embeds[3])

    video.embeds[video.query_index].sum().backward()
    # d/d(shared) of the sum of 3 queries is 3 per coordinate; rows 0..2 of the
    # table get 1, rows 3..4 (frames not present) get 0.
    assert torch.equal(interleaver.query_embed.grad, torch.full((4, ), 3.0))
    expected = torch.zeros(5, 4)
    expected[:3] = 1.0
    assert torch.equal(interleaver.frame_index_embed.weight.grad, expected)


def test_shared_query_gradient_and_init_std():
    torch.manual_seed(0)
    interleaver = InterleavedQueries(embed_dim=4000, init_std=0.1)
    # The sample standard deviation of 4000 N(0, 0.1) draws is 0.1 within ~3%.
    assert abs(interleaver.query_embed.detach().std().item() - 0.1) < 0.005
    assert interleaver.frame_index_embed is None
    assert sum(p.numel() for p in interleaver.parameters()) == 4000

    small = InterleavedQueries(embed_dim=2)
    visual = torch.randn(4, 2, 2, requires_grad=True)
    video = small(visual)
    (video.embeds * 2).sum().backward()
    assert torch.equal(small.query_embed.grad, torch.full((2, ), 8.0))
    assert torch.equal(visual.grad, torch.full((4, 2, 2), 2.0))


def test_dtype_follows_visual_tokens():
    interleaver = InterleavedQueries(embed_dim=4)
    video = interleaver(torch.randn(2, 2, 4, dtype=torch.bfloat16),
                        [torch.randn(1, 4), torch.randn(1, 4)])
    assert video.embeds.dtype == torch.bfloat16


def test_bad_inputs_name_the_field():
    interleaver = InterleavedQueries(embed_dim=4, frame_index_embed=True, max_frames=2)
    with pytest.raises(ValueError, match='max_frames=2'):
        interleaver(torch.randn(3, 2, 4))
    with pytest.raises(ValueError, match=r'visual_tokens must be \(T, P, D\)'):
        interleaver(torch.randn(2, 4))
    with pytest.raises(ValueError, match='embed_dim=4'):
        interleaver(torch.randn(2, 2, 5))
    with pytest.raises(ValueError, match='frame_prefix_embeds has 1 entries for 2 frames'):
        interleaver(torch.randn(2, 2, 4), [torch.randn(1, 4)])
    with pytest.raises(ValueError, match=r'frame_prefix_embeds\[1\]'):
        interleaver(torch.randn(2, 2, 4), [torch.randn(1, 4), torch.randn(1, 3)])


def test_registered_and_built_by_type_string():
    built = QUERY_INTERLEAVERS.build(
        dict(type='InterleavedQueries', embed_dim=6, frame_index_embed=True, max_frames=8))
    assert isinstance(built, InterleavedQueries)
    assert built.frame_index_embed.weight.shape == (8, 6)
    assert MODELS.get('InterleavedQueries') is InterleavedQueries


def test_time_aware_queries_add_the_mean_of_their_frame_prefix():
    plain = InterleavedQueries(embed_dim=8)
    aware = TimeStampedQueries(embed_dim=8, add_time_to='queries')
    aware.load_state_dict(plain.state_dict())
    visual, prefixes = _frames_and_prefixes(3, 2, [1, 2, 0], 8)
    video = aware(visual, prefixes)
    reference = plain(visual, prefixes)
    shared = aware.query_embed.detach()
    # frame 0: one prefix token; frame 1: the mean of two; frame 2: none
    expected = [shared + prefixes[0][0], shared + (prefixes[1][0] + prefixes[1][1]) / 2,
                shared]
    for t, position in enumerate(video.query_index.tolist()):
        torch.testing.assert_close(video.embeds[position], expected[t])
    # everything but the queries is laid out as without the option
    others = torch.ones(video.embeds.shape[0], dtype=torch.bool)
    others[video.query_index] = False
    assert torch.equal(video.embeds[others], reference.embeds[others])
    # no prefixes at all: the plain shared query
    video = aware(visual)
    assert torch.equal(video.embeds[video.query_index], shared.expand(3, -1))
    # gradients reach the shared query and pass through to the prefixes
    prefixes = [p.requires_grad_() for p in prefixes]
    video = aware(visual, prefixes)
    video.embeds[video.query_index[1]].sum().backward()
    # q1 = shared + mean(p1): d/dp1 = 1/2 per element; p0 is not part of it
    torch.testing.assert_close(prefixes[1].grad, torch.full((2, 8), 0.5))
    assert prefixes[1].grad.abs().sum() > 0 and prefixes[0].grad.abs().sum() == 0


def test_time_aware_visual_tokens_add_the_mean_of_their_frame_prefix():
    plain = InterleavedQueries(embed_dim=8)
    aware = TimeStampedQueries(embed_dim=8, add_time_to=('queries', 'visual_tokens'))
    aware.load_state_dict(plain.state_dict())
    visual, prefixes = _frames_and_prefixes(3, 2, [1, 2, 0], 8)
    video = aware(visual, prefixes)
    times = [prefixes[0][0], prefixes[1].mean(0), torch.zeros(8)]
    for t in range(3):
        torch.testing.assert_close(video.embeds[video.frame_token_index[t]],
                                   visual[t] + times[t])
        torch.testing.assert_close(video.embeds[video.query_index[t]],
                                   aware.query_embed.detach() + times[t])
    assert torch.equal(video.embeds[video.frame_prefix_index[:2]],
                       plain(visual, prefixes).embeds[video.frame_prefix_index[:2]])
    with pytest.raises(ValueError, match='add_time_to'):
        TimeStampedQueries(embed_dim=8, add_time_to=('frames', ))
    # the paper's interleaver has no such option
    with pytest.raises(TypeError, match='add_time_to'):
        InterleavedQueries(embed_dim=8, add_time_to='queries')
