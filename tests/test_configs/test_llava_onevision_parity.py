"""The shipped LLaVA-Video config against transformers' LLaVA-OneVision and LLaVA-NeXT's prompt.

End to end: a tiny ``LlavaOnevisionForConditionalGeneration`` (SigLIP 56 px,
8-pixel patches: 7 x 7 tokens a frame, pooled 2x2 to 4 x 4) is written by
transformers' ``save_pretrained`` with Qwen2's tokenizer plus ``<image>`` /
``<video>``; the model is built from ``configs/spacevllm_hcstvg.py`` through
``llava_onevision_path`` with the queries off; an HC-STVG video file goes
through the config's own test pipeline. Checked:

- **prompt text**: the ids of mmstvg's prompt equal those of LLaVA-NeXT's
  ``conv_qwen`` conversation (``SeparatorStyle.CHATML``: system turn, then
  ``<|im_start|>user\\n`` + the media token + ``\\n`` + LLaVA-Video's time
  instruction + ``\\n`` + question, ``<|im_end|>``, the assistant turn),
  written here from LLaVA-NeXT's rule with the media token expanded;
- **video token count**: ``LlavaOnevisionProcessor`` expands the one
  ``<video>`` of that prompt (frames x ceil(sqrt(tokens) / 2)^2 + 1) to one
  token more than mmstvg's sequence holds: the ``image_newline`` that
  ``LlavaOnevisionModel`` appends once after the whole video;
- **logits**: on every position up to the video's last token they equal
  ``LlavaOnevisionForConditionalGeneration``'s on the processor's ids and
  pixels (the newline comes later); with transformers' own video features
  minus that newline, on every position; the newline's effect on the later
  positions is measured and printed.

The processor runs without torchvision: its video processor gets the
pipeline's frames already resized and normalized (``do_resize``,
``do_rescale``, ``do_normalize`` off) and passes them on unchanged (checked).
Only the resize comparison (transformers' antialiased bicubic, torchvision's
kernel, against the pipeline's cv2 bicubic) needs torchvision and is skipped
where it does not import.
"""
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from tests.fixtures.hcstvg_videos import write_hcstvg_16x9
from tests.test_configs.config_overrides import (base_model_only, eval_model_and_batch,
                                                 shrink_pipelines)
from tests.test_configs.transformers_reference import build_processor, our_token_ids

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FRAME_SIZE = (90, 50)  # (width, height) of the video file
PIXELS = 56  # the tiny SigLIP's image size
NUM_FRAMES = 4
#: LLaVA-NeXT's conv_qwen (conversation.py): CHATML, this system text.
CONV_QWEN_SYSTEM = '<|im_start|>system\nYou are a helpful assistant.'


@pytest.fixture(scope='module')
def assets(tmp_path_factory, qwen2_tokenizer_dir):
    from transformers import (AutoTokenizer, LlavaOnevisionConfig,
                              LlavaOnevisionForConditionalGeneration)
    root = tmp_path_factory.mktemp('llava_onevision_parity')
    checkpoint = str(root / 'llava-onevision-qwen2-hf')
    tokenizer = AutoTokenizer.from_pretrained(qwen2_tokenizer_dir)
    tokenizer.add_special_tokens(dict(additional_special_tokens=['<image>', '<video>']))
    image_id, video_id = tokenizer.convert_tokens_to_ids(['<image>', '<video>'])
    config = LlavaOnevisionConfig(
        vision_config=dict(model_type='siglip_vision_model', hidden_size=32,
                           intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                           image_size=PIXELS, patch_size=8, layer_norm_eps=1e-6,
                           vision_use_head=False),
        text_config=dict(model_type='qwen2', vocab_size=len(tokenizer), hidden_size=64,
                         intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, max_position_embeddings=4096,
                         rms_norm_eps=1e-6, tie_word_embeddings=False,
                         bos_token_id=151643, eos_token_id=151645),
        image_token_index=image_id, video_token_index=video_id,
        vision_feature_layer=-1, vision_feature_select_strategy='full')
    torch.manual_seed(0)
    LlavaOnevisionForConditionalGeneration(config).save_pretrained(checkpoint)
    tokenizer.save_pretrained(checkpoint)
    data = str(root / 'hcstvg') + '/'
    write_hcstvg_16x9(data, num_train=1, num_test=1, size=FRAME_SIZE, fps=25.0)
    return dict(checkpoint=checkpoint, data=data, video_id=video_id)


def _shipped_model_and_batch(checkpoint: str, data_root: str, work_dir: str):
    """The config's model (checkpoint, frames, fp32 changed; queries off) and
    the preprocessed first test sample of its own pipeline."""
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'spacevllm_hcstvg.py'))
    cfg.model.llava_onevision_path = checkpoint
    cfg.model.llm.dtype = cfg.model.vision_encoder.dtype = 'fp32'
    cfg.model.llm.gradient_checkpointing = False
    base_model_only(cfg.model)
    shrink_pipelines(cfg, num_frames=NUM_FRAMES, size=PIXELS)
    return eval_model_and_batch(cfg, data_root, work_dir)


def conv_qwen_prompt(media: str, time_instruction: str, question: str) -> str:
    """LLaVA-NeXT's ``conv_qwen.get_prompt()`` for LLaVA-Video's first turn
    (``DEFAULT_IMAGE_TOKEN + f'\\n{time_instruction}\\n{question}'``)."""
    return (f'{CONV_QWEN_SYSTEM}<|im_end|>\n<|im_start|>user\n{media}\n{time_instruction}\n'
            f'{question}<|im_end|>\n<|im_start|>assistant\n')


def llava_video_time_instruction(duration: float, times) -> str:
    """LLaVA-Video's time instruction (its eval scripts' text)."""
    stamps = ','.join(f'{t:.2f}s' for t in times)
    return (f'The video lasts for {duration:.2f} seconds, and {len(times)} frames are '
            f'uniformly sampled from it. These frames are located at {stamps}.Please answer '
            'the following questions related to this video.')


def llava_onevision_processor(checkpoint: str):
    """transformers' ``LlavaOnevisionProcessor`` for the tiny checkpoint (its
    image and video processors are ones that build without torchvision)."""
    from transformers import AutoTokenizer, LlavaOnevisionProcessor
    from transformers.models.llava_onevision.image_processing_pil_llava_onevision import \
        LlavaOnevisionImageProcessorPil
    from transformers.models.llava_onevision.video_processing_llava_onevision import \
        LlavaOnevisionVideoProcessor
    return build_processor(
        LlavaOnevisionProcessor, image_processor=LlavaOnevisionImageProcessorPil(),
        tokenizer=AutoTokenizer.from_pretrained(checkpoint),
        video_processor=LlavaOnevisionVideoProcessor(size=dict(height=PIXELS, width=PIXELS),
                                                     image_mean=[0.5] * 3,
                                                     image_std=[0.5] * 3),
        num_image_tokens=(PIXELS // 8)**2, vision_feature_select_strategy='full')


def test_shipped_llava_config_against_transformers_and_conv_qwen(assets, tmp_path):
    from transformers import AutoTokenizer, LlavaOnevisionForConditionalGeneration
    checkpoint, video_id = assets['checkpoint'], assets['video_id']
    model, data = _shipped_model_and_batch(checkpoint, assets['data'], str(tmp_path / 'work'))
    sample = data['data_samples'][0]
    pixels = data['inputs']  # (1, T, 3, 56, 56), the pipeline's normalised frames
    assert tuple(pixels.shape) == (1, NUM_FRAMES, 3, PIXELS, PIXELS)
    with torch.no_grad():
        run = model.run_llm(pixels, data['data_samples'], with_answer=False, side='right')
        logits = model.llm.logits(run.hidden)[0]
        embeds, _, _ = model.build_sequences(pixels, data['data_samples'], with_answer=False)
    layout = run.layouts[0]

    # prompt text: LLaVA-NeXT's conv_qwen with LLaVA-Video's time instruction
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    meta = sample.metainfo
    question = model.prompt_builder.prompts['questions']['stvg'].format(
        sentence=meta['sentence'])
    instruction = llava_video_time_instruction(meta['duration'], meta['frame_times'])
    # transformers' processor: the same prompt with one <video>, the same frames
    inputs = llava_onevision_processor(checkpoint)(
        text=[conv_qwen_prompt('<video>', instruction, question)], videos=[pixels[0]],
        do_resize=False, do_rescale=False, do_normalize=False, do_convert_rgb=False,
        return_tensors='pt')
    assert torch.equal(inputs['pixel_values_videos'], pixels)

    # video token count: the processor's, one newline more than ours
    per_frame = math.ceil(int(math.sqrt((PIXELS // 8) ** 2)) / 2) ** 2
    processor_count = int((inputs['input_ids'][0] == video_id).sum())
    assert layout.frame_token_pos.shape == (NUM_FRAMES, per_frame) == (NUM_FRAMES, 16)
    assert processor_count == NUM_FRAMES * per_frame + 1

    ours_visual = torch.zeros(layout.length, dtype=torch.bool)
    ours_visual[layout.frame_token_pos.flatten()] = True
    table = model.llm.hf_model.get_input_embeddings().weight
    our_ids = our_token_ids(embeds[0], table, ours_visual, video_pad=video_id)
    ours_text = conv_qwen_prompt('<video>' * (processor_count - 1), instruction, question)
    assert our_ids.tolist() == tokenizer(ours_text).input_ids

    # logits: transformers' model on the processor's input (the newline included)
    reference = LlavaOnevisionForConditionalGeneration.from_pretrained(checkpoint).eval()
    ids = inputs['input_ids']
    assert ids[0].tolist() == tokenizer(conv_qwen_prompt('<video>' * processor_count,
                                                         instruction, question)).input_ids
    video_end = int(layout.frame_token_pos.max()) + 1
    with torch.no_grad():
        reference_logits = reference(**inputs).logits[0]
        features = reference.model.get_video_features(
            pixel_values_videos=pixels).pooler_output
    assert features.shape[1] == processor_count  # the newline is its last row
    before = (logits[:video_end] - reference_logits[:video_end]).abs().max().item()
    assert before < 1e-4
    # ... and with its features minus the newline, on every position
    inputs_embeds = reference.get_input_embeddings()(our_ids[None]).clone()
    inputs_embeds[0, ours_visual] = features[0, :-1]
    with torch.no_grad():
        no_newline = reference(inputs_embeds=inputs_embeds).logits[0]
    everywhere = (logits - no_newline).abs().max().item()
    assert everywhere < 1e-4
    # the newline's effect: the text after the video, one position later there
    after = (logits[video_end:] - reference_logits[video_end + 1:]).abs().max().item()
    print(f'LLaVA-OneVision parity: max |logit difference| {before:.1e} up to the video, '
          f'{everywhere:.1e} without the newline; the newline moves the later '
          f'{logits.shape[0] - video_end} positions by up to {after:.2e} (tiny random model)')
    assert after > 1e-4


def test_the_video_processors_resize_against_the_pipelines(assets, tmp_path):
    """transformers' video processor (antialiased bicubic) against the pipeline's
    cv2 bicubic on the same frames: the difference is measured."""
    pytest.importorskip(
        'torchvision.transforms.v2.functional',
        reason="transformers' LlavaOnevisionVideoProcessor resizes with torchvision")
    import decord
    from transformers import LlavaOnevisionVideoProcessor
    model, data = _shipped_model_and_batch(assets['checkpoint'], assets['data'],
                                           str(tmp_path / 'work'))
    meta = data['data_samples'][0].metainfo
    frames = decord.VideoReader(meta['video_path']).get_batch(
        [int(i) for i in meta['frame_inds']]).asnumpy()
    processor = LlavaOnevisionVideoProcessor(size=dict(height=PIXELS, width=PIXELS),
                                             image_mean=[0.5] * 3, image_std=[0.5] * 3)
    theirs = processor(videos=[frames], return_tensors='pt')['pixel_values_videos'][0]
    diff = (theirs - data['inputs'][0]).abs()
    print(f'resize: mean |pixel difference| {diff.mean():.3e}, max {diff.max():.3e} '
          '(normalised to [-1, 1])')
    assert theirs.shape == data['inputs'][0].shape
