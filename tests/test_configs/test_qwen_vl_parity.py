"""The shipped Qwen2.5-VL / Qwen3-VL configs feed the base model its own input.

End to end, against transformers alone: a tiny ``Qwen2_5_VLForConditionalGeneration``
/ ``Qwen3VLForConditionalGeneration`` with its processor (Qwen2's tokenizer
with the vision tokens, the model's chat template, a video processor with a
small pixel budget) is written by ``save_pretrained``; the model is built from
the shipped config with only paths, the frame count and the dtype changed and
the queries off; an HC-STVG video file goes through the config's own test
pipeline. transformers' processor gets the same frames (decoded again from the
file at the sampled indices, with their metadata) and the same question in the
model's chat template. Checked: the same token ids, the same multimodal RoPE
position ids (the model's ``get_rope_index``), and logits within 1e-4 on every
position; with an odd frame count (7: the last temporal patch is padded) and
frames of 90 x 50, a multiple of neither 28 nor 32.

Two tests make that comparison:

- ``test_shipped_config_feeds_the_base_model_its_own_input`` runs without
  torchvision. transformers' video processor gets the frames already resized,
  rescaled and normalized (``do_resize``, ``do_rescale``, ``do_normalize``
  off): the size is transformers' ``smart_resize`` on the saved budget, the
  kernel torch's uint8 bicubic (the one torchvision's resize runs on CPU,
  ``test_qwen_vl_resize.py``), the rescale and normalization transformers'
  PIL image processor's. The rest is transformers' own: the video
  processor's temporal patches (the odd count padded) and patches, the
  processor's ``<|video_pad|>`` expansion, Qwen3-VL's timestamps, Qwen2.5-VL's
  ``second_per_grid_ts``. ``Qwen2VLVideoProcessor``'s module imports
  torchvision, so Qwen2.5-VL's processor holds a ``Qwen3VLVideoProcessor``
  with Qwen2.5-VL's patch size, mean and std: with the resize off the two run
  the same code, which ``test_qwen2_5_vl_stand_in_runs_the_same_code`` checks
  on their source.
- ``test_shipped_config_matches_transformers_video_processor`` hands
  transformers' own processor the raw frames (``AutoProcessor``, the real
  ``Qwen2VLVideoProcessor``, transformers' resize through torchvision); it is
  skipped where torchvision does not import.
"""
import ast
import os.path as osp
from typing import Callable, NamedTuple

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from mmstvg.testing.qwen_vl_tokenizers import (QWEN2_5_VL_CHAT_TEMPLATE,
                                               QWEN3_VL_CHAT_TEMPLATE,
                                               QWEN_VL_SPECIAL_TOKENS)
from tests.fixtures.hcstvg_videos import write_hcstvg_16x9
from tests.test_configs.config_overrides import base_model_only, eval_model_and_batch, walk
from tests.test_configs.transformers_reference import build_processor, our_token_ids

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FRAME_SIZE = (90, 50)  # (width, height): a multiple of neither 28 nor 32
QWEN2_5_VL_BUDGET = dict(shortest_edge=56 * 56, longest_edge=84 * 84)  # one frame's
QWEN3_VL_BUDGET = dict(shortest_edge=64 * 64, longest_edge=8 * 64 * 96)  # the video's


def _tokenizer(tokenizer_dir: str, chat_template: str):
    """Qwen2's BPE with the vision tokens at their real ids and the chat template."""
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    tokenizer.add_special_tokens(dict(additional_special_tokens=list(QWEN_VL_SPECIAL_TOKENS)))
    tokenizer.chat_template = chat_template
    assert tokenizer.convert_tokens_to_ids('<|video_pad|>') == 151656
    return tokenizer


def _qwen2_5_vl_video_processor(torchvision: bool):
    """Qwen2.5-VL's video processor; without torchvision the stand-in (see the
    module docstring): a ``Qwen3VLVideoProcessor`` with its settings."""
    if torchvision:
        from transformers import Qwen2VLVideoProcessor
        return Qwen2VLVideoProcessor(size=QWEN2_5_VL_BUDGET, cap_pixels_per_frame=False)
    from transformers.image_utils import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD
    from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor
    return Qwen3VLVideoProcessor(size=QWEN2_5_VL_BUDGET, cap_pixels_per_frame=False,
                                 patch_size=14, temporal_patch_size=2, merge_size=2,
                                 image_mean=OPENAI_CLIP_MEAN, image_std=OPENAI_CLIP_STD,
                                 do_sample_frames=False)


def _write_qwen2_5_vl(directory: str, tokenizer_dir: str, torchvision: bool) -> str:
    from transformers import (Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration,
                              Qwen2_5_VLProcessor)
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
    processor = build_processor(
        Qwen2_5_VLProcessor, image_processor=Qwen2VLImageProcessorPil(),
        tokenizer=_tokenizer(tokenizer_dir, QWEN2_5_VL_CHAT_TEMPLATE),
        video_processor=_qwen2_5_vl_video_processor(torchvision),
        chat_template=QWEN2_5_VL_CHAT_TEMPLATE)
    processor.save_pretrained(directory)
    return directory


def _write_qwen3_vl(directory: str, tokenizer_dir: str, torchvision: bool) -> str:
    from transformers import (Qwen3VLConfig, Qwen3VLForConditionalGeneration,
                              Qwen3VLProcessor)
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import \
        Qwen2VLImageProcessorPil
    from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor
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
    processor = build_processor(
        Qwen3VLProcessor, image_processor=Qwen2VLImageProcessorPil(patch_size=16),
        tokenizer=_tokenizer(tokenizer_dir, QWEN3_VL_CHAT_TEMPLATE),
        video_processor=Qwen3VLVideoProcessor(size=QWEN3_VL_BUDGET,
                                              cap_pixels_per_frame=False),
        chat_template=QWEN3_VL_CHAT_TEMPLATE)
    processor.save_pretrained(directory)
    return directory


class Backbone(NamedTuple):
    config: str  # the shipped config
    writer: Callable  # the tiny checkpoint's writer
    model: str  # transformers' model class
    processor: str  # transformers' processor class


BACKBONES = {
    'qwen2_5_vl': Backbone('spacevllm_qwen2_5_vl_hcstvg.py', _write_qwen2_5_vl,
                           'Qwen2_5_VLForConditionalGeneration', 'Qwen2_5_VLProcessor'),
    'qwen3_vl': Backbone('spacevllm_qwen3_vl_hcstvg.py', _write_qwen3_vl,
                         'Qwen3VLForConditionalGeneration', 'Qwen3VLProcessor'),
}


def _assets(root, tokenizer_dir: str, torchvision: bool) -> dict:
    checkpoints = {name: backbone.writer(str(root / name), tokenizer_dir, torchvision)
                   for name, backbone in BACKBONES.items()}
    data = str(root / 'hcstvg') + '/'
    write_hcstvg_16x9(data, num_train=1, num_test=1, size=FRAME_SIZE, fps=25.0)
    return dict(checkpoints, data=data)


@pytest.fixture(scope='module')
def assets(tmp_path_factory, qwen2_tokenizer_dir):
    """Checkpoints whose processors build without torchvision, and the videos."""
    return _assets(tmp_path_factory.mktemp('qwen_vl_parity'), qwen2_tokenizer_dir,
                   torchvision=False)


@pytest.fixture(scope='module')
def torchvision_assets(tmp_path_factory, qwen2_tokenizer_dir):
    """Checkpoints with transformers' own video processors, and the videos."""
    pytest.importorskip('torchvision.transforms.v2.functional',
                        reason="transformers' Qwen-VL video processors resize with torchvision")
    return _assets(tmp_path_factory.mktemp('qwen_vl_parity_torchvision'), qwen2_tokenizer_dir,
                   torchvision=True)


def _shipped_model_and_batch(backbone: str, checkpoint: str, data_root: str,
                             num_frames: int, work_dir: str):
    """The config's model (paths, frames and dtype changed, queries off) and the
    preprocessed first test sample of its own pipeline."""
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', BACKBONES[backbone].config))
    for part in (cfg.model.vision_encoder, cfg.model.llm):
        part.pretrained_model_name_or_path = checkpoint
        part.dtype = 'fp32'
    cfg.model.llm.gradient_checkpointing = False
    base_model_only(cfg.model)

    def visit(node: dict) -> None:
        if node.get('type') == 'QwenVLSmartResize':
            node['checkpoint'] = checkpoint  # its budget: the saved video processor's
        if node.get('type') == 'UniformSampleFrames':
            node['num_frames'] = num_frames

    walk(cfg.test_dataloader, visit)
    return eval_model_and_batch(cfg, data_root, work_dir)


def _frames_and_metadata(sample):
    """The sampled frames, decoded again from the file, and their metadata."""
    import decord
    from transformers.video_utils import VideoMetadata
    meta = sample.metainfo
    reader = decord.VideoReader(meta['video_path'])
    indices = [int(i) for i in meta['frame_inds']]
    metadata = VideoMetadata(total_num_frames=int(meta['num_frames']), fps=float(meta['fps']),
                             frames_indices=indices)
    return reader.get_batch(indices).asnumpy(), metadata


def _chat(processor, question: str) -> str:
    messages = [dict(role='user', content=[dict(type='video'),
                                           dict(type='text', text=question)])]
    return processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def _reference_inputs(checkpoint: str, sample, question: str):
    """transformers' processor (resize included) on the same frames, question
    and metadata."""
    from transformers import AutoProcessor
    processor = AutoProcessor.from_pretrained(checkpoint)
    frames, metadata = _frames_and_metadata(sample)
    return processor(text=[_chat(processor, question)], videos=[frames],
                     video_metadata=[metadata], do_sample_frames=False, return_tensors='pt')


def _reference_inputs_without_torchvision(backbone: str, checkpoint: str, sample,
                                          question: str):
    """transformers' processor on the same frames, question and metadata, the
    frames resized, rescaled and normalized before it (see the module docstring)."""
    import transformers
    from transformers import AutoTokenizer
    from transformers.models.qwen2_vl import image_processing_pil_qwen2_vl
    from transformers.models.qwen3_vl import video_processing_qwen3_vl
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    image_processor = image_processing_pil_qwen2_vl.Qwen2VLImageProcessorPil.from_pretrained(
        checkpoint)
    video_processor = video_processing_qwen3_vl.Qwen3VLVideoProcessor.from_pretrained(checkpoint)
    processor = build_processor(getattr(transformers, BACKBONES[backbone].processor),
                           image_processor=image_processor, tokenizer=tokenizer,
                           video_processor=video_processor, chat_template=tokenizer.chat_template)
    frames, metadata = _frames_and_metadata(sample)

    # the size Qwen2VLVideoProcessor.resize / Qwen3VLVideoProcessor.resize
    # compute (cap_pixels_per_frame off: the budget is size's)
    assert video_processor.cap_pixels_per_frame is False
    budget = dict(factor=video_processor.patch_size * video_processor.merge_size,
                  min_pixels=video_processor.size['shortest_edge'],
                  max_pixels=video_processor.size['longest_edge'])
    num_frames, height, width = frames.shape[:3]
    if backbone == 'qwen2_5_vl':
        size = image_processing_pil_qwen2_vl.smart_resize(height, width, **budget)
    else:
        size = video_processing_qwen3_vl.smart_resize(
            num_frames, height, width, temporal_factor=video_processor.temporal_patch_size,
            **budget)
    # torchvision's bicubic resize of uint8 frames on CPU is this call
    video = F.interpolate(torch.from_numpy(frames).permute(0, 3, 1, 2).contiguous(), size=size,
                          mode='bicubic', align_corners=False, antialias=True)
    pixels = np.stack([
        image_processor.normalize(
            image_processor.rescale(frame, video_processor.rescale_factor),
            video_processor.image_mean, video_processor.image_std)
        for frame in video.numpy()]).astype(np.float32)
    return processor(text=[_chat(processor, question)], videos=[torch.from_numpy(pixels)],
                     video_metadata=[metadata], do_sample_frames=False, do_resize=False,
                     do_rescale=False, do_normalize=False, do_convert_rgb=False,
                     return_tensors='pt')


def _check_parity(backbone: str, num_frames: int, checkpoint: str, data_root: str,
                  work_dir: str, reference) -> float:
    """Run the shipped config's model and transformers' on ``reference(sample,
    question)``'s inputs; assert the same input and logits; return the largest
    logit difference."""
    import transformers
    model, data = _shipped_model_and_batch(backbone, checkpoint, data_root, num_frames,
                                           work_dir)
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

    reference_model = getattr(transformers, BACKBONES[backbone].model).from_pretrained(
        checkpoint).eval()
    inputs = reference(sample, question)
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
    our_ids = our_token_ids(embeds[0], table, visual, video_pad=151656)
    assert our_ids.tolist() == reference_ids.tolist()
    # the same multimodal RoPE positions
    assert torch.equal(run.positions[:, 0], reference_positions[:, 0])
    # the same logits
    diff = (logits - reference_logits).abs().max().item()
    print(f'{backbone}, {num_frames} frames: max |logit difference| {diff:.3e}')
    assert diff < 1e-4
    return diff


@pytest.mark.parametrize('num_frames', [7, 8])
@pytest.mark.parametrize('backbone', ['qwen2_5_vl', 'qwen3_vl'])
def test_shipped_config_feeds_the_base_model_its_own_input(backbone, num_frames, assets,
                                                          tmp_path):
    checkpoint = assets[backbone]
    _check_parity(backbone, num_frames, checkpoint, assets['data'], str(tmp_path / 'work'),
                  lambda sample, question: _reference_inputs_without_torchvision(
                      backbone, checkpoint, sample, question))


@pytest.mark.parametrize('num_frames', [7, 8])
@pytest.mark.parametrize('backbone', ['qwen2_5_vl', 'qwen3_vl'])
def test_shipped_config_matches_transformers_video_processor(backbone, num_frames,
                                                             torchvision_assets, tmp_path):
    checkpoint = torchvision_assets[backbone]
    _check_parity(backbone, num_frames, checkpoint, torchvision_assets['data'],
                  str(tmp_path / 'work'),
                  lambda sample, question: _reference_inputs(checkpoint, sample, question))


def _source(module_name: str) -> dict:
    """``{name: source}`` of the top-level functions and methods in a
    transformers module's file, read without importing it."""
    import importlib.util
    path = importlib.util.find_spec(module_name).origin
    with open(path) as f:
        text = f.read()
    found = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef):
            found[node.name] = ast.get_source_segment(text, node)
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    found[f'{node.name}.{item.name}'] = ast.get_source_segment(text, item)
    return found


def test_qwen2_5_vl_stand_in_runs_the_same_code():
    """With the resize off, ``Qwen2VLVideoProcessor`` and the stand-in run the
    same ``_preprocess`` (up to its warning's name) and ``patchify``, and its
    ``smart_resize`` is the PIL image processor's one used above."""
    qwen2 = _source('transformers.models.qwen2_vl.video_processing_qwen2_vl')
    qwen3 = _source('transformers.models.qwen3_vl.video_processing_qwen3_vl')
    for name in ('patchify', '_preprocess'):
        theirs = qwen2[f'Qwen2VLVideoProcessor.{name}'].replace('Qwen2VL video', 'Qwen3VL video')
        assert theirs == qwen3[f'Qwen3VLVideoProcessor.{name}'], name
    overridden = {name.split('.')[1] for name in qwen2 if name.startswith('Qwen2VLVideo')}
    assert overridden == {'__init__', '_standardize_kwargs', 'sample_frames', 'resize',
                          'patchify', '_preprocess', 'get_num_of_video_patches'}
    pil = _source('transformers.models.qwen2_vl.image_processing_pil_qwen2_vl')
    assert qwen2['smart_resize'] == pil['smart_resize']
