"""Seconds per sample of a grounding model's ``predict`` at 64 frames.

The model of CONFIG (random weights, or ``--checkpoint``) runs ``test_step``
(data preprocessor + ``predict``: one prompt pass, greedy generation of the
temporal answer, box decoding) on synthetic samples: random uint8 frames of
the size the config's test pipeline produces (its ``GroundingPad`` size, else
its ``GroundingResize`` scale), ``--num-frames`` of them sampled uniformly from
a ``--duration`` second video, and a fixed sentence. After ``--warmup`` calls,
each of ``--num-samples`` calls is timed (with device synchronisation on
GPUs). It prints the median and mean seconds per sample, the split of that time
into vision encoding (vision encoder + projector), LLM (the prompt pass and
generation), box decoding (space decoder) and the rest (prompt building,
preprocessing, parsing), measured with forward hooks, the generated-token
count, and as its last line a JSON object ``{"seconds_per_sample": median, ...}``.

Example::

    python tools/analysis_tools/benchmark_infer.py configs/spacevllm_toy.py \
        --num-frames 64 --num-samples 5 --device cpu
"""
import argparse
import json
import os.path as osp
import statistics
import sys
import time
from collections import defaultdict
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from mmengine.config import Config, DictAction

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:  # configs may import `projects.*`
    sys.path.insert(0, REPO_ROOT)

from mmstvg.registry import MODELS  # noqa: E402
from mmstvg.structures import GroundingDataSample  # noqa: E402
from mmstvg.utils import register_all_modules  # noqa: E402

SENTENCE = 'the man in the white shirt walks to the door and opens it'


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Benchmark a grounding model\'s predict')
    parser.add_argument('config', help='model config')
    parser.add_argument('--checkpoint', default=None, help='optional checkpoint')
    parser.add_argument('--num-frames', type=int, default=64)
    parser.add_argument('--num-samples', type=int, default=5, help='timed calls')
    parser.add_argument('--warmup', type=int, default=1, help='untimed calls first')
    parser.add_argument('--batch-size', type=int, default=1, help='samples per call')
    parser.add_argument('--duration', type=float, default=20.0,
                        help='seconds of the synthetic video the frames come from')
    parser.add_argument('--max-new-tokens', type=int, default=None,
                        help="override the model's generation budget")
    parser.add_argument('--device', default=None, help="default: cuda if available")
    parser.add_argument('--dtype', default=None, choices=('float32', 'bfloat16', 'float16'),
                        help='cast the model (default: as built)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the random weights')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def frame_size_of(cfg: Config) -> Tuple[int, int]:
    """``(height, width)`` of the frames the config's test pipeline packs."""
    pipeline = cfg.get('test_dataloader', {}).get('dataset', {}).get('pipeline') or \
        cfg.get('test_pipeline') or []
    size = None
    for step in pipeline:
        kind = str(step.get('type')).split('.')[-1]
        if kind == 'GroundingPad' and step.get('size'):
            size = step['size']
        elif kind == 'GroundingResize' and size is None:
            size = step['scale']
    if size is None:
        raise KeyError('the test pipeline has neither a GroundingPad size nor a '
                       'GroundingResize scale: cannot tell the frame size')
    return int(size[1]), int(size[0])


def synthetic_batch(num_samples: int, num_frames: int, frame_size: Tuple[int, int],
                    duration: float, fps: float = 30.0, seed: int = 0) -> dict:
    """Random frames and data samples of a ``duration`` s video at ``fps``."""
    gen = torch.Generator().manual_seed(seed)
    total = int(round(duration * fps))
    frame_inds = np.floor((np.arange(num_frames) + 0.5) * total / num_frames).astype(np.int64)
    height, width = frame_size
    inputs, samples = [], []
    for index in range(num_samples):
        inputs.append(torch.randint(0, 256, (num_frames, 3, height, width),
                                    generator=gen, dtype=torch.uint8))
        samples.append(GroundingDataSample(metainfo=dict(
            task='stvg', sentence=SENTENCE, sample_id=f'bench{index}',
            video_id=f'bench{index}', video_path='', num_frames=total, fps=fps,
            duration=total / fps, ori_shape=(height, width), img_shape=(height, width),
            pad_shape=(height, width), frame_inds=frame_inds,
            frame_times=frame_inds / fps)))
    return dict(inputs=inputs, data_samples=samples)


class PartTimer:
    """Wall time spent in the forward of given sub-modules, via forward hooks."""

    def __init__(self, model: torch.nn.Module, parts: Dict[str, List[str]], device):
        self.device = device
        self.totals: Dict[str, float] = defaultdict(float)
        self._starts: Dict[str, float] = {}
        self.handles = []
        for group, names in parts.items():
            for name in names:
                module = getattr(model, name, None)
                if module is None:
                    continue
                key = f'{group}/{name}'
                self.handles.append(module.register_forward_pre_hook(self._pre(key)))
                self.handles.append(module.register_forward_hook(self._post(key, group)))

    def _sync(self):
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)

    def _pre(self, key):
        def hook(module, args):
            self._sync()
            self._starts[key] = time.perf_counter()
        return hook

    def _post(self, key, group):
        def hook(module, args, output):
            self._sync()
            self.totals[group] += time.perf_counter() - self._starts.pop(key)
        return hook

    def reset(self) -> Dict[str, float]:
        totals = dict(self.totals)
        self.totals.clear()
        return totals

    def remove(self):
        for handle in self.handles:
            handle.remove()


def benchmark(cfg: Config, checkpoint: Optional[str] = None, num_frames: int = 64,
              num_samples: int = 5, warmup: int = 1, batch_size: int = 1,
              duration: float = 20.0, device: Optional[str] = None,
              max_new_tokens: Optional[int] = None, dtype: Optional[str] = None,
              seed: int = 0) -> dict:
    """Time the model's ``test_step``; see the module docstring.

    Returns:
        A dict: ``seconds_per_sample`` (median), ``mean_seconds_per_sample``,
        ``per_call_seconds`` (all timed calls), ``split_seconds_per_sample``
        (mean per part), ``generated_tokens_per_sample`` (mean),
        ``num_frames``, ``frame_size``, ``device``, ``batch_size``.
    """
    register_all_modules()
    device = torch.device(device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    if checkpoint:
        from mmengine.runner import load_checkpoint
        load_checkpoint(model, checkpoint, map_location='cpu')
    if dtype:
        model.to(getattr(torch, dtype))
    model.to(device).eval()
    if max_new_tokens is not None:
        model.max_new_tokens = max_new_tokens
    frame_size = frame_size_of(cfg)
    timer = PartTimer(model, dict(vision=['vision_encoder', 'projector'], llm=['llm'],
                                  boxes=['space_decoder']), device)
    calls, splits, tokens = [], defaultdict(list), []
    for step in range(warmup + num_samples):
        batch = synthetic_batch(batch_size, num_frames, frame_size, duration, seed=step)
        timer.reset()
        timer._sync()
        tic = time.perf_counter()
        with torch.no_grad():
            outputs = model.test_step(batch)
        timer._sync()
        elapsed = time.perf_counter() - tic
        parts = timer.reset()
        if step < warmup:
            continue
        calls.append(elapsed)
        for name in ('vision', 'llm', 'boxes'):
            splits[name].append(parts.get(name, 0.0) / batch_size)
        splits['other'].append((elapsed - sum(parts.values())) / batch_size)
        tokens.extend(len(model.llm.tokenizer(o.pred_text, add_special_tokens=False)
                          ['input_ids']) for o in outputs)
    timer.remove()
    per_sample = [c / batch_size for c in calls]
    return dict(
        seconds_per_sample=statistics.median(per_sample),
        mean_seconds_per_sample=statistics.fmean(per_sample),
        per_call_seconds=calls,
        split_seconds_per_sample={k: statistics.fmean(v) for k, v in splits.items()},
        generated_tokens_per_sample=statistics.fmean(tokens) if tokens else 0.0,
        num_frames=num_frames, frame_size=list(frame_size), device=str(device),
        batch_size=batch_size, num_samples=num_samples, warmup=warmup)


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.num_samples < 1 or args.num_frames < 1 or args.batch_size < 1:
        raise ValueError('--num-samples, --num-frames and --batch-size must be positive')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    result = benchmark(cfg, args.checkpoint, args.num_frames, args.num_samples,
                       args.warmup, args.batch_size, args.duration, args.device,
                       args.max_new_tokens, args.dtype, args.seed)
    print(f'{args.config}: {result["num_frames"]} frames of {result["frame_size"]} '
          f'(HxW) on {result["device"]}, batch {result["batch_size"]}, '
          f'{result["num_samples"]} timed calls after {result["warmup"]} warm-up')
    print(f'seconds per sample: median {result["seconds_per_sample"]:.4f}, '
          f'mean {result["mean_seconds_per_sample"]:.4f}')
    split = result['split_seconds_per_sample']
    print('split (mean s/sample): ' + ', '.join(f'{k} {v:.4f}' for k, v in split.items()) +
          f'; generated tokens/sample {result["generated_tokens_per_sample"]:.1f}')
    print(json.dumps(result))
    return result


if __name__ == '__main__':
    main()
