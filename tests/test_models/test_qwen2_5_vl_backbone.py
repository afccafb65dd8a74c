"""Qwen2.5-VL parts against transformers' own Qwen2_5_VLForConditionalGeneration."""
import pytest
import torch

from mmstvg.models.grounders.decoding import greedy_generate
from mmstvg.models.grounders.multimodal_sequence import SequenceLayout, pad_sequences
from mmstvg.models.llm_backbones import QwenVLCausalLM
from mmstvg.models.vision_encoders import QwenVLVisionEncoder
from mmstvg.testing.qwen_vl_checkpoints import QWEN_VL_TOKEN_IDS, write_tiny_qwen2_5_vl

ROWS, COLS = 4, 2  # merged token grid of a 112 x 56 frame
TIMES = [0.0, 0.5, 1.0]  # 2 fps; tokens_per_second=2 -> temporal offsets 0, 1, 2


@pytest.fixture(scope='module')
def qwen_vl(tmp_path_factory, qwen2_tokenizer_dir):
    from transformers import Qwen2_5_VLForConditionalGeneration
    directory = write_tiny_qwen2_5_vl(str(tmp_path_factory.mktemp('qwen2_5_vl')))
    reference = Qwen2_5_VLForConditionalGeneration.from_pretrained(directory).eval()
    tower = QwenVLVisionEncoder(pretrained_model_name_or_path=directory,
                                temporal_patching='frame').eval()
    llm = QwenVLCausalLM(pretrained_model_name_or_path=directory,
                         tokenizer=qwen2_tokenizer_dir).eval()
    return reference, tower, llm


def _processor_rows(frames):
    """Qwen's own image processor's patch rows for each frame (a still image)."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import \
        Qwen2VLImageProcessorPil
    processor = Qwen2VLImageProcessorPil()
    rows = [torch.from_numpy(processor.patchify(frame.numpy(), 14, 2, 2)[0]).reshape(
        -1, 3 * 2 * 14 * 14) for frame in frames]
    return torch.cat(rows)


def _batch(tower, llm, videos, heads, tails):
    """mmstvg's path: tower tokens + text embeddings, layouts, left padding."""
    embeds, layouts = [], []
    for video, head, tail in zip(videos, heads, tails):
        tokens = tower(video)  # (T, P, D)
        ids = lambda x: llm.embed_tokens(torch.tensor(x))
        seq = torch.cat([ids(head), tokens.flatten(0, 1), ids(tail)])
        start = len(head)
        pos = start + torch.arange(tokens.shape[0] * tokens.shape[1]).view(tokens.shape[:2])
        layouts.append(SequenceLayout(pos[:, 0] * 0, pos, pos[:, 0], torch.zeros(0).long(),
                                      start, seq.shape[0], seq.shape[0]))
        embeds.append(seq)
    batch, mask, _, offsets = pad_sequences(embeds, side='left')
    positions = llm.layout_position_ids(layouts, offsets, batch.shape[1], (ROWS, COLS),
                                        [TIMES] * len(videos))
    return batch, mask, positions


def test_qwen2_5_vl_parts_reproduce_transformers(qwen_vl):
    reference, tower, llm = qwen_vl
    torch.manual_seed(1)
    videos = [torch.randn(3, 3, 112, 56), torch.randn(3, 3, 112, 56)]
    vs, ve, pad = (QWEN_VL_TOKEN_IDS[k] for k in ('vision_start', 'vision_end', 'video_pad'))
    heads = [[151644, 872, 198, 9, 10, vs], [151644, 872, vs]]  # sample 2 is left-padded
    tails = [[ve, 11, 12, 151645, 198], [ve, 13, 151645, 198]]
    num = 3 * ROWS * COLS

    # transformers: video of 6 frames = each frame twice (one temporal patch each)
    rows = torch.cat([_processor_rows(v) for v in videos])
    ids = [h + [pad] * num + t for h, t in zip(heads, tails)]
    length = max(map(len, ids))
    input_ids = torch.tensor([[0] * (length - len(x)) + x for x in ids])
    mask = torch.tensor([[0] * (length - len(x)) + [1] * len(x) for x in ids])
    kwargs = dict(input_ids=input_ids, attention_mask=mask, pixel_values_videos=rows,
                  video_grid_thw=torch.tensor([[3, 8, 4]] * 2),
                  second_per_grid_ts=torch.tensor([0.5, 0.5]),
                  mm_token_type_ids=(input_ids == pad).int() * 2)
    with torch.no_grad():
        ref_logits = reference(**kwargs).logits
        ref_positions, _ = reference.model.get_rope_index(
            input_ids, kwargs['mm_token_type_ids'], video_grid_thw=kwargs['video_grid_thw'],
            second_per_grid_ts=kwargs['second_per_grid_ts'], attention_mask=mask)
        # the vision part alone: its frames against transformers' video features
        ref_video = reference.model.get_video_features(rows, kwargs['video_grid_thw'])
        assert torch.allclose(tower(videos[0]).flatten(0, 1), ref_video.pooler_output[0],
                              atol=1e-5)

        batch, our_mask, positions = _batch(tower, llm, videos, heads, tails)
        assert torch.equal(our_mask, mask)
        real = mask.bool()
        assert torch.equal(positions[:, real], ref_positions[:, real])
        # temporal index of frame t's tokens: base + 2 t (absolute time); height / width
        first = positions[:, 0, 6:6 + num].view(3, 3, ROWS * COLS)
        assert first[0, :, 0].tolist() == [6, 7, 8]
        assert first[1, 0].tolist() == [6, 6, 7, 7, 8, 8, 9, 9]
        hidden, _ = llm(batch, attention_mask=mask, position_ids=positions)
        logits = llm.logits(hidden)
    diff = (logits[real] - ref_logits[real]).abs().max().item()
    print(f'max |logit difference| vs transformers: {diff:.3e}')
    assert diff < 1e-4


def test_qwen2_5_vl_cached_generation_matches_transformers_and_uncached(qwen_vl):
    reference, tower, llm = qwen_vl
    torch.manual_seed(2)
    videos = [torch.randn(3, 3, 112, 56), torch.randn(3, 3, 112, 56)]
    vs, ve, pad = (QWEN_VL_TOKEN_IDS[k] for k in ('vision_start', 'vision_end', 'video_pad'))
    heads = [[151644, 872, 198, 9, 10, vs], [151644, 872, vs]]
    tails = [[ve, 11, 12, 151645, 198], [ve, 13, 151645, 198]]
    num = 3 * ROWS * COLS
    steps = 6
    with torch.no_grad():
        batch, mask, positions = _batch(tower, llm, videos, heads, tails)
        hidden, cache = llm(batch, attention_mask=mask, position_ids=positions, use_cache=True)
        cached = greedy_generate(llm, hidden, cache, mask, [True, True], steps,
                                 position_ids=positions)
        assert all(len(c) == steps for c in cached)  # no EOS in the random model
        # uncached: the whole sequence again for each new token
        uncached = []
        for b in range(2):
            out = []
            for _ in range(steps):
                seq, m, pos = _batch(tower, llm, videos[b:b + 1], heads[b:b + 1],
                                     [tails[b] + out])
                h, _ = llm(seq, attention_mask=m, position_ids=pos)
                out.append(int(llm.logits(h[:, -1]).argmax(-1)))
            uncached.append(out)
        assert cached == uncached
        # transformers' own generate on the same video and prompt
        rows = torch.cat([_processor_rows(v) for v in videos])
        ids = [h + [pad] * num + t for h, t in zip(heads, tails)]
        length = max(map(len, ids))
        input_ids = torch.tensor([[0] * (length - len(x)) + x for x in ids])
        ref = reference.generate(
            input_ids=input_ids, attention_mask=mask, pixel_values_videos=rows,
            video_grid_thw=torch.tensor([[3, 8, 4]] * 2),
            second_per_grid_ts=torch.tensor([0.5, 0.5]),
            mm_token_type_ids=(input_ids == pad).int() * 2, do_sample=False,
            max_new_tokens=steps, min_new_tokens=steps, pad_token_id=0)
    assert ref[:, length:].tolist() == cached


def test_qwen2_5_vl_interleaved_query_sees_its_frame_and_earlier(qwen_vl):
    from projects.spacevllm.spacevllm import InterleavedQueries
    _, tower, llm = qwen_vl
    torch.manual_seed(3)
    interleaver = InterleavedQueries(embed_dim=llm.hidden_size)
    video = torch.randn(3, 3, 112, 56)

    def query_states(tokens):
        seg = interleaver(tokens)
        head = llm.embed_tokens(torch.tensor([151644, 872, QWEN_VL_TOKEN_IDS['vision_start']]))
        seq = torch.cat([head, seg.embeds])[None]
        layout = SequenceLayout(seg.query_index + 3, seg.frame_token_index + 3,
                                seg.frame_prefix_index + 3, torch.zeros(0).long(), 3,
                                seq.shape[1], seq.shape[1])
        pos = llm.layout_position_ids([layout], [0], seq.shape[1], (ROWS, COLS), [TIMES])
        hidden, _ = llm(seq, attention_mask=torch.ones(1, seq.shape[1]).long(),
                        position_ids=pos)
        return hidden[0, layout.query_pos], pos

    with torch.no_grad():
        tokens = tower(video)
        base, pos = query_states(tokens)
        # queries follow the text rule: right after their frame, one step each
        assert pos[:, 0, 3 + 8].tolist() == [7, 7, 7]  # base 3 + max(rows, cols)
        for frame in range(3):
            changed = tokens.clone()
            changed[frame] += 1.0
            states, _ = query_states(changed)
            moved = (states - base).abs().amax(-1)
            assert torch.all(moved[:frame] == 0), frame
            assert torch.all(moved[frame:] > 1e-4), frame
