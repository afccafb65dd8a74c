"""Issue 32: missing videos were handled four different ways.

The dataset stopped at the first missing video (one run per missing file to
find them all); the dataset doctor's ``bad_videos.json`` did not list missing
videos at all (the dataset had skipped their samples before the doctor saw
them), so giving it to the dataset did not help; and its ``size_mismatch``
entries did not say which sizes differ. Now:

- the dataset's error names the missing file and counts the split's other
  missing videos (each path checked once with ``os.path.exists``, the first
  few named); with ``on_bad_sample='skip'`` they are skipped, counted and
  logged once;
- the doctor lists missing videos with reason ``'missing'`` (the dataset then
  skips them, counted), and a size mismatch gives both sizes.

Re-scoring a dump with every video moved away is
``test_rescoring.py::test_rescored_dump_gives_the_in_process_figures``.
"""
import importlib.util
import json
import os.path as osp

import decord
import pytest
from mmengine.logging import MMLogger

from mmstvg.datasets import GroundingDataError, HCSTVGDataset
from tests.test_datasets.conftest import hcstvg_entry, write_video

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PRESENT = ('v1.mp4', 'v3.mp4')
MISSING = ('gone2.mp4', 'gone4.mp4', 'gone5.mp4', 'gone6.mp4', 'gone7.mp4',
           'gone8.mp4', 'gone9.mp4')


@pytest.fixture
def split(tmp_path):
    """HC-STVG json of 9 samples: two videos on disk, seven missing."""
    videos = tmp_path / 'videos'
    videos.mkdir()
    for name in PRESENT:
        write_video(str(videos / name))
    names = ['v1.mp4', 'gone2.mp4', 'v3.mp4', *MISSING[1:]]
    ann = tmp_path / 'test.json'
    ann.write_text(json.dumps({name: hcstvg_entry(fps=10.0) for name in names}))
    return str(ann), str(videos)


def no_video_is_opened(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError('a video was opened')

    monkeypatch.setattr(decord, 'VideoReader', refuse)


def test_a_missing_video_error_counts_the_splits_other_missing_videos(split, monkeypatch):
    ann, videos = split
    no_video_is_opened(monkeypatch)
    with pytest.raises(GroundingDataError) as info:
        HCSTVGDataset(ann_file=ann, data_prefix=dict(video=videos))
    error = info.value
    assert error.field == 'video' and error.video_id == 'gone2.mp4'
    message = str(error)
    assert ann in message and f'video file {osp.join(videos, "gone2.mp4")} does not exist' \
        in message
    assert '6 other videos of this split are missing too (7 videos, 7 samples in all)' \
        in message
    named = [name for name in MISSING[1:] if osp.join(videos, name) in message]
    assert named == list(MISSING[1:6])  # the first five, then '...'
    assert message.count('...') == 1 and "on_bad_sample='skip'" in message


def test_a_single_missing_video_says_it_is_the_only_one(tmp_path):
    videos = tmp_path / 'videos'
    videos.mkdir()
    write_video(str(videos / 'v1.mp4'))
    ann = tmp_path / 'test.json'
    ann.write_text(json.dumps({name: hcstvg_entry(fps=10.0)
                               for name in ('v1.mp4', 'gone.mp4')}))
    with pytest.raises(GroundingDataError,
                       match='gone.mp4 does not exist; no other video of this split '
                             'is missing'):
        HCSTVGDataset(ann_file=str(ann), data_prefix=dict(video=str(videos)))


def test_skipped_missing_videos_are_counted_and_logged_once(split, monkeypatch):
    ann, videos = split
    warnings = []
    logger = MMLogger.get_current_instance()
    monkeypatch.setattr(logger, 'warning', warnings.append)
    dataset = HCSTVGDataset(ann_file=ann, data_prefix=dict(video=videos),
                            on_bad_sample='skip')
    assert len(dataset) == 2 and dataset.skipped == {'video': 7}
    assert sorted(dataset.missing_videos) == [osp.join(videos, n) for n in sorted(MISSING)]
    assert len(warnings) == 1
    assert 'skipped 7 of 9 entries' in warnings[0] and '7 videos missing (7 samples)' \
        in warnings[0]


def load_doctor():
    spec = importlib.util.spec_from_file_location(
        'check_dataset', osp.join(REPO_ROOT, 'tools', 'misc', 'check_dataset.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_doctor_lists_missing_videos_and_the_dataset_skips_them(split, tmp_path):
    ann, videos = split
    config = tmp_path / 'cfg.py'
    config.write_text(
        'test_dataloader = dict(dataset=dict(type="HCSTVGDataset", '
        f'ann_file={ann!r}, data_prefix=dict(video={videos!r}), pipeline=[]))\n')
    out = str(tmp_path / 'check')
    assert load_doctor().main([str(config), '--out-dir', out, '--workers', '1',
                               '--no-progress']) == 0
    report = json.load(open(osp.join(out, 'report.json')))
    assert report['counts'] == {'ok': 2, 'missing': 7} and report['num_bad'] == 7
    bad = json.load(open(osp.join(out, 'bad_videos.json')))['videos']
    assert sorted(bad) == [osp.join(videos, n) for n in sorted(MISSING)]
    assert {entry['reason'] for entry in bad.values()} == {'missing'}
    assert all(entry['samples'] == 1 for entry in bad.values())
    dataset = HCSTVGDataset(ann_file=ann, data_prefix=dict(video=videos),
                            bad_videos_file=osp.join(out, 'bad_videos.json'))
    assert len(dataset) == 2 and dataset.skipped == {'bad_videos_file': 7}
    # A missing video put back is looked for again by a resumed run.
    write_video(osp.join(videos, 'gone2.mp4'))
    load_doctor().main([str(config), '--out-dir', out, '--no-progress'])
    report = json.load(open(osp.join(out, 'report.json')))
    assert report['counts'] == {'ok': 3, 'missing': 6}


def test_a_size_mismatch_gives_both_sizes(tmp_path):
    videos = tmp_path / 'videos'
    videos.mkdir()
    write_video(str(videos / 'v1.mp4'), size=(32, 32))
    ann = tmp_path / 'test.json'
    ann.write_text(json.dumps({'v1.mp4': hcstvg_entry(fps=10.0, height=48, width=64)}))
    config = tmp_path / 'cfg.py'
    config.write_text(
        'test_dataloader = dict(dataset=dict(type="HCSTVGDataset", '
        f'ann_file={str(ann)!r}, data_prefix=dict(video={str(videos)!r}), pipeline=[]))\n')
    out = str(tmp_path / 'check')
    load_doctor().main([str(config), '--out-dir', out, '--no-progress'])
    [entry] = json.load(open(osp.join(out, 'bad_videos.json')))['videos'].values()
    assert entry['reason'] == 'size_mismatch'
    assert entry['annotated_size'] == [48, 64] and entry['decoded_size'] == [32, 32]
    assert 'the annotation says 48x64 (HxW), the video decodes 32x32' in entry['detail']
    with pytest.raises(GroundingDataError, match='48x64.*32x32'):
        HCSTVGDataset(ann_file=str(ann), data_prefix=dict(video=str(videos)),
                      bad_videos_file=osp.join(out, 'bad_videos.json'), on_bad_sample='error')
