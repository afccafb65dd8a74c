"""Qwen3-VL parts against transformers' own Qwen3VLForConditionalGeneration.

The sequence is the processor's: per frame ``<t seconds>`` text, then
``<|vision_start|>``, the frame's visual tokens, ``<|vision_end|>``; each
frame its own temporal patch (transformers sees every frame twice).
DeepStack features travel from the vision part to the LLM part by
``deepstack_inputs``, as in the grounder.
"""
import pytest
import torch

from mmstvg.models.grounders.decoding import greedy_generate
from mmstvg.models.grounders.multimodal_sequence import (SequenceLayout, deepstack_inputs,
                                                         pad_sequences)
from mmstvg.models.llm_backbones import Qwen3VLCausalLM
from mmstvg.models.vision_encoders import QwenVLVisionEncoder
from mmstvg.testing.qwen_vl_checkpoints import QWEN_VL_TOKEN_IDS, write_tiny_qwen3_vl

ROWS, COLS = 4, 2  # merged token grid of a 128 x 64 frame (16-pixel patches, 2x2 merger)
TIMES = [0.0, 0.5, 1.0]
VS, VE, PAD = (QWEN_VL_TOKEN_IDS[k] for k in ('vision_start', 'vision_end', 'video_pad'))
HEADS = [[151644, 872, 198, 9, 10], [151644, 872]]  # sample 2 is left-padded
TAILS = [[11, 12, 151645, 198], [13, 151645, 198]]


@pytest.fixture(scope='module')
def qwen3_vl(tmp_path_factory, qwen2_tokenizer_dir):
    from transformers import Qwen3VLForConditionalGeneration
    directory = write_tiny_qwen3_vl(str(tmp_path_factory.mktemp('qwen3_vl')))
    reference = Qwen3VLForConditionalGeneration.from_pretrained(directory).eval()
    tower = QwenVLVisionEncoder(pretrained_model_name_or_path=directory,
                                temporal_patching='frame').eval()
    llm = Qwen3VLCausalLM(pretrained_model_name_or_path=directory,
                          tokenizer=qwen2_tokenizer_dir).eval()
    return reference, tower, llm


def _stamps(llm):
    """Each frame's ``<t seconds>`` + ``<|vision_start|>`` ids, as the processor writes."""
    return [llm.tokenizer(f'<{t:.1f} seconds>', add_special_tokens=False).input_ids + [VS]
            for t in TIMES]


def _processor_rows(frames):
    """Qwen3-VL's video processor's patch rows, every frame twice (one temporal patch)."""
    from transformers.models.qwen3_vl.video_processing_qwen3_vl import \
        Qwen3VLVideoProcessor
    video = frames.repeat_interleave(2, dim=0)[None]
    rows, *_ = Qwen3VLVideoProcessor().patchify(video, 16, 2, 2)
    return rows[0]


def _reference_inputs(llm, videos, heads, tails):
    """transformers' inputs: ids with the placeholders, pixels, grids, left padding."""
    stamps = _stamps(llm)
    ids = [h + [i for s in stamps for i in s + [PAD] * (ROWS * COLS) + [VE]] + t
           for h, t in zip(heads, tails)]
    length = max(map(len, ids))
    input_ids = torch.tensor([[0] * (length - len(x)) + x for x in ids])
    mask = torch.tensor([[0] * (length - len(x)) + [1] * len(x) for x in ids])
    return dict(input_ids=input_ids, attention_mask=mask,
                pixel_values_videos=torch.cat([_processor_rows(v) for v in videos]),
                video_grid_thw=torch.tensor([[len(TIMES), 2 * ROWS, 2 * COLS]] * len(videos)),
                mm_token_type_ids=(input_ids == PAD).int() * 2)


def _batch(tower, llm, videos, heads, tails, interleave=None):
    """mmstvg's path: tower tokens + DeepStack, text embeddings, layouts, left padding.

    ``interleave``: a query interleaver placing its tokens after each frame
    (before ``<|vision_end|>``); None: no queries.
    """
    stamps = _stamps(llm)
    embed = lambda x: llm.embed_tokens(torch.tensor(x, dtype=torch.long))
    embeds, layouts, features = [], [], []
    for video, head, tail in zip(videos, heads, tails):
        tokens, deepstack = tower(video, return_deepstack=True)  # (T, P, D), (K, T, P, D)
        parts, frame_pos, query_pos, cursor = [embed(head)], [], [], len(head)
        for t, stamp in enumerate(stamps):
            parts.append(embed(stamp))
            cursor += len(stamp)
            frame_pos.append(torch.arange(cursor, cursor + ROWS * COLS))
            parts.append(tokens[t])
            cursor += ROWS * COLS
            if interleave is not None:
                parts.append(interleave.query_embeddings(len(stamps))[t:t + 1])
                query_pos.append(cursor)
                cursor += 1
            parts.append(embed([VE]))
            cursor += 1
        parts.append(embed(tail))
        seq = torch.cat(parts)
        frame_pos = torch.stack(frame_pos)
        layouts.append(SequenceLayout(torch.tensor(query_pos, dtype=torch.long), frame_pos,
                                      frame_pos[:, 0], torch.zeros(0).long(), len(head),
                                      seq.shape[0], seq.shape[0]))
        embeds.append(seq)
        features.append(deepstack)
    batch, mask, _, offsets = pad_sequences(embeds, side='left')
    positions = llm.layout_position_ids(layouts, offsets, batch.shape[1], (ROWS, COLS),
                                        [TIMES] * len(videos))
    extra = deepstack_inputs(llm, features, layouts, offsets, batch.shape[1])
    return batch, mask, positions, extra, layouts


def test_qwen3_vl_parts_reproduce_transformers(qwen3_vl):
    reference, tower, llm = qwen3_vl
    torch.manual_seed(1)
    videos = [torch.randn(3, 3, 128, 64), torch.randn(3, 3, 128, 64)]
    kwargs = _reference_inputs(llm, videos, HEADS, TAILS)
    mask = kwargs['attention_mask']
    real = mask.bool()
    with torch.no_grad():
        ref_logits = reference(**kwargs).logits
        ref_positions, _ = reference.model.get_rope_index(
            kwargs['input_ids'], kwargs['mm_token_type_ids'],
            video_grid_thw=kwargs['video_grid_thw'], attention_mask=mask)
        # the vision part alone: tokens and DeepStack levels of the first video
        ref_video = reference.model.get_video_features(kwargs['pixel_values_videos'],
                                                       kwargs['video_grid_thw'])
        tokens, deepstack = tower(videos[0], return_deepstack=True)
        assert deepstack.shape == (2, 3, ROWS * COLS, llm.hidden_size)
        assert torch.allclose(tokens.flatten(0, 1), ref_video.pooler_output[0], atol=1e-5)
        for level in range(2):
            assert torch.allclose(deepstack[level].flatten(0, 1),
                                  ref_video.deepstack_features[level][0], atol=1e-5)

        batch, our_mask, positions, extra, _ = _batch(tower, llm, videos, HEADS, TAILS)
        assert torch.equal(our_mask, mask)
        assert torch.equal(extra['visual_pos_masks'], kwargs['input_ids'] == PAD)
        assert torch.equal(positions[:, real], ref_positions[:, real])
        # one block per frame: frame t's tokens share one temporal index p_t,
        # rows / columns count from p_t; the next frame's stamp starts at p_t + 4
        stamp = len(_stamps(llm)[0])
        first = positions[:, 0][:, real[0]]
        starts = [5 + stamp + t * (stamp + ROWS * COLS + 1) for t in range(3)]
        p = [int(first[0, s]) for s in starts]
        assert p == [5 + stamp, 5 + 2 * stamp + 5, 5 + 3 * stamp + 10]
        assert first[0, starts[1]:starts[1] + ROWS * COLS].tolist() == [p[1]] * 8
        assert (first[1, starts[1]:starts[1] + 8] - p[1]).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
        assert (first[2, starts[1]:starts[1] + 8] - p[1]).tolist() == [0, 1] * 4

        hidden, _ = llm(batch, attention_mask=mask, position_ids=positions, **extra)
        logits = llm.logits(hidden)
        # DeepStack is not a no-op: without it the logits move
        plain, _ = llm(batch, attention_mask=mask, position_ids=positions)
    diff = (logits[real] - ref_logits[real]).abs().max().item()
    print(f'max |logit difference| vs transformers: {diff:.3e}')
    assert diff < 1e-4
    assert (llm.logits(plain)[real] - ref_logits[real]).abs().max().item() > 1e-3


def test_qwen3_vl_cached_generation_matches_transformers_and_uncached(qwen3_vl):
    reference, tower, llm = qwen3_vl
    torch.manual_seed(2)
    videos = [torch.randn(3, 3, 128, 64), torch.randn(3, 3, 128, 64)]
    steps = 6
    with torch.no_grad():
        batch, mask, positions, extra, _ = _batch(tower, llm, videos, HEADS, TAILS)
        hidden, cache = llm(batch, attention_mask=mask, position_ids=positions,
                            use_cache=True, **extra)
        cached = greedy_generate(llm, hidden, cache, mask, [True, True], steps,
                                 position_ids=positions)
        assert all(len(c) == steps for c in cached)  # no EOS in the random model
        uncached = []  # the whole sequence again for each new token
        for b in range(2):
            out = []
            for _ in range(steps):
                seq, m, pos, ex, _ = _batch(tower, llm, videos[b:b + 1], HEADS[b:b + 1],
                                            [TAILS[b] + out])
                h, _ = llm(seq, attention_mask=m, position_ids=pos, **ex)
                out.append(int(llm.logits(h[:, -1]).argmax(-1)))
            uncached.append(out)
        assert cached == uncached
        kwargs = _reference_inputs(llm, videos, HEADS, TAILS)
        ref = reference.generate(**kwargs, do_sample=False, max_new_tokens=steps,
                                 min_new_tokens=steps, pad_token_id=0)
    assert ref[:, kwargs['input_ids'].shape[1]:].tolist() == cached


def test_qwen3_vl_interleaved_query_sees_its_frame_and_earlier(qwen3_vl):
    from projects.spacevllm.spacevllm import InterleavedQueries
    _, tower, llm = qwen3_vl
    torch.manual_seed(3)
    interleaver = InterleavedQueries(embed_dim=llm.hidden_size)
    video = torch.randn(3, 3, 128, 64)

    def query_states(frames):
        batch, mask, positions, extra, layouts = _batch(tower, llm, [frames], HEADS[:1],
                                                        TAILS[:1], interleave=interleaver)
        hidden, _ = llm(batch, attention_mask=mask, position_ids=positions, **extra)
        return hidden[0, layouts[0].query_pos], positions, layouts[0]

    with torch.no_grad():
        base, positions, layout = query_states(video)
        # a query follows the text rule: right after its frame's block
        block_start = int(positions[0, 0, layout.frame_token_pos[0, 0]])
        assert positions[:, 0, layout.query_pos[0]].tolist() == [block_start + 4] * 3
        for frame in range(3):
            changed = video.clone()
            changed[frame] += 1.0  # pixels: its tokens and DeepStack features change
            states, _, _ = query_states(changed)
            moved = (states - base).abs().amax(-1)
            assert torch.all(moved[:frame] == 0), frame
            assert torch.all(moved[frame:] > 1e-4), frame


def test_deepstack_is_refused_where_it_would_be_dropped():
    from torch import nn

    from mmstvg.models.grounders.video_encoding import encode_video_features
    from mmstvg.structures import GroundingDataSample

    layout = SequenceLayout(torch.zeros(0).long(), torch.arange(2, 6).view(2, 2),
                            torch.tensor([2, 4]), torch.zeros(0).long(), 2, 7, 7)
    features = [torch.randn(3, 2, 2, 4)]
    with pytest.raises(ValueError, match='takes none'):
        deepstack_inputs(nn.Identity(), features, [layout], [0], 7)

    class _DeepStackLLM:
        takes_deepstack, num_deepstack_layers = True, 3

    out = deepstack_inputs(_DeepStackLLM(), features, [layout], [1], 8)
    assert out['visual_pos_masks'].tolist() == [[False] * 3 + [True] * 4 + [False]]
    assert torch.equal(out['deepstack_visual_embeds'][2], features[0][2].flatten(0, 1))
    _DeepStackLLM.num_deepstack_layers = 2
    with pytest.raises(ValueError, match='3 DeepStack levels'):
        deepstack_inputs(_DeepStackLLM(), features, [layout], [0], 7)

    class _Tower(nn.Module):
        num_deepstack_layers, patch_size = 1, 2

        def forward(self, frames, return_deepstack=False):
            tokens = frames.new_zeros(frames.shape[0], 4, 8)
            return (tokens, tokens[None]) if return_deepstack else tokens

    inputs, samples = torch.zeros(1, 2, 3, 4, 4), [GroundingDataSample(metainfo={})]
    video = encode_video_features(_Tower(), nn.Identity(), None, inputs, samples,
                                  torch.float32)
    assert video.deepstack[0].shape == (1, 2, 4, 8)
    with pytest.raises(ValueError, match='cannot be pooled'):
        encode_video_features(_Tower(), nn.Identity(), nn.Identity(), inputs, samples,
                              torch.float32)
