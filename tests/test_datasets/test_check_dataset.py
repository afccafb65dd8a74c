"""tools/misc/check_dataset.py: decodes every video, reconciles it with the
annotation, resumes, and writes the bad-videos list the dataset reads."""
import importlib.util
import json
import os.path as osp

import pytest

from mmstvg.datasets import HCSTVGDataset
from mmstvg.datasets.video_check import decode_video, reconcile

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'check_dataset', osp.join(REPO, 'tools', 'misc', 'check_dataset.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def broken_set(tmp_path, helpers):
    videos = tmp_path / 'videos'
    videos.mkdir()
    helpers['write_video'](str(videos / 'good.mp4'), num_frames=20)
    helpers['write_video'](str(videos / 'short.mp4'), num_frames=10)
    (videos / 'corrupt.mp4').write_bytes(b'\x00not a video' * 50)
    entry = helpers['hcstvg_entry'](fps=10.0)
    ann = helpers['write_json'](str(tmp_path / 'test.json'), {
        'good.mp4': entry, 'short.mp4': entry, 'corrupt.mp4': entry})
    config = tmp_path / 'cfg.py'
    config.write_text(
        'test_dataloader = dict(dataset=dict(type="HCSTVGDataset", '
        f'ann_file={ann!r}, data_prefix=dict(video={str(videos)!r}), '
        'pipeline=[]))\n')
    return tmp_path, str(config), ann, str(videos)


def test_decode_and_reconcile(broken_set):
    _, _, _, videos = broken_set
    good = decode_video(osp.join(videos, 'good.mp4'))
    assert good['decoded_frames'] == 20 and good['error'] is None
    assert (good['height'], good['width']) == (32, 32)
    annotated = dict(num_frames=20, fps=10.0, height=32, width=32)
    assert reconcile(good, annotated) == []
    assert reconcile(good, dict(annotated, fps=25.0)) == ['fps_mismatch']
    short = decode_video(osp.join(videos, 'short.mp4'))
    assert reconcile(short, annotated) == ['short']
    corrupt = decode_video(osp.join(videos, 'corrupt.mp4'))
    assert corrupt['error'] and reconcile(corrupt, annotated) == ['unreadable']


def test_report_resume_and_bad_videos_file(broken_set, capsys):
    tmp_path, config, ann, videos = broken_set
    tool = load_tool()
    out = str(tmp_path / 'check')
    argv = [config, '--out-dir', out, '--workers', '2', '--no-progress']
    assert tool.main(argv) == 0
    report = json.load(open(osp.join(out, 'report.json')))
    assert report['num_videos'] == 3 and report['num_bad'] == 2
    assert report['counts'] == {'ok': 1, 'short': 1, 'unreadable': 1}
    bad = json.load(open(osp.join(out, 'bad_videos.json')))['videos']
    assert {osp.basename(p): v['reason'] for p, v in bad.items()} == {
        'short.mp4': 'short', 'corrupt.mp4': 'unreadable'}
    assert bad[osp.join(videos, 'short.mp4')]['decoded_frames'] == 10
    assert '2 bad videos (2 samples)' in capsys.readouterr().out
    # Resumable: a rerun decodes nothing again.
    lines = open(osp.join(out, 'decoded.jsonl')).read().splitlines()
    assert len(lines) == 3
    assert tool.main(argv) == 0
    assert open(osp.join(out, 'decoded.jsonl')).read().splitlines() == lines
    # The dataset reads the list: both bad videos skipped and counted.
    bad_file = osp.join(out, 'bad_videos.json')
    dataset = HCSTVGDataset(ann_file=ann, data_prefix=dict(video=videos),
                            bad_videos_file=bad_file)
    assert len(dataset) == 1 and dataset.skipped['bad_videos_file'] == 2
    clipped = HCSTVGDataset(ann_file=ann, data_prefix=dict(video=videos),
                            bad_videos_file=bad_file, short_video='clip')
    assert len(clipped) == 2
    assert [clipped.get_data_info(i)['num_frames'] for i in range(2)] == [20, 10]
