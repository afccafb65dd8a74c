"""What each query can see through a real causal LM (a tiny random Qwen2).

With interleaved queries, query ``i``'s last hidden state must depend on the
tokens of frames ``<= i`` and on nothing of frames ``> i``; with queries
appended after the whole video every query depends on every frame.
"""
import pytest
import torch
from transformers import Qwen2Config, Qwen2ForCausalLM

from mmstvg.models.query_interleavers import AppendedQueries, InterleavedVideo
from projects.spacevllm.spacevllm import InterleavedQueries

HIDDEN = 32
NUM_FRAMES = 4
TOKENS_PER_FRAME = 3
PREFIX_LENGTHS = [1, 2, 1, 1]
# Differences below this are float noise; an attended token moves a hidden
# state by far more than CHANGED.
UNCHANGED = 1e-6
CHANGED = 1e-4


def appended_layout(visual_tokens, frame_prefix_embeds, queries):
    """The "not interleaved" ablation: ``[prefix_t][visual_t]`` for all t, then all queries.

    Written out here as an independent reference; the core ``AppendedQueries``
    is checked beside it.
    """
    pieces, frame_token_index, frame_prefix_index = [], [], []
    position = 0
    for prefix, visual in zip(frame_prefix_embeds, visual_tokens):
        frame_prefix_index.append(position)
        pieces += [prefix, visual]
        position += len(prefix)
        frame_token_index.append(list(range(position, position + len(visual))))
        position += len(visual)
    pieces.append(queries)
    query_index = list(range(position, position + len(queries)))
    return InterleavedVideo(
        embeds=torch.cat(pieces), frame_token_index=torch.tensor(frame_token_index),
        frame_prefix_index=torch.tensor(frame_prefix_index),
        query_index=torch.tensor(query_index))


def _layouts():
    """Builders ``(visual, prefixes) -> InterleavedVideo`` and the expected visibility."""
    interleaved = InterleavedQueries(embed_dim=HIDDEN, init_std=1.0)
    lower_triangle = torch.tril(torch.ones(NUM_FRAMES, NUM_FRAMES, dtype=torch.bool))
    everything = torch.ones(NUM_FRAMES, NUM_FRAMES, dtype=torch.bool)
    query_gen = torch.Generator().manual_seed(7)
    inline_queries = torch.randn(NUM_FRAMES, HIDDEN, generator=query_gen)
    layouts = [
        ('interleaved', lambda v, p: interleaved(v, p), lower_triangle),
        ('appended_inline', lambda v, p: appended_layout(v, p, inline_queries), everything),
    ]
    appended = AppendedQueries(embed_dim=HIDDEN)
    layouts.append(('appended_core', lambda v, p: appended(v, p), everything))
    return layouts


def _tiny_qwen2(attn_implementation):
    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=64, hidden_size=HIDDEN, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=256)
    config._attn_implementation = attn_implementation
    return Qwen2ForCausalLM(config).eval()


def _query_states(model, video, text_before, text_after):
    embeds = torch.cat([text_before, video.embeds, text_after]).unsqueeze(0)
    with torch.no_grad():
        out = model(inputs_embeds=embeds, output_hidden_states=True)
    return out.hidden_states[-1][0, len(text_before) + video.query_index]


def _visibility(model, build):
    """``seen[i, f]``: does perturbing frame ``f`` move query ``i``'s last hidden state?"""
    gen = torch.Generator().manual_seed(1)
    visual = torch.randn(NUM_FRAMES, TOKENS_PER_FRAME, HIDDEN, generator=gen)
    prefixes = [torch.randn(n, HIDDEN, generator=gen) for n in PREFIX_LENGTHS]
    text_before = torch.randn(2, HIDDEN, generator=gen)
    text_after = torch.randn(3, HIDDEN, generator=gen)
    base_video = build(visual, prefixes)
    assert base_video.num_queries == NUM_FRAMES
    reference = _query_states(model, base_video, text_before, text_after)

    max_diff = torch.zeros(NUM_FRAMES, NUM_FRAMES)
    for frame in range(NUM_FRAMES):
        perturbed_visual = visual.clone()
        perturbed_visual[frame] += torch.randn(TOKENS_PER_FRAME, HIDDEN, generator=gen)
        perturbed_prefixes = [p.clone() for p in prefixes]
        perturbed_prefixes[frame] = perturbed_prefixes[frame] + torch.randn(
            PREFIX_LENGTHS[frame], HIDDEN, generator=gen)
        video = build(perturbed_visual, perturbed_prefixes)
        # The layout itself does not move when token values change.
        assert torch.equal(video.query_index, base_video.query_index)
        states = _query_states(model, video, text_before, text_after)
        max_diff[:, frame] = (states - reference).abs().amax(dim=1)
    return max_diff


@pytest.mark.parametrize('attn_implementation', ['eager', 'sdpa'])
@pytest.mark.parametrize('name,build,expected', _layouts(), ids=lambda x: x
                         if isinstance(x, str) else '')
def test_query_sees_exactly_the_expected_frames(attn_implementation, name, build,
                                                expected):
    model = _tiny_qwen2(attn_implementation)
    max_diff = _visibility(model, build)
    seen = max_diff > CHANGED
    assert torch.equal(seen, expected), f'{name}: max |diff| per (query, frame)\n{max_diff}'
    # Frames a query cannot see leave its hidden state untouched (up to float noise).
    assert (max_diff[~expected] <= UNCHANGED).all(), max_diff
