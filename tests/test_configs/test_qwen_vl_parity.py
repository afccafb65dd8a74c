"""The shipped Qwen2.5-VL / Qwen3-VL configs feed the base model its own input.

End to end, against transformers alone: a tiny ``Qwen2_5_VLForConditionalGeneration``
/ ``Qwen3VLForConditionalGeneration`` with its processor (Qwen2's tokenizer
with the vision tokens, the model's chat template, the video processor with a
small pixel budget) is written by ``save_pretrained``; the model is built from
the shipped config with only paths, the frame count and the dtype changed and
the queries off; an HC-STVG video file goes through the config's own test
pipeline. transformers' processor gets the same frames (decoded again from the
file at the sampled indices, with their metadata) and the same question in the
model's chat template. Checked: the same token ids, the same multimodal RoPE
position ids, and logits within 1e-4 on every position; with an odd frame
count (7: the processor pads the last temporal patch) and frames of 90 x 50,
a multiple of neither 28 nor 32.

transformers' Qwen-VL video processors need torchvision; without it the test
is skipped (the resize itself, torch's uint8 bicubic kernel, is compared with
torchvision in ``test_qwen_vl_resize.py`` where torchvision imports).
"""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmstvg.testing.qwen_vl_tokenizers import (QWEN2_5_VL_CHAT_TEMPLATE,
                                               QWEN3_VL_CHAT_TEMPLATE,
                                               QWEN_VL_SPECIAL_TOKENS)
from tests.fixtures.hcstvg_videos import write_hcstvg_16x9
from tests.test_configs.config_overrides import eval_model_and_batch, walk

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FRAME_SIZE = (90, 50)  # (width, height): a multiple of neither 28 nor 32


def _tokenizer(tokenizer_dir: str, chat_template: str):
    """Qwen2's BPE with the vision tokens at their real ids and the chat template."""
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    tokenizer.add_special_tokens(dict(additional_special_tokens=list(QWEN_VL_SPECIAL_TOKENS)))
    tokenizer.chat_template = chat_template
    assert tokenizer.convert_tokens_to_ids('<|video_pad|>') == 151656
    return tokenizer


def _write_qwen2_5_vl(directory: str, tokenizer_dir: str) -> str:
    from transformers import (Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration,
                              Qwen2_5_VLProcessor, Qwen2VLVideoProcessor)
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import \
        Qwen2VLImageProcessorPil
    config = Qwen2_5_VLConfig(
        text_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, vocab_size=151657,
                         max_position_embeddings=4096,
                         rope_parameters=dict(rope_type='default', rope_theta=10000.0,
                                              mrope_section=[2, 1, 1])),
        vision_config=dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=4,
                           out_hidden_size=32, patch_size=14, spatial_merge_size=2,
                           temporal_patch_size=2, window_size=56, fullatt_block_indexes=[1],
                           tokens_per_second=2),
        image_token_id=151655, video_token_id=151656, vision_start_token_id=151652)
    torch.manual_seed(0)
    Qwen2_5_VLForConditionalGeneration(config).eval().save_pretrained(directory)
    processor = Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessorPil(),
        tokenizer=_tokenizer(tokenizer_dir, QWEN2_5_VL_CHAT_TEMPLATE),
        video_processor=Qwen2VLVideoProcessor(
            size=dict(shortest_edge=56 * 56, longest_edge=84 * 84),
            cap_pixels_per_frame=False),
        chat_template=QWEN2_5_VL_CHAT_TEMPLATE)
    processor.save_pretrained(directory)
    return directory


def _write_qwen3_vl(directory: str, tokenizer_dir: str) -> str:
    from transformers import (Qwen3VLConfig, Qwen3VLForConditionalGeneration,
                              Qwen3VLProcessor, Qwen3VLVideoProcessor)
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import \
        Qwen2VLImageProcessorPil
    config = Qwen3VLConfig(
        text_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                         vocab_size=151657, max_position_embeddings=4096,
                         rope_parameters=dict(rope_type='default', rope_theta=5000000.0,
                                              mrope_section=[4, 2, 2],
                                              mrope_interleaved=True)),
        vision_config=dict(depth=3, hidden_size=32, intermediate_size=64, num_heads=4,
                           out_hidden_size=32, patch_size=16, spatial_merge_size=2,
                           temporal_patch_size=2, num_position_embeddings=64,
                           deepstack_visual_indexes=[0, 1]),
        image_token_id=151655, video_token_id=151656, vision_start_token_id=151652,
        vision_end_token_id=151653)
    torch.manual_seed(0)
    Qwen3VLForConditionalGeneration(config).eval().save_pretrained(directory)
    processor = Qwen3VLProcessor(
        image_processor=Qwen2VLImageProcessorPil(patch_size=16),
        tokenizer=_tokenizer(tokenizer_dir, QWEN3_VL_CHAT_TEMPLATE),
        video_processor=Qwen3VLVideoProcessor(
            size=dict(shortest_edge=64 * 64, longest_edge=8 * 64 * 96),
            cap_pixels_per_frame=False),
        chat_template=QWEN3_VL_CHAT_TEMPLATE)
    processor.save_pretrained(directory)
    return directory


#: backbone -> (shipped config, checkpoint writer, transformers' model class name)
BACKBONES = {
    'qwen2_5_vl': ('spacevllm_qwen2_5_vl_hcstvg.py', _write_qwen2_5_vl,
                   'Qwen2_5_VLForConditionalGeneration'),
    'qwen3_vl': ('spacevllm_qwen3_vl_hcstvg.py', _write_qwen3_vl,
                 'Qwen3VLForConditionalGeneration'),
}


@pytest.fixture(scope='module')
def assets(tmp_path_factory, qwen2_tokenizer_dir):
    pytest.importorskip('torchvision.transforms.v2.functional',
                        reason="transformers' Qwen-VL video processors need torchvision")
    root = tmp_path_factory.mktemp('qwen_vl_parity')
    checkpoints = {name: writer(str(root / name), qwen2_tokenizer_dir)
                   for name, (_, writer, _) in BACKBONES.items()}
    data = str(root / 'hcstvg') + '/'
    write_hcstvg_16x9(data, num_train=1, num_test=1, size=FRAME_SIZE, fps=25.0)
    return dict(checkpoints, data=data)


def _shipped_model_and_batch(backbone: str, checkpoint: str, data_root: str,
                             num_frames: int, work_dir: str):
    """The config's model (paths, frames and dtype changed, queries off) and the
    preprocessed first test sample of its own pipeline."""
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', BACKBONES[backbone][0]))
    for part in (cfg.model.vision_encoder, cfg.model.llm):
        part.pretrained_model_name_or_path = checkpoint
        part.dtype = 'fp32'
    cfg.model.llm.gradient_checkpointing = False
    cfg.model.query_interleaver = dict(type='NoQueries')
    cfg.model.space_decoder = None

    def visit(node: dict) -> None:
        if node.get('type') == 'QwenVLSmartResize':
            node['checkpoint'] = checkpoint  # its budget: the saved video processor's
        if node.get('type') == 'UniformSampleFrames':
            node['num_frames'] = num_frames

    walk(cfg.test_dataloader, visit)
    return eval_model_and_batch(cfg, data_root, work_dir)


def _reference_inputs(checkpoint: str, sample, question: str):
    """transformers' processor on the same frames, question and metadata."""
    import decord
    from transformers import AutoProcessor
    from transformers.video_utils import VideoMetadata
    processor = AutoProcessor.from_pretrained(checkpoint)
    meta = sample.metainfo
    reader = decord.VideoReader(meta['video_path'])
    indices = [int(i) for i in meta['frame_inds']]
    frames = reader.get_batch(indices).asnumpy()
    metadata = VideoMetadata(total_num_frames=int(meta['num_frames']), fps=float(meta['fps']),
                             frames_indices=indices)
    messages = [dict(role='user', content=[dict(type='video'),
                                           dict(type='text', text=question)])]
    text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return processor(text=[text], videos=[frames], video_metadata=[metadata],
                     do_sample_frames=False, return_tensors='pt')


def _our_token_ids(embeds: torch.Tensor, embedding: torch.Tensor,
                   visual: torch.Tensor, video_pad: int) -> torch.Tensor:
    """The ids behind an embedded sequence: each text embedding's row of the
    (random, so distinct) embedding table; ``video_pad`` at visual tokens."""
    ids = torch.full((embeds.shape[0], ), video_pad, dtype=torch.long)
    for position in (~visual).nonzero().flatten().tolist():
        rows = (embedding == embeds[position]).all(-1).nonzero().flatten()
        assert rows.numel() == 1, position
        ids[position] = rows[0]
    return ids


@pytest.mark.parametrize('num_frames', [7, 8])
@pytest.mark.parametrize('backbone', ['qwen2_5_vl', 'qwen3_vl'])
def test_shipped_config_feeds_the_base_model_its_own_input(backbone, num_frames, assets,
                                                          tmp_path):
    import transformers
    checkpoint = assets[backbone]
    model, data = _shipped_model_and_batch(backbone, checkpoint, assets['data'], num_frames,
                                           str(tmp_path / 'work'))
    sample = data['data_samples'][0]
    assert sample.num_sampled_frames == num_frames
    assert tuple(sample.metainfo['ori_shape']) == (FRAME_SIZE[1], FRAME_SIZE[0])
    with torch.no_grad():
        run = model.run_llm(data['inputs'], data['data_samples'], with_answer=False,
                            side='right')
        logits = model.llm.logits(run.hidden)[0]
    layout = run.layouts[0]
    question = model.prompt_builder.prompts['questions']['stvg'].format(
        sentence=sample.metainfo['sentence'])

    reference_model = getattr(transformers, BACKBONES[backbone][2]).from_pretrained(
        checkpoint).eval()
    inputs = _reference_inputs(checkpoint, sample, question)
    with torch.no_grad():
        reference_logits = reference_model(**inputs).logits[0]
        rope_args = dict(video_grid_thw=inputs['video_grid_thw'],
                         attention_mask=inputs['attention_mask'])
        if backbone == 'qwen2_5_vl':
            rope_args['second_per_grid_ts'] = inputs['second_per_grid_ts']
        reference_positions, _ = reference_model.model.get_rope_index(
            inputs['input_ids'], inputs['mm_token_type_ids'], **rope_args)
    reference_ids = inputs['input_ids'][0]

    # the same frames, resized the same way, paired into the same patches
    patches = -(-num_frames // 2)
    grid_t, grid_h, grid_w = inputs['video_grid_thw'][0].tolist()
    vit_patch = model.vision_encoder.vit_patch_size
    assert grid_t == patches
    assert tuple(data['inputs'].shape[-2:]) == (grid_h * vit_patch, grid_w * vit_patch)
    assert layout.frame_token_pos.shape == (patches, grid_h * grid_w // 4)
    assert layout.num_frames == num_frames
    # the same token ids
    with torch.no_grad():
        embeds, _, _ = model.build_sequences(data['inputs'], data['data_samples'],
                                             with_answer=False)
    visual = torch.zeros(layout.length, dtype=torch.bool)
    visual[layout.frame_token_pos.flatten()] = True
    table = model.llm.hf_model.get_input_embeddings().weight
    our_ids = _our_token_ids(embeds[0], table, visual, video_pad=151656)
    assert our_ids.tolist() == reference_ids.tolist()
    # the same multimodal RoPE positions
    assert torch.equal(run.positions[:, 0], reference_positions[:, 0])
    # the same logits
    diff = (logits - reference_logits).abs().max().item()
    print(f'{backbone}, {num_frames} frames: max |logit difference| {diff:.3e}')
    assert diff < 1e-4
