"""Probe whether *when* survives in a grounder's per-frame states.

The mirror of ``probe_token_positions.py`` for time. Ridge probes read, per
sampled frame, the LLM's last-layer state of the frame's query token, the
mean of the frame's visual token states at the LLM's last layer, and the
vision encoder's frame tokens alone and with the previous frame's subtracted
(motion). Each is fitted on the first 75% of the split's first videos to say
"this frame is inside the ground-truth span" and scored on the rest:

* ``auc``: held-out ROC-AUC of the frame's score;
* ``span_iou``: mean over held-out videos of the IoU between the sampled
  frames inside the span and those of the longest run of scores above 0.5
  (the span a reader of the states could give);
* ``prior_span_iou``: the same for the frames inside the span in most
  training videos (what knowing nothing about the video gives).

A source whose ``auc`` is high while the grounder's text answer scores near
the trivial answer holds *when* that the answer does not read out.

Example:
    python tools/analysis_tools/probe_frame_times.py configs/spacevllm_toy.py \\
        --checkpoint work_dirs/spacevllm_toy/iter_3000.pth \\
        --out work_dirs/spacevllm_toy/probe_frame_times.json
"""
import argparse
import os.path as osp
import sys
from typing import Dict, List, Optional

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import numpy as np  # noqa: E402
import torch  # noqa: E402

from mmstvg.utils.runtime_patches import apply_runtime_patches  # noqa: E402

apply_runtime_patches()

from mmengine.config import Config  # noqa: E402

from mmstvg.evaluation.functional.linear_probe import StreamingRidge, roc_auc  # noqa: E402
from mmstvg.utils.config_options import ConfigOptionsAction  # noqa: E402

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from probe_token_positions import (build_model, load_config, report,  # noqa: E402
                                   video_batches)

SOURCES = (('query', 'LLM query token'), ('frame_mean', 'LLM visual mean'),
           ('vision', 'vision encoder'), ('vision_motion', 'vision + motion'))


def parse_args(argv: Optional[List[str]] = None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--checkpoint', help='a trained MMEngine checkpoint (.pth) to load')
    parser.add_argument('--split', choices=('val', 'test'), default='val')
    parser.add_argument('--num-videos', type=int, default=128,
                        help='the first N videos of the split (75%% fit, 25%% held out)')
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--alpha', type=float, default=1.0,
                        help='ridge penalty per unit variance of a standardised feature')
    parser.add_argument('--device', default=None)
    parser.add_argument('--out', help='write the results to this JSON file')
    parser.add_argument('--cfg-options', nargs='+', action=ConfigOptionsAction,
                        help='override settings of the config, key=value pairs')
    return parser.parse_args(argv)


class FrameStateCapture:
    """Forward hooks keeping the vision encoder's output and the space
    decoder's ``HeadInputs`` (``query``, ``frames``) of the last forward pass."""

    def __init__(self, model: torch.nn.Module):
        self.vision = self.queries = self.frames = None
        self.handles = [
            model.vision_encoder.register_forward_hook(self._keep_vision),
            model.space_decoder.register_forward_pre_hook(self._keep_states,
                                                          with_kwargs=True)]

    def _keep_vision(self, module, args, output):
        self.vision = (output[0] if isinstance(output, (tuple, list)) else output).detach()

    def _keep_states(self, module, args, kwargs):
        head_inputs = args[0] if args else kwargs['head_inputs']
        self.queries = head_inputs.query.detach()
        self.frames = head_inputs.frames.detach()

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def frame_features(capture: FrameStateCapture, b: int, vision: torch.Tensor,
                   count: int) -> Dict[str, torch.Tensor]:
    """``(T, D)`` features of each source for sample ``b``'s ``count`` frames."""
    own = vision.reshape(count, -1).float()
    previous = torch.cat([own[:1], own[:-1]])
    return dict(query=capture.queries[b, :count].float(),
                frame_mean=capture.frames[b, :count].float().mean(1),
                vision=own, vision_motion=torch.cat([own, own - previous], dim=1))


def longest_run(inside: np.ndarray) -> np.ndarray:
    """The longest run of True in ``inside`` (all False when there is none)."""
    best, start, out = 0, None, np.zeros_like(inside)
    for i, value in enumerate(list(inside) + [False]):
        if value and start is None:
            start = i
        elif not value and start is not None:
            if i - start > best:
                best, out = i - start, np.zeros_like(inside)
                out[start:i] = True
            start = None
    return out


def set_iou(pred: np.ndarray, target: np.ndarray) -> float:
    """IoU of two sets of frames given as bool masks (1.0 when both are empty)."""
    union = np.logical_or(pred, target).sum()
    return float(np.logical_and(pred, target).sum() / union) if union else 1.0


def probe(cfg: Config, checkpoint: Optional[str] = None, split: str = 'val',
          num_videos: int = 128, batch_size: int = 4, alpha: float = 1.0,
          device: Optional[str] = None) -> dict:
    """Run the model on the split's first videos, fit and score the probes."""
    from mmengine.dataset import pseudo_collate

    from mmstvg.models.grounders.video_encoding import num_real_frames
    from mmstvg.registry import DATASETS
    from projects.spacevllm.spacevllm.addons import span_targets
    device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
    model = build_model(cfg, checkpoint, device)
    dataset = DATASETS.build(cfg[f'{split}_dataloader'].dataset)
    num_videos = min(num_videos, len(dataset))
    batches = video_batches(num_videos, batch_size)
    capture = FrameStateCapture(model)
    ridges = {name: StreamingRidge() for name, _ in SOURCES}
    heldout = []  # (features per source, targets) of each held-out video
    train_targets = []
    try:
        for done, (indices, train) in enumerate(batches):
            data = model.data_preprocessor(pseudo_collate([dataset[i] for i in indices]),
                                           False)
            with torch.no_grad():
                model(**data, mode='tensor')
            inputs, samples = data['inputs'], data['data_samples']
            counts = [num_real_frames(inputs, s) for s in samples]
            targets, _ = span_targets(samples, capture.queries.shape[1])
            vision = capture.vision.split(counts, dim=0)
            for b, count in enumerate(counts):
                feats = frame_features(capture, b, vision[b], count)
                target = targets[b, :count].numpy()
                if train:
                    train_targets.append(target)
                    for name, ridge in ridges.items():
                        ridge.update(feats[name], target)
                else:
                    heldout.append(({k: v.cpu() for k, v in feats.items()}, target))
            print(f'probed {done + 1}/{len(batches)} batches', file=sys.stderr)
    finally:
        capture.remove()
    lengths = {len(t) for t in train_targets + [t for _, t in heldout]}
    if len(lengths) != 1:
        raise ValueError(f'videos sampled to different frame counts {sorted(lengths)}: '
                         'the prior needs one count')
    prior = np.mean(train_targets, axis=0) > 0.5
    targets = [t.astype(bool) for _, t in heldout]
    results = dict(config=cfg.filename, checkpoint=checkpoint, split=split,
                   num_videos=num_videos, num_heldout_videos=len(heldout), alpha=alpha,
                   prior_span_iou=float(np.mean([set_iou(prior, t) for t in targets])))
    for name, _ in SOURCES:
        fitted = ridges[name].fit(alpha)
        scores = [fitted.predict(feats[name])[:, 0] for feats, _ in heldout]
        results[name] = dict(
            dim=int(heldout[0][0][name].shape[1]),
            auc=roc_auc(np.concatenate(targets), np.concatenate(scores)),
            span_iou=float(np.mean([set_iou(longest_run(s > 0.5), t)
                                    for s, t in zip(scores, targets)])))
    return results


def format_table(results: dict) -> str:
    """``states  dim  AUC  span IoU`` of each source, and the prior's span IoU."""
    lines = [f"{'states':<18} {'dim':>6} {'AUC':>6} {'span IoU':>9}"]
    for name, title in SOURCES:
        res = results[name]
        lines.append(f"{title:<18} {res['dim']:>6} {res['auc']:>6.3f} "
                     f"{res['span_iou']:>9.3f}")
    lines.append(f"{'prior (no video)':<18} {'':>6} {0.5:>6.3f} "
                 f"{results['prior_span_iou']:>9.3f}")
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    results = probe(load_config(args), args.checkpoint, args.split, args.num_videos,
                    args.batch_size, args.alpha, args.device)
    return report(results, format_table(results), args.out)


if __name__ == '__main__':
    main()
