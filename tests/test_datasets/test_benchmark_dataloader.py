"""benchmark_dataloader.py's real-size mode on tiny videos: it writes h264
videos with PyAV, measures the pipeline against raw decord, compares the
decoders and checks the worker's memory. No timing is asserted: only that
the figures come out, finite and positive, and that the decoders read the
same frames."""
import json
import math
import os
import os.path as osp
import runpy
import sys

import numpy as np
import pytest

pytest.importorskip('av')
decord = pytest.importorskip('decord')

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools/analysis_tools/benchmark_dataloader.py')
CONFIG = osp.join(REPO, 'configs/_base_/datasets/hcstvg_v1.py')


@pytest.fixture(scope='module')
def tool():
    return runpy.run_path(TOOL)


def _positive(value):
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def test_real_size_run_prints_sane_figures(tmp_path, monkeypatch, capsys):
    argv = [CONFIG, '--split', 'test', '--videos', '64x36', '96x54',
            '--video-seconds', '1', '--num-videos', '2', '--num-samples', '3',
            '--num-workers', '1', '--repeats', '1', '--method-samples', '1',
            '--rss-samples', '6', '--rss-every', '2', '--rss-warmup', '2',
            '--video-dir', str(tmp_path / 'videos'),
            '--cfg-options', 'test_dataloader.dataset.pipeline.1.num_frames=8']
    monkeypatch.setattr(sys, 'argv', [TOOL] + argv)
    runpy.run_path(TOOL, run_name='__main__')
    out = capsys.readouterr().out.strip().splitlines()
    report = json.loads(out[-1])
    assert sorted(report['sizes']) == ['64x36', '96x54']
    for size, figures in report['sizes'].items():
        for key in ('pipeline_samples_per_s', 'pipeline_samples_per_s_per_worker',
                    'raw_decord_samples_per_s', 'ratio_vs_raw_decord',
                    'ratio_per_worker_vs_raw_decord', 'cpu_ratio_vs_raw_decord',
                    'pipeline_cpu_s_per_sample', 'video_kbit_per_s'):
            assert _positive(figures[key]), (size, key, figures[key])
        # 8 frames a sample, 1 worker: frames/s and samples/s agree
        assert figures['pipeline_frames_per_s'] == pytest.approx(
            8 * figures['pipeline_samples_per_s'], rel=1e-2)
        assert figures['decord_threads'] == 2  # the config's GroundingDecordInit
        decoders = figures['decoders']
        assert decoders['decord+resize']['ratio_vs_reference'] == 1.0
        for name in ('decord@target', 'pyav+resize', 'pyav@target'):
            assert decoders[name]['installed'] and _positive(
                decoders[name]['samples_per_s']), name
            assert decoders[name]['shape'] == [8, 384, 384, 3]  # the pipeline's resize
        # PyAV finds the same frames as decord (the same FFmpeg conversion)
        assert decoders['pyav+resize']['mean_abs_diff'] < 1.0
        assert 'torchcodec+resize' in decoders
        assert any(line.endswith('met)') for line in out
                   if line.startswith(f'[{size}] ratio to raw decord'))
    rss = report['rss']
    assert rss['size'] == '64x36' and rss['samples'] == 6
    assert [count for count, _ in rss['readings']] == [2, 4, 6]
    assert all(_positive(mib) for _, mib in rss['readings'])
    assert math.isfinite(rss['worker_growth_mib']) and isinstance(rss['flat'], bool)
    assert _positive(rss['main_rss_mib_final'])


def test_videos_are_written_once_and_readable(tool, tmp_path):
    args = tool['parse_args']([CONFIG, '--video-seconds', '0.4', '--num-videos', '1',
                               '--video-fps', '10'])
    [video] = tool['prepare_videos'](str(tmp_path), 32, 24, args)
    mtime = os.stat(video['path']).st_mtime_ns
    reader = decord.VideoReader(video['path'])
    assert len(reader) == video['num_frames'] == 4
    assert reader[0].shape == (24, 32, 3) and reader.get_avg_fps() == 10
    assert _positive(video['kbit_per_s'])
    tool['prepare_videos'](str(tmp_path), 32, 24, args)
    assert os.stat(video['path']).st_mtime_ns == mtime  # kept: same parameters


def test_pyav_decodes_the_frames_decord_does(tool, tmp_path):
    path = str(tmp_path / 'gop.mp4')
    # keyframes every 5 frames: the PyAV reader seeks before decoding
    tool['write_video'](path, 64, 36, num_frames=30, fps=25, gop=5)
    inds = [17, 3, 17, 29, 12]  # unsorted, repeated
    expected = decord.VideoReader(path, num_threads=1).get_batch(inds).asnumpy()
    frames = tool['decode_pyav'](path, inds)
    assert frames.shape == expected.shape
    assert np.abs(frames.astype(int) - expected.astype(int)).mean() < 1.0
    small = tool['decode_pyav'](path, inds, size=(32, 18))
    assert small.shape == (5, 18, 32, 3)
    with pytest.raises(RuntimeError, match='did not decode'):
        tool['decode_pyav'](path, [40])


@pytest.mark.parametrize('text', ['641x360', '640', '0x2', 'axb'])
def test_sizes_must_be_even_and_positive(tool, text):
    import argparse
    with pytest.raises(argparse.ArgumentTypeError):
        tool['parse_size'](text)
