"""Probe whether *where* survives in a grounder's visual token states.

Ridge probes read every grid token of every real frame at the LLM's last
layer (the ``HeadInputs.frames`` its space decoder gets) and at the vision
encoder's output, fitted on the first 75% of the split's first videos and
scored on the rest: held-out R² of the token cell's normalised centre
``(x, y)`` and held-out ROC-AUC of "the cell overlaps the ground-truth box"
(beside the AUC of the cell's one-hot index alone: where boxes tend to lie).
The token grid and the newline tokens dropped: :func:`llm_grid`.

Example:
    python tools/analysis_tools/probe_token_positions.py configs/spacevllm_toy.py \\
        --checkpoint work_dirs/spacevllm_toy/iter_3000.pth \\
        --out work_dirs/spacevllm_toy/probe_token_positions.json
"""
import argparse
import json
import math
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence, Tuple

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import numpy as np  # noqa: E402
import torch  # noqa: E402

from mmstvg.utils.runtime_patches import apply_runtime_patches  # noqa: E402

# First, before the imports below load mmengine.runner (and DeepSpeed):
# safe checkpoint loading, atomic writes, the message filters.
apply_runtime_patches()

from mmengine.config import Config  # noqa: E402

from mmstvg.evaluation.functional.linear_probe import (  # noqa: E402
    StreamingRidge, cell_box_overlap, cell_centres, grid_token_indices, r2_score, roc_auc)
from mmstvg.utils.config_options import ConfigOptionsAction  # noqa: E402

#: Share of the probed videos (the first ones) the probes are fitted on.
TRAIN_FRACTION = 0.75
SOURCES = (('llm', 'LLM last layer'), ('vision', 'vision encoder'))


def parse_args(argv: Optional[List[str]] = None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--checkpoint', help='a trained MMEngine checkpoint (.pth) to load')
    parser.add_argument('--split', choices=('val', 'test'), default='val',
                        help='the dataloader whose dataset is probed')
    parser.add_argument('--num-videos', type=int, default=64,
                        help='the first N videos of the split (75%% fit, 25%% held out)')
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--alpha', type=float, default=1e-2,
                        help='ridge penalty per unit variance of a standardised feature')
    parser.add_argument('--device', default=None,
                        help='cuda when available, else cpu (default)')
    parser.add_argument('--out', help='write the results to this JSON file')
    parser.add_argument('--cfg-options', nargs='+', action=ConfigOptionsAction,
                        help='override settings of the config, key=value pairs')
    return parser.parse_args(argv)


# --------------------------------------------------------------- the model
def build_model(cfg: Config, checkpoint: Optional[str] = None,
                device: str = 'cpu') -> torch.nn.Module:
    """The config's model in eval mode, with ``checkpoint`` loaded when given."""
    from mmengine.registry import init_default_scope
    from mmengine.utils import import_modules_from_strings

    from mmstvg.registry import MODELS
    from mmstvg.utils import load_fitting_checkpoint
    if cfg.get('custom_imports', None):
        import_modules_from_strings(**cfg.custom_imports)
    init_default_scope(cfg.get('default_scope', 'mmstvg'))
    model = MODELS.build(cfg.model)
    if checkpoint:
        # a file that does not fit would leave the built weights probed
        load_fitting_checkpoint(model, checkpoint)
    if getattr(model, 'space_decoder', None) is None:
        raise ValueError(f'{type(model).__name__} has no space_decoder: there are no '
                         'frame states to probe')
    return model.to(device).eval()


def encoder_grid(encoder: torch.nn.Module,
                 frame_hw: Sequence[int]) -> Optional[Tuple[int, int]]:
    """The vision encoder's token grid for ``H x W`` frames (None: unknown)."""
    height, width = int(frame_hw[0]), int(frame_hw[1])
    if hasattr(encoder, 'token_grid'):
        rows, cols = encoder.token_grid(height, width)
        return int(rows), int(cols)
    patch = getattr(encoder, 'patch_size', None)
    if patch is None:
        return None
    pool = int(getattr(encoder, 'pool_size', 1) or 1)
    return math.ceil(height // patch / pool), math.ceil(width // patch / pool)


def llm_grid(model: torch.nn.Module, frame_hw: Sequence[int],
             num_tokens: int) -> Tuple[int, int]:
    """The ``(rows, cols)`` grid of the LLM's visual tokens of a frame.

    The rule: the vision encoder's grid for the ``H x W`` input frames is its
    ``token_grid(H, W)`` (Qwen-VL towers) or ``ceil((H // patch_size) /
    pool_size) x ceil((W // patch_size) / pool_size)``; a feature pooler
    pools it further (``pooled_grid``: ceil for bilinear, floor else). A
    tower with neither falls back on the space decoder's
    ``frame_token_grid``, then on a square. The frame's ``P`` tokens must
    then be ``rows * cols`` (the grid, row-major), ``rows * (cols + 1)``
    (LLaVA's ``newline='grid'``: the newline token ending each row is
    dropped) or ``rows * cols + 1`` (``newline='frame'``: the last token is
    dropped), see :func:`grid_token_indices`.

    The encoder's own output is probed on this grid when it has
    ``rows * cols`` tokens, else on the encoder's grid (before the pooler)
    when it fills that, else skipped with a note (:func:`make_probes`).

    Raises:
        ValueError: ``P`` fits no layout of the grid, or no grid is found.
    """
    from mmstvg.models.vision_encoders.feature_pooler import pooled_grid
    grid = encoder_grid(model.vision_encoder, frame_hw)
    pooler = getattr(model, 'feature_pooler', None)
    if grid is not None and pooler is not None:
        grid = pooled_grid(grid, int(pooler.stride), pooler.mode)
    if grid is None:
        grid = getattr(model.space_decoder, 'frame_token_grid', None)
        if isinstance(grid, str):  # 'auto': read from P, as below
            grid = None
    if grid is None:
        for side in range(1, math.isqrt(num_tokens) + 1):
            if num_tokens in (side * side, side * (side + 1), side * side + 1):
                grid = (side, side)
    if grid is None:
        raise ValueError(f'cannot infer the token grid of {num_tokens} visual tokens '
                         'per frame from the model')
    grid_token_indices(num_tokens, *grid)  # a ValueError when P fits no layout
    return int(grid[0]), int(grid[1])


class StateCapture:
    """Forward hooks keeping the vision encoder's output and the space decoder's
    ``HeadInputs.frames`` of the last forward pass."""

    def __init__(self, model: torch.nn.Module):
        self.vision = self.frames = None
        self.handles = [
            model.vision_encoder.register_forward_hook(self._keep_vision),
            model.space_decoder.register_forward_pre_hook(self._keep_frames,
                                                          with_kwargs=True)]

    def _keep_vision(self, module, args, output):
        self.vision = (output[0] if isinstance(output, (tuple, list)) else output).detach()

    def _keep_frames(self, module, args, kwargs):
        self.frames = (args[0] if args else kwargs['head_inputs']).frames.detach()

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


# ------------------------------------------------------------ the targets
def normalised_boxes(sample, input_hw: Sequence[int]) -> Tuple[np.ndarray, np.ndarray]:
    """The sample's ground-truth boxes on the ``H x W`` input frame, in [0, 1].

    The token grid divides the input frame (after resize and pad) evenly, so
    the boxes are normalised on it, padding included.

    Args:
        sample: a data sample with ``gt_boxes`` / ``gt_box_mask``.
        input_hw: ``(H, W)`` of the model's input frames.

    Returns:
        ``(T, 4)`` xyxy boxes (original pixels times ``scale_factor``, over
        the input's width / height; without ``scale_factor`` over the
        original frame's) and their ``(T,)`` bool mask.
    """
    meta = sample.metainfo
    boxes = sample.gt_boxes.detach().cpu().double().numpy().reshape(-1, 4)
    mask = sample.gt_box_mask.detach().cpu().numpy().astype(bool)
    if meta.get('scale_factor') is not None:
        scale_w, scale_h = meta['scale_factor']
        height, width = input_hw
        size = np.array([width / scale_w, height / scale_h] * 2)
    else:
        height, width = meta['ori_shape']
        size = np.array([width, height] * 2, dtype=np.float64)
    return np.clip(boxes / size, 0, 1), mask


class TokenProbe:
    """The probes of one kind of token states on a ``rows x cols`` grid."""

    def __init__(self, rows: int, cols: int, note: Optional[str] = None):
        self.rows, self.cols, self.note = rows, cols, note
        self.centres = cell_centres(rows, cols)
        self.ridges = dict(position=StreamingRidge(), overlap=StreamingRidge(),
                           prior=StreamingRidge())
        self.models = None
        self.heldout = dict(position=[], position_pred=[], overlap=[], overlap_score=[],
                            prior_score=[])
        self.counts = dict(num_train_tokens=0, num_heldout_tokens=0,
                           num_train_overlap_tokens=0, num_heldout_overlap_tokens=0)

    def add(self, states: torch.Tensor, boxes: np.ndarray, mask: np.ndarray,
            train: bool, alpha: float) -> None:
        """Add one video's ``(T, rows * cols, D)`` grid-token states."""
        frames, cells = states.shape[:2]
        features = states.reshape(frames * cells, -1).float()
        centres = np.tile(self.centres, (frames, 1))
        overlap = cell_box_overlap(self.rows, self.cols, boxes[mask]).reshape(-1)
        boxed = torch.from_numpy(np.repeat(mask, cells)).to(features.device)
        boxed_features = features[boxed]
        one_hot = np.tile(np.eye(cells), (int(mask.sum()), 1))
        split = 'train' if train else 'heldout'
        self.counts[f'num_{split}_tokens'] += frames * cells
        self.counts[f'num_{split}_overlap_tokens'] += len(overlap)
        if train:
            self.ridges['position'].update(features, centres)
            if len(overlap):
                self.ridges['overlap'].update(boxed_features, overlap.astype(np.float64))
                self.ridges['prior'].update(one_hot, overlap.astype(np.float64))
            return
        if self.models is None:
            if self.ridges['overlap'].num < 2:
                raise ValueError('the training videos have no frame with a ground-truth '
                                 'box: no overlap probe can be fitted')
            self.models = {name: ridge.fit(alpha) for name, ridge in self.ridges.items()}
        self.heldout['position'].append(centres)
        self.heldout['position_pred'].append(self.models['position'].predict(features))
        self.heldout['overlap'].append(overlap)
        if len(overlap):
            self.heldout['overlap_score'].append(
                self.models['overlap'].predict(boxed_features)[:, 0])
            self.heldout['prior_score'].append(self.models['prior'].predict(one_hot)[:, 0])

    def results(self) -> dict:
        """Held-out scores (NaN where undefined) and the token counts."""
        if self.models is None:
            raise ValueError('no held-out video was probed')
        cat = {key: np.concatenate(value) if value else np.zeros(0)
               for key, value in self.heldout.items()}
        r2 = r2_score(cat['position'], cat['position_pred'])
        labels = cat['overlap'].astype(bool)
        out = dict(grid=[self.rows, self.cols],
                   position_r2=float(np.mean(r2)), position_r2_x=float(r2[0]),
                   position_r2_y=float(r2[1]),
                   overlap_auc=roc_auc(labels, cat['overlap_score']),
                   overlap_auc_cell_prior=roc_auc(labels, cat['prior_score']),
                   heldout_overlap_rate=float(labels.mean()) if len(labels) else math.nan,
                   **self.counts)
        if self.note:
            out['note'] = self.note
        return out


# --------------------------------------------------------------- the probe
def video_batches(num_videos: int, batch_size: int) -> List[Tuple[List[int], bool]]:
    """``(indices, train)`` batches: the first 75% of the videos train, never
    sharing a batch with the held-out rest."""
    if num_videos < 2:
        raise ValueError(f'probing needs at least 2 videos, got {num_videos}')
    num_train = min(max(int(TRAIN_FRACTION * num_videos), 1), num_videos - 1)
    batches = []
    for start, stop, train in ((0, num_train, True), (num_train, num_videos, False)):
        batches += [(list(range(i, min(i + batch_size, stop))), train)
                    for i in range(start, stop, batch_size)]
    return batches


def probe(cfg: Config, checkpoint: Optional[str] = None, split: str = 'val',
          num_videos: int = 64, batch_size: int = 4, alpha: float = 1e-2,
          device: Optional[str] = None) -> dict:
    """Run the model on the split's first videos and fit / score the probes.

    Returns:
        The results: the run's settings, ``llm`` and ``vision`` (each the
        held-out ``position_r2`` (mean of ``_x`` / ``_y``), ``overlap_auc``,
        ``overlap_auc_cell_prior`` and token counts, or ``skipped`` with the
        reason).
    """
    from mmengine.dataset import pseudo_collate

    from mmstvg.models.grounders.video_encoding import num_real_frames
    from mmstvg.registry import DATASETS
    device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
    model = build_model(cfg, checkpoint, device)
    dataset = DATASETS.build(cfg[f'{split}_dataloader'].dataset)
    num_videos = min(num_videos, len(dataset))
    batches = video_batches(num_videos, batch_size)
    capture = StateCapture(model)
    probes: Dict[str, Optional[TokenProbe]] = {}
    info = {}
    try:
        for done, (indices, train) in enumerate(batches):
            data = model.data_preprocessor(pseudo_collate([dataset[i] for i in indices]),
                                           False)
            with torch.no_grad():  # the prompt-only pass: LLM, then the space decoder
                model(**data, mode='tensor')
            inputs, samples = data['inputs'], data['data_samples']
            input_hw = tuple(inputs.shape[-2:])
            counts = [num_real_frames(inputs, s) for s in samples]
            if not probes:
                probes, info = make_probes(model, input_hw, capture)
            vision = capture.vision.split(counts, dim=0)
            for b, (sample, count) in enumerate(zip(samples, counts)):
                boxes, mask = normalised_boxes(sample, input_hw)
                if len(boxes) != count:
                    raise ValueError(f"sample {sample.metainfo.get('video_id')!r} has "
                                     f'{len(boxes)} gt_boxes for {count} frames')
                states = dict(llm=capture.frames[b, :count], vision=vision[b])
                for name, token_probe in probes.items():
                    if token_probe is None:
                        continue
                    index = info[name]['index'].to(states[name].device)
                    token_probe.add(states[name][:, index], boxes, mask, train, alpha)
            print(f'probed {done + 1}/{len(batches)} batches', file=sys.stderr)
    finally:
        capture.remove()
    num_train = sum(len(indices) for indices, train in batches if train)
    results = dict(config=cfg.filename, checkpoint=checkpoint, split=split,
                   num_videos=num_videos, num_train_videos=num_train,
                   num_heldout_videos=num_videos - num_train, alpha=alpha)
    for name, _ in SOURCES:
        if probes[name] is None:
            results[name] = dict(skipped=info[name]['note'])
        else:
            results[name] = dict(probes[name].results(),
                                 tokens_per_frame=info[name]['tokens_per_frame'])
    return results


def make_probes(model, input_hw, capture: StateCapture):
    """The probes of the LLM's and the encoder's states (None: skipped), and per
    source the indices of its grid tokens and notes."""
    num_llm = capture.frames.shape[2]
    rows, cols = llm_grid(model, input_hw, num_llm)
    info = dict(llm=dict(index=torch.from_numpy(grid_token_indices(num_llm, rows, cols)),
                         tokens_per_frame=num_llm))
    probes = dict(llm=TokenProbe(rows, cols))
    num_vision = capture.vision.shape[1]
    own = encoder_grid(model.vision_encoder, input_hw)
    if num_vision == rows * cols:
        grid, note = (rows, cols), None
    elif own is not None and num_vision == own[0] * own[1]:
        grid = own
        note = (f'{num_vision} encoder tokens per frame do not fill the LLM grid '
                f'{rows}x{cols}: probed on the encoder grid {own[0]}x{own[1]}')
    else:
        grid = None
        note = (f'{num_vision} encoder tokens per frame fit neither the LLM grid '
                f'{rows}x{cols} nor a known encoder grid: skipped')
    info['vision'] = dict(index=torch.arange(num_vision), tokens_per_frame=num_vision,
                          note=note)
    probes['vision'] = None if grid is None else TokenProbe(grid[0], grid[1], note)
    return probes, info


def format_table(results: dict) -> str:
    """``states  grid  R2(x,y)  R2 x  R2 y  AUC  AUC prior`` of each probed source."""
    lines = [f"{'states':<16} {'grid':>6} {'R2(x,y)':>8} {'R2 x':>7} {'R2 y':>7} "
             f"{'AUC':>6} {'AUC prior':>9}"]
    for name, title in SOURCES:
        res = results[name]
        if 'skipped' in res:
            lines.append(f"{title:<16} skipped: {res['skipped']}")
            continue
        grid = '{}x{}'.format(*res['grid'])
        lines.append(f"{title:<16} {grid:>6} {res['position_r2']:>8.3f} "
                     f"{res['position_r2_x']:>7.3f} {res['position_r2_y']:>7.3f} "
                     f"{res['overlap_auc']:>6.3f} {res['overlap_auc_cell_prior']:>9.3f}")
        if res.get('note'):
            lines.append(f"{'':<16} note: {res['note']}")
    return '\n'.join(lines)


def _json_safe(value):
    """NaN / inf as null (JSON has neither)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    return value


def load_config(args) -> Config:
    """The config of ``args.config`` with ``args.cfg_options`` merged."""
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def report(results: dict, table: str, out: Optional[str]) -> dict:
    """Print ``table``; write ``results`` to ``out`` as JSON (NaN as null) when given."""
    print(table)
    if out:
        os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
        with open(out, 'w') as f:
            json.dump(_json_safe(results), f, indent=2)
    return results


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    results = probe(load_config(args), args.checkpoint, args.split, args.num_videos,
                    args.batch_size, args.alpha, args.device)
    return report(results, format_table(results), args.out)


if __name__ == '__main__':
    main()
