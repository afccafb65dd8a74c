"""GroundingVisualizationHook: N drawn files from val/test batches."""
import os
from unittest.mock import MagicMock

import cv2
import decord
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.visualization import Visualizer
from torch.utils.data import DataLoader, Dataset

from mmstvg.registry import HOOKS, VISUALIZERS

GREEN = (0, 255, 0)
RED = (255, 0, 0)
_COUNTER = [0]


def current_grounding_visualizer(**kwargs):
    """Build a GroundingVisualizer; MMEngine makes it the current instance."""
    _COUNTER[0] += 1
    return VISUALIZERS.build(
        dict(type='GroundingVisualizer', name=f'hook_vis_{_COUNTER[0]}', **kwargs))


def fake_runner(tmp_path, iteration=7):
    runner = MagicMock()
    runner.work_dir = str(tmp_path)
    runner.timestamp = '20260101_000000'
    runner.iter = iteration
    return runner


def make_batch(stvg_sample, ids):
    samples = [stvg_sample(sample_id) for sample_id in ids]
    inputs = [torch.zeros(4, 3, 48, 64, dtype=torch.uint8) for _ in ids]
    return dict(inputs=inputs, data_samples=samples), samples


def vis_files(tmp_path, step):
    folder = tmp_path / '20260101_000000' / 'vis' / str(step)
    return sorted(os.listdir(folder)) if folder.is_dir() else []


def test_hook_draws_first_num_samples_of_each_val_run(tmp_path, stvg_sample):
    current_grounding_visualizer(line_width=1)
    hook = HOOKS.build(dict(type='GroundingVisualizationHook', num_samples=3))
    runner = fake_runner(tmp_path)
    hook.before_val_epoch(runner)
    for batch_idx, ids in enumerate((['a#0', 'a#1'], ['b#0', 'b#1'], ['c#0'])):
        batch, outputs = make_batch(stvg_sample, ids)
        hook.after_val_iter(runner, batch_idx, batch, outputs)
    assert vis_files(tmp_path, 7) == ['a_0.png', 'a_1.png', 'b_0.png']

    written = cv2.imread(str(tmp_path / '20260101_000000' / 'vis' / '7' /
                             'a_0.png'))[..., ::-1]
    vis = Visualizer.get_current_instance()
    sample = stvg_sample('a#0')
    caption_h = vis.render_caption(sample.sentence, written.shape[1]).shape[0]
    cell_h = vis.draw_frames(np.zeros((4, 48, 64, 3), np.uint8), sample,
                             show_sentence=False).shape[1]
    # Frame 1 in cell (0, 1): GT corner (8, 10); frame 2 in cell (1, 0): pred.
    assert tuple(written[caption_h + 8, 64 + 2 + 10]) == GREEN
    assert tuple(written[caption_h + cell_h + 2 + 20, 36]) == RED
    assert tuple(written[caption_h + 8, 10]) == (0, 0, 0)

    # The next validation run (at a later iteration) draws afresh.
    runner.iter = 9
    hook.before_val_epoch(runner)
    batch, outputs = make_batch(stvg_sample, ['a#0', 'a#1'])
    hook.after_val_iter(runner, 0, batch, outputs)
    assert vis_files(tmp_path, 9) == ['a_0.png', 'a_1.png']


def test_hook_interval_enabled_and_test_mode(tmp_path, stvg_sample):
    current_grounding_visualizer()
    runner = fake_runner(tmp_path)
    hook = HOOKS.build(
        dict(type='GroundingVisualizationHook', num_samples=10, interval=2))
    hook.before_val_epoch(runner)
    for batch_idx in range(5):
        batch, outputs = make_batch(stvg_sample, [f'v{batch_idx}#0'])
        hook.after_val_iter(runner, batch_idx, batch, outputs)
    assert vis_files(tmp_path, 7) == ['v0_0.png', 'v2_0.png', 'v4_0.png']

    disabled = HOOKS.build(dict(type='GroundingVisualizationHook', enabled=False))
    runner.iter = 8
    disabled.before_val_epoch(runner)
    batch, outputs = make_batch(stvg_sample, ['x#0'])
    disabled.after_val_iter(runner, 0, batch, outputs)
    assert vis_files(tmp_path, 8) == []

    # A test run without a training loop: step 0; ids with '/' become names.
    tester = HOOKS.build(dict(type='GroundingVisualizationHook', num_samples=1))
    tester.before_test_epoch(runner)
    batch, outputs = make_batch(stvg_sample, ['dir/clip 1#0', 'dir/clip 2#0'])
    tester.after_test_iter(runner, 0, batch, outputs)
    assert vis_files(tmp_path, 0) == ['dir_clip_1_0.png']


def test_hook_writes_videos_and_backend_images(tmp_path, stvg_sample):
    current_grounding_visualizer(
        line_width=3, vis_backends=[dict(type='LocalVisBackend')],
        save_dir=str(tmp_path / 'backend'))
    runner = fake_runner(tmp_path, iteration=5)
    hook = HOOKS.build(
        dict(type='GroundingVisualizationHook', num_samples=2, save_video=True))
    hook.before_val_epoch(runner)
    batch, outputs = make_batch(stvg_sample, ['a#0', 'a#1', 'a#2'])
    hook.after_val_iter(runner, 0, batch, outputs)
    assert vis_files(tmp_path, 5) == ['a_0.mp4', 'a_1.mp4']
    reader = decord.VideoReader(
        str(tmp_path / '20260101_000000' / 'vis' / '5' / 'a_0.mp4'))
    assert len(reader) == 4
    backend_dir = tmp_path / 'backend' / 'vis_data' / 'vis_image'
    assert sorted(os.listdir(backend_dir)) == ['val_a_0_5.png', 'val_a_1_5.png']


def test_hook_trims_time_padding_and_reports_missing_inputs(tmp_path, stvg_sample):
    current_grounding_visualizer()
    runner = fake_runner(tmp_path)
    hook = HOOKS.build(dict(type='GroundingVisualizationHook'))
    hook.before_val_epoch(runner)
    # Frames stacked to T_max = 6 (two padded frames) are cut to the 4 real ones.
    padded = torch.zeros(1, 6, 3, 48, 64, dtype=torch.uint8)
    hook.after_val_iter(runner, 0, dict(inputs=padded), [stvg_sample('p#0')])
    assert vis_files(tmp_path, 7) == ['p_0.png']
    with pytest.raises(KeyError, match='val data batch 1 has no "inputs"'):
        hook.after_val_iter(runner, 1, dict(data_samples=[]), [stvg_sample('q#0')])
    with pytest.raises(ValueError, match='interval must be >= 1'):
        HOOKS.build(dict(type='GroundingVisualizationHook', interval=0))


def test_hook_falls_back_to_grounding_visualizer_with_shared_backends(
        tmp_path, stvg_sample):
    _COUNTER[0] += 1
    plain = Visualizer.get_instance(
        f'plain_{_COUNTER[0]}', vis_backends=[dict(type='LocalVisBackend')],
        save_dir=str(tmp_path / 'plain'))
    hook = HOOKS.build(dict(type='GroundingVisualizationHook', num_samples=1))
    runner = fake_runner(tmp_path)
    hook.before_val_epoch(runner)
    batch, outputs = make_batch(stvg_sample, ['f#0'])
    with pytest.warns(UserWarning, match='GroundingVisualizer'):
        hook.after_val_iter(runner, 0, batch, outputs)
    assert vis_files(tmp_path, 7) == ['f_0.png']
    assert os.listdir(tmp_path / 'plain' / 'vis_data' / 'vis_image') == [
        'val_f_0_7.png'
    ]
    assert hook.visualizer._vis_backends is plain._vis_backends


# --------------------------------------------------------- a real Runner
class _FramesDataset(Dataset):
    """Three samples of black frames with the hand-made tubes."""

    def __init__(self, make_sample):
        self.make_sample = make_sample

    def __len__(self):
        return 3

    def __getitem__(self, index):
        sample = self.make_sample(f'r{index}#0')
        for key in [k for k in sample.keys() if k.startswith('pred_')]:
            delattr(sample, key)
        return dict(
            inputs=torch.zeros(4, 3, 48, 64, dtype=torch.uint8),
            data_samples=sample)


class _ShiftingModel(BaseModel):
    """Predicts the GT box shifted by 26 px to the right over the GT span."""

    def __init__(self):
        super().__init__()
        self.unused = torch.nn.Linear(1, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        for sample in data_samples:
            sample.pred_boxes = sample.gt_boxes + torch.tensor([26.0, 0, 26.0, 0])
            sample.pred_box_mask = sample.gt_box_mask.clone()
            sample.pred_span_frames = sample.gt_span_frames.clone()
        return data_samples


class _CountMetric(BaseMetric):

    def process(self, data_batch, data_samples):
        self.results.extend(data_samples)

    def compute_metrics(self, results):
        return dict(count=len(results))


def test_hook_in_a_runner_val_loop(tmp_path, stvg_sample):
    _COUNTER[0] += 1
    runner = Runner(
        model=_ShiftingModel(),
        work_dir=str(tmp_path),
        val_dataloader=DataLoader(
            _FramesDataset(stvg_sample), batch_size=2, collate_fn=pseudo_collate),
        val_cfg=dict(type='ValLoop'),
        val_evaluator=[_CountMetric()],
        default_scope='mmstvg',
        visualizer=dict(
            type='GroundingVisualizer', name=f'runner_vis_{_COUNTER[0]}',
            line_width=1),
        custom_hooks=[dict(type='GroundingVisualizationHook', num_samples=2)],
        default_hooks=dict(logger=None, checkpoint=None),
        log_level='WARNING',
        experiment_name=f'vis_runner_{_COUNTER[0]}')
    assert runner.val() == dict(count=3)
    folder = tmp_path / runner.timestamp / 'vis' / '0'
    assert sorted(os.listdir(folder)) == ['r0_0.png', 'r1_0.png']
    written = cv2.imread(str(folder / 'r0_0.png'))[..., ::-1]
    vis = runner.visualizer
    caption_h = vis.render_caption('the red ball rolls to the left',
                                   written.shape[1]).shape[0]
    # Frame 1 (cell (0, 1)): GT box from x = 10, predicted from x = 36.
    assert tuple(written[caption_h + 8, 64 + 2 + 10]) == GREEN
    assert tuple(written[caption_h + 8, 64 + 2 + 36]) == RED
    assert tuple(written[caption_h + 8, 10]) == (0, 0, 0)  # frame 0: nothing
