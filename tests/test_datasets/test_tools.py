"""The converter, browse and benchmark tools run end to end on a tiny set."""
import json
import os
import os.path as osp
import runpy
import sys

import cv2
import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def run_tool(path, argv, monkeypatch):
    monkeypatch.setattr(sys, 'argv', [path] + argv)
    runpy.run_path(osp.join(REPO, path), run_name='__main__')


@pytest.fixture(scope='module')
def tiny_set(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('tiny'))
    monkeypatch = pytest.MonkeyPatch()
    run_tool('tools/dataset_converters/generate_synthetic_stvg.py',
             ['--out-dir', root, '--num-train', '3', '--num-val', '1', '--size', '32',
              '--min-frames', '12', '--max-frames', '14', '--no-rec'], monkeypatch)
    monkeypatch.undo()
    return root


def options(root):
    return ['--cfg-options', f'train_dataloader.dataset.data_root={root}',
            'train_dataloader.dataset.pipeline.1.num_frames=4',
            'train_dataloader.batch_size=1']


def test_browse_dataset_writes_a_grid(tiny_set, tmp_path, monkeypatch):
    out = str(tmp_path / 'browse')
    run_tool('tools/analysis_tools/browse_dataset.py',
             [osp.join(REPO, 'configs/_base_/datasets/synthetic_stvg.py'),
              '--output-dir', out, '--num-samples', '2'] + options(tiny_set),
             monkeypatch)
    assert sorted(os.listdir(out)) == ['00000_synth_train_00000.mp4_0.png',
                                       '00001_synth_train_00001.mp4_0.png']
    picture = cv2.imread(osp.join(out, '00000_synth_train_00000.mp4_0.png'))
    assert picture is not None and picture.shape[0] > 32 and picture.shape[1] > 64


def test_benchmark_prints_ratio(tiny_set, monkeypatch, capsys):
    run_tool('tools/analysis_tools/benchmark_dataloader.py',
             [osp.join(REPO, 'configs/_base_/datasets/synthetic_stvg.py'),
              '--num-samples', '3', '--num-workers', '0', '--repeats', '2']
             + options(tiny_set),
             monkeypatch)
    lines = capsys.readouterr().out.strip().splitlines()
    assert sum(line.startswith('round ') for line in lines) == 2
    last = lines[-1]
    figures = json.loads(last)
    assert figures['ratio_vs_raw_decord'] > 0
    assert figures['pipeline_frames_per_s'] == pytest.approx(
        4 * figures['pipeline_samples_per_s'], rel=1e-2)
    # the CPU ratio is a number, or None where a CPU time read zero ticks
    ratio = figures['cpu_ratio_vs_raw_decord']
    read_zero = min(figures['pipeline_cpu_s_per_sample'],
                    figures['raw_decord_cpu_s_per_sample']) <= 0
    assert (ratio is None) if read_zero else ratio > 0


def test_cpu_ratio_is_none_below_the_clock_tick():
    """A machine whose clock reads 0 s for a short run gets no ratio (the CI
    failure of 7 Dec 2026 was a ZeroDivisionError here)."""
    tool = runpy.run_path(osp.join(REPO, 'tools/analysis_tools/benchmark_dataloader.py'))
    assert tool['cpu_ratio'](0.02, 0.0) is None
    assert tool['cpu_ratio'](0.0, 0.01) is None
    assert tool['cpu_ratio'](0.03, 0.01) == 3.0


def test_probe_video_meta_matches_generator(tiny_set, tmp_path, monkeypatch):
    out = str(tmp_path / 'meta.json')
    run_tool('tools/dataset_converters/probe_video_meta.py',
             [osp.join(tiny_set, 'videos'), out], monkeypatch)
    with open(out) as f:
        probed = json.load(f)
    with open(osp.join(tiny_set, 'annotations', 'video_meta.json')) as f:
        written = json.load(f)
    assert set(probed) == set(written) and len(probed) == 4
    for vid, meta in written.items():
        assert probed[vid]['num_frames'] == meta['num_frames']
        assert probed[vid]['fps'] == pytest.approx(meta['fps'])
        assert (probed[vid]['height'], probed[vid]['width']) == (32, 32)
