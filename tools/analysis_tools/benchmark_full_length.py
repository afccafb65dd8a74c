"""SpaceVLLM vs the text-box baseline at the real sequence length, reduced width.

Both full-size configs (``configs/spacevllm_hcstvg.py`` and
``configs/baselines/text_boxes_hcstvg.py``) are built with random weights and
LLaVA-Video's token layout: ``--num-frames`` frames (64) of 384 x 384 px, a
SigLIP-shaped tower with 14 px patches (27 x 27 = 729 patches a frame), the
projector, a 2 x 2 bilinear pool (14 x 14 = 196 tokens) and an image_newline
after every pooled row (LLaVA-Video-7B-Qwen2's ``mm_newline_position='grid'``,
210 tokens a frame): about 13.7K tokens a sample. Only the widths shrink
(``--llm-shape`` / ``--vision-shape``); ``0.5b`` / ``7b`` are Qwen2-0.5B / 7B's
widths, layer and head counts, ``so400m`` SigLIP-so400m's (26 layers).
The tokenizer is Qwen2's real one (``mmstvg.testing.qwen2_tokenizer``).

Measured in one run:

* **seconds per sample** of ``test_step`` for each model
  (``benchmark_infer.benchmark``). Random weights do not stop by themselves,
  so each model generates exactly as many tokens as its answer to the
  benchmark sample has (SpaceVLLM: the span; the baseline: the span and a box
  for every in-span frame); the ratio baseline / SpaceVLLM is printed.
* **training tokens/s** of SpaceVLLM with the config's gradient checkpointing:
  preprocess -> loss -> backward -> AdamW step (or ``--zero 2|3``: DeepSpeed
  on one process), the LLM tokens counted by ``build_sequences``; the MFU
  ``6 * LLM params * tokens/s / --peak-tflops`` on GPUs.
* **peak memory** of each phase (CUDA allocator, else the process's VmHWM).
* with ``--sentences-per-video K``: sentences/s for ``K`` sentences about one
  written video, each alone vs sharing the video (decode, vision and prefix
  once; ``shared_video_benchmark.py``), and the projected VidSTG test pass.

The last printed line is JSON (also written to ``--out``).

Example (CPU, a few minutes)::

    python tools/analysis_tools/benchmark_full_length.py --device cpu \
        --llm-shape tiny --vision-shape tiny --num-frames 64
"""
import argparse
import copy
import json
import os
import os.path as osp
import statistics
import sys
import time
from typing import Optional

import numpy as np
import torch
from mmengine.config import Config

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
for path in (REPO_ROOT, osp.dirname(osp.abspath(__file__))):
    if path not in sys.path:
        sys.path.insert(0, path)

from mmstvg.utils.runtime_patches import apply_runtime_patches  # noqa: E402

# First, before the imports below load mmengine.runner (and DeepSpeed):
# safe checkpoint loading, atomic writes, the message filters.
apply_runtime_patches()

import benchmark_infer  # noqa: E402
from benchmark_train import MB, PeakMemoryMeter  # noqa: E402

from mmstvg.registry import MODELS  # noqa: E402
from mmstvg.structures import GroundingDataSample  # noqa: E402
from mmstvg.utils import register_all_modules  # noqa: E402

SPACEVLLM_CONFIG = 'configs/spacevllm_hcstvg.py'
TEXT_BOX_CONFIG = 'configs/baselines/text_boxes_hcstvg.py'

#: Qwen2 shapes: widths, layer and head counts (Qwen2-0.5B / Qwen2-7B's config.json).
LLM_SHAPES = dict(
    tiny=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
              num_attention_heads=4, num_key_value_heads=2),
    **{'0.5b': dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                    num_attention_heads=14, num_key_value_heads=2,
                    tie_word_embeddings=True),
       '7b': dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28,
                  num_attention_heads=28, num_key_value_heads=4)})
#: SigLIP towers on 384 px frames with 14 px patches (27 x 27 patches).
VISION_SHAPES = dict(
    tiny=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
              num_attention_heads=2),
    so400m=dict(hidden_size=1152, intermediate_size=4304, num_hidden_layers=26,
                num_attention_heads=16))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--llm-shape', choices=sorted(LLM_SHAPES), default='tiny')
    parser.add_argument('--vision-shape', choices=sorted(VISION_SHAPES), default='tiny')
    parser.add_argument('--num-frames', type=int, default=64)
    parser.add_argument('--image-size', type=int, default=384,
                        help='frame side; 384 / 14 px patches = 27 x 27 patches')
    parser.add_argument('--device', default=None, help='default: cuda if available')
    parser.add_argument('--dtype', choices=('fp32', 'bf16'), default=None,
                        help="the parts' storage dtype (default: fp32 on CPU, the "
                        "configs' bf16 on GPU); training keeps fp32 masters via "
                        'bf16 autocast when fp32 is stored on a GPU')
    parser.add_argument('--attn', default='sdpa',
                        help='attn_implementation: sdpa | flash_attention_2 | eager')
    parser.add_argument('--infer-samples', type=int, default=2, help='timed predict calls')
    parser.add_argument('--train-iters', type=int, default=2, help='timed training steps')
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--optimizer', choices=('adamw', 'none'), default='adamw',
                        help="'none': forward + backward only (a 7B model's AdamW "
                        'states do not fit one GPU)')
    parser.add_argument('--zero', type=int, choices=(0, 2, 3), default=0,
                        help='train through DeepSpeed ZeRO-2/3 on this one process')
    parser.add_argument('--skip', choices=('infer', 'train'), action='append', default=[])
    parser.add_argument('--peak-tflops', type=float, default=989.0,
                        help='dense bf16 TFLOP/s for the MFU (989: H100/H200 SXM)')
    parser.add_argument('--sentences-per-video', type=int, default=None,
                        help='also time K sentences about one written 640x360 video, '
                        'each alone vs sharing the video (issue 31; VidSTG test: 4.08)')
    parser.add_argument('--sharing-repeats', type=int, default=2,
                        help='timed repeats of each way in the sharing benchmark (median)')
    parser.add_argument('--sharing-new-tokens', type=int, default=12,
                        help='tokens each sentence generates in the sharing benchmark')
    parser.add_argument('--vidstg-ann', default=None,
                        help='a VidSTG test file (raw public or TubeDETR-converted) whose '
                        'segment counts project a full test pass; default: the public '
                        'split\'s counts')
    parser.add_argument('--out', default=None, help='also write the JSON here')
    return parser.parse_args(argv)


def full_length_model_cfg(config: str, args: argparse.Namespace, tokenizer_dir: str,
                          vocab_size: int) -> dict:
    """``config``'s model with random parts of the requested shapes."""
    model = copy.deepcopy(Config.fromfile(osp.join(REPO_ROOT, config)).model.to_dict())
    model['llava_onevision_path'] = None
    vision = model['vision_encoder']
    vision.update(pretrained_model_name_or_path=None, select_layer=-1, chunk_size=16,
                  vision_config=dict(model_type='siglip_vision_model',
                                     image_size=args.image_size, patch_size=14,
                                     **VISION_SHAPES[args.vision_shape]))
    llm = model['llm']
    llm.update(pretrained_model_name_or_path=None, tokenizer=tokenizer_dir,
               attn_implementation=args.attn,
               llm_config=dict(model_type='qwen2', vocab_size=vocab_size,
                               max_position_embeddings=32768, rope_theta=1e6,
                               **LLM_SHAPES[args.llm_shape]))
    # LLaVA-Video-7B-Qwen2's pooling: bilinear, stride 2, a newline per row.
    model['feature_pooler'] = dict(type='LlavaFeaturePooler', mode='bilinear', stride=2,
                                   newline='grid')
    dtype = args.dtype or ('bf16' if str(args.device).startswith('cuda') else 'fp32')
    vision['dtype'] = llm['dtype'] = dtype
    return model


def benchmark_sample(num_frames: int, size: int, fps: float = 30.0,
                     duration: float = 20.0, span=(0.3, 0.7)) -> GroundingDataSample:
    """A 16:9 video's sample (frames resized to ``size``) with a span over
    40 % of the video and a box on every in-span frame."""
    total = int(round(duration * fps))
    inds = np.floor((np.arange(num_frames) + 0.5) * total / num_frames).astype(np.int64)
    start, end = int(span[0] * total), int(span[1] * total)
    sample = GroundingDataSample(metainfo=dict(
        task='stvg', sentence=benchmark_infer.SENTENCE, video_id='bench', video_path='',
        num_frames=total, fps=fps, duration=total / fps, ori_shape=(360, 640),
        img_shape=(size, size), frame_inds=inds, frame_times=inds / fps))
    sample.gt_span_frames = torch.tensor([start, end])
    sample.gt_span_seconds = torch.tensor([start / fps, end / fps])
    inside = (inds >= start) & (inds < end)
    boxes = np.tile(np.array([[120.5, 80.25, 300.75, 330.0]], np.float32), (num_frames, 1))
    boxes[~inside] = 0
    sample.gt_boxes = torch.from_numpy(boxes)
    sample.gt_box_mask = torch.from_numpy(inside)
    return sample


def answer_tokens(model, sample: GroundingDataSample) -> int:
    """Tokens of the model's answer to ``sample`` (+ the end-of-answer token)."""
    meta = sample.metainfo
    text = model.answer.encode(sample, list(meta['frame_times']), meta['duration'])
    return len(model.llm.tokenizer(text, add_special_tokens=False)['input_ids']) + 1


def sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def infer_seconds(cfg_model: dict, sample: GroundingDataSample, args, device) -> dict:
    """Seconds per sample of ``test_step``, generating the answer's length."""
    register_all_modules()
    torch.manual_seed(0)
    # The answer's length depends on the tokenizer and the answer part only:
    # a tiny model of the same config tells it without building the large one.
    probe_cfg = copy.deepcopy(cfg_model)
    probe_cfg['llm']['llm_config'].update(LLM_SHAPES['tiny'])
    probe_cfg['vision_encoder']['vision_config'].update(VISION_SHAPES['tiny'])
    probe = MODELS.build(probe_cfg)
    new_tokens = answer_tokens(probe, sample)
    del probe
    meter = PeakMemoryMeter(device)
    meter.reset()
    result = benchmark_infer.benchmark(
        Config(dict(model=cfg_model, test_pipeline=[dict(
            type='GroundingResize', scale=(args.image_size, args.image_size))])),
        num_frames=args.num_frames, num_samples=args.infer_samples, warmup=args.warmup,
        device=str(device), max_new_tokens=new_tokens)
    result['max_new_tokens'] = new_tokens
    result['peak_mem_mb'] = meter.peak_bytes() / MB
    return result


def train_tokens_per_s(cfg_model: dict, sample: GroundingDataSample, args,
                       device: torch.device) -> dict:
    """Training steps of the model with its gradient checkpointing."""
    register_all_modules()
    torch.manual_seed(0)
    # Built on the device itself (a 7B random init on the host takes minutes).
    with torch.device(device):
        model = MODELS.build(copy.deepcopy(cfg_model))
    model.to(device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    llm_params = sum(p.numel() for p in model.llm.parameters())
    gen = torch.Generator().manual_seed(0)
    frames = torch.randint(0, 256, (args.num_frames, 3, args.image_size, args.image_size),
                           generator=gen, dtype=torch.uint8)
    batch = dict(inputs=[frames], data_samples=[sample])
    engine = None
    if args.zero:
        engine = deepspeed_engine(model, params, args.zero, device)
    optimizer = (torch.optim.AdamW(params, lr=2e-5)
                 if args.optimizer == 'adamw' and engine is None else None)
    stored = next(model.llm.parameters()).dtype
    autocast = device.type == 'cuda' and stored == torch.float32 and engine is None

    def step() -> None:
        data = model.data_preprocessor(copy.deepcopy(batch), True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            losses = (engine or model)(**data, mode='loss')
        loss = sum(v.mean() for k, v in losses.items() if 'loss' in k)
        if engine is not None:
            engine.backward(loss)
            engine.step()
            return
        loss.backward()
        if optimizer is not None:
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        else:
            model.zero_grad(set_to_none=True)

    with torch.no_grad():
        data = model.data_preprocessor(copy.deepcopy(batch), True)
        embeds, _, _ = model.build_sequences(data['inputs'], data['data_samples'], True)
    tokens = int(sum(e.shape[0] for e in embeds))
    for _ in range(args.warmup):
        step()
    meter = PeakMemoryMeter(device)
    meter.reset()
    sync(device)
    times = []
    for _ in range(args.train_iters):
        tic = time.perf_counter()
        step()
        sync(device)
        times.append(time.perf_counter() - tic)
    seconds = statistics.median(times)
    result = dict(tokens_per_sample=tokens, s_per_step=seconds, step_seconds=times,
                  tokens_per_s=tokens / seconds, peak_mem_mb=meter.peak_bytes() / MB,
                  memory_method=meter.method, llm_params=llm_params,
                  trainable_params=sum(p.numel() for p in params),
                  gradient_checkpointing=bool(cfg_model['llm'].get('gradient_checkpointing')),
                  optimizer=f'deepspeed_zero{args.zero}' if engine else args.optimizer,
                  mfu=None)
    if device.type == 'cuda':
        result['mfu'] = 6.0 * llm_params * result['tokens_per_s'] / (args.peak_tflops * 1e12)
    return result


def deepspeed_engine(model, params, stage: int, device: torch.device):
    """A one-process DeepSpeed engine (bf16, ZeRO ``stage``, AdamW)."""
    import deepspeed
    os.environ.setdefault('MASTER_ADDR', '127.0.0.1')
    os.environ.setdefault('MASTER_PORT', '29533')
    os.environ.setdefault('RANK', '0')
    os.environ.setdefault('LOCAL_RANK', '0')
    os.environ.setdefault('WORLD_SIZE', '1')
    deepspeed.init_distributed(dist_backend='nccl' if device.type == 'cuda' else 'gloo')
    config = dict(train_micro_batch_size_per_gpu=1, gradient_accumulation_steps=1,
                  bf16=dict(enabled=True), zero_optimization=dict(stage=stage),
                  optimizer=dict(type='AdamW', params=dict(lr=2e-5)),
                  gradient_clipping=1.0)
    engine, *_ = deepspeed.initialize(model=model, model_parameters=params, config=config)
    return engine


def main(argv=None) -> dict:
    args = parse_args(argv)
    device = torch.device(args.device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    args.device = str(device)
    from mmstvg.testing.qwen2_tokenizer import cached_qwen2_tokenizer_dir
    from transformers import AutoTokenizer
    tokenizer_dir = cached_qwen2_tokenizer_dir()
    vocab_size = len(AutoTokenizer.from_pretrained(tokenizer_dir))
    sample = benchmark_sample(args.num_frames, args.image_size)
    result = dict(llm_shape=args.llm_shape, vision_shape=args.vision_shape,
                  num_frames=args.num_frames, image_size=args.image_size,
                  device=str(device), attn=args.attn, vocab_size=vocab_size)
    models = {name: full_length_model_cfg(path, args, tokenizer_dir, vocab_size)
              for name, path in (('spacevllm', SPACEVLLM_CONFIG),
                                 ('text_boxes', TEXT_BOX_CONFIG))}
    result['dtype'] = models['spacevllm']['llm']['dtype']
    if 'infer' not in args.skip:
        for name, cfg_model in models.items():
            result[f'infer_{name}'] = infer_seconds(cfg_model, sample, args, device)
            print(f"{name}: {result[f'infer_{name}']['seconds_per_sample']:.3f} s/sample "
                  f"({result[f'infer_{name}']['max_new_tokens']} generated tokens, peak "
                  f"{result[f'infer_{name}']['peak_mem_mb']:.0f} MB)", flush=True)
        result['text_boxes_over_spacevllm'] = (
            result['infer_text_boxes']['seconds_per_sample'] /
            result['infer_spacevllm']['seconds_per_sample'])
        print(f"seconds per sample, text-box baseline / SpaceVLLM: "
              f"{result['text_boxes_over_spacevllm']:.2f}", flush=True)
    if 'train' not in args.skip:
        train = train_tokens_per_s(models['spacevllm'], sample, args, device)
        result['train_spacevllm'] = train
        mfu = '' if train['mfu'] is None else f", MFU {100 * train['mfu']:.1f} %"
        print(f"training: {train['tokens_per_sample']} tokens/sample, "
              f"{train['tokens_per_s']:.0f} tokens/s ({train['optimizer']}, gradient "
              f"checkpointing {train['gradient_checkpointing']}), peak "
              f"{train['peak_mem_mb']:.0f} MB{mfu}", flush=True)
    if args.sentences_per_video:
        from shared_video_benchmark import benchmark_sharing
        sharing = benchmark_sharing(models['spacevllm'], args, device,
                                    args.sentences_per_video, args.sharing_repeats)
        result['sharing'] = sharing
        print(f"{sharing['sentences_per_video']} sentences on one video: "
              f"{sharing['sentences_per_s_alone']:.3f} sentences/s alone, "
              f"{sharing['sentences_per_s_shared']:.3f} shared, "
              f"shared / alone {sharing['speedup']:.2f}x (CPU time "
              f"{sharing['cpu_speedup']:.2f}x), same predictions: "
              f"{sharing['same_predictions']}", flush=True)
        for name in ('alone', 'shared'):
            split = sharing[f'seconds_split_{name}']
            print(f'  {name}: ' + ', '.join(f'{k} {v:.3f} s' for k, v in sorted(split.items())),
                  flush=True)
        print(f"VidSTG test pass ({sharing['vidstg_sentences']} sentences on "
              f"{sharing['vidstg_segments']} segments, {sharing['vidstg_source']}): "
              f"{sharing['vidstg_hours_alone']:.2f} h alone, "
              f"{sharing['vidstg_hours_shared']:.2f} h shared "
              f"({sharing['vidstg_speedup']:.2f}x)", flush=True)
    line = json.dumps(result)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(line + '\n')
    print(line, flush=True)
    return result


if __name__ == '__main__':
    main()
