"""Issue 32: the VidSTG converter wrote an empty file for a missing VidOR
folder (and the dataset then failed with mmengine's bare ``need at least one
array to concatenate``); the Charades-STA converter reported every video it
could not probe as a dropped line while keeping them all."""
import csv
import importlib.util
import json
import os.path as osp

import cv2
import numpy as np
import pytest

from mmstvg.datasets import CharadesSTADataset, VidSTGDataset  # noqa: F401 (registers)
from mmstvg.datasets.converters import convert_charades_sta, convert_vidstg
from mmstvg.datasets.validation import GroundingDataError

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def write_json(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))
    return str(path)


def write_video(path, num_frames, fps):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), fps, (32, 24))
    for i in range(num_frames):
        writer.write(np.full((24, 32, 3), 10 * i, dtype=np.uint8))
    writer.release()


def write_charades_csv(path, rows):
    """``Charades_v1_*.csv`` with the release's ``id`` and ``length`` columns."""
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=['id', 'scene', 'length'])
        writer.writeheader()
        for vid, length in rows:
            writer.writerow(dict(id=vid, scene='Kitchen', length=length))

ENTRY = dict(vid='123', frame_count=20, fps=10.0, width=32, height=32,
             used_segment=dict(begin_fid=2, end_fid=16),
             temporal_gt=dict(begin_fid=5, end_fid=10),
             captions=[dict(target_id=0, description='an adult walks.', type='adult')],
             questions=[])


@pytest.mark.parametrize('make_folder', [False, True])  # missing; empty
def test_vidstg_converter_refuses_a_missing_or_empty_vidor_folder(tmp_path, make_folder):
    raw = write_json(tmp_path / 'test_annotations.json', [ENTRY])
    vidor = tmp_path / 'vidor' / 'validation'
    if make_folder:
        vidor.mkdir(parents=True)
    out = tmp_path / 'test.json'
    with pytest.raises(FileNotFoundError, match="VidOR annotation folder .*validation") as info:
        convert_vidstg(raw, str(vidor), str(out), show_progress=False)
    assert str(vidor) in str(info.value) and "VidOR's" in str(info.value)
    assert not out.exists()
    spec = importlib.util.spec_from_file_location(
        'vidstg_converter_tool', osp.join(REPO_ROOT, 'tools', 'dataset_converters', 'vidstg.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    with pytest.raises(FileNotFoundError, match=str(vidor)):
        tool.main([raw, str(vidor), str(out), '--no-progress'])
    assert not out.exists()


def test_empty_annotation_file_names_the_file(tmp_path):
    ann = write_json(tmp_path / 'annotations' / 'test.json',
                     dict(videos=[], trajectories={}))
    with pytest.raises(GroundingDataError, match='holds no samples') as info:
        VidSTGDataset(ann_file=ann, data_prefix=dict(video=str(tmp_path)))
    assert ann in str(info.value)


def test_charades_sta_unprobed_videos_are_not_dropped_lines(tmp_path):
    split = tmp_path / 'charades_sta_test.txt'
    split.write_text('AO8RW 0.0 1.2##a person opens a door.\n'
                     'BBBBB 0.5 1.0##a person sits.\n'
                     'BBBBB 0.2 0.9##a person stands.\n')
    table = tmp_path / 'Charades_v1_test.csv'
    write_charades_csv(str(table), [('AO8RW', 1.5), ('BBBBB', 3.0)])
    videos = tmp_path / 'videos'
    videos.mkdir()
    write_video(videos / 'AO8RW.mp4', num_frames=20, fps=10.0)  # BBBBB is missing
    meta_file = tmp_path / 'video_meta.json'
    report = convert_charades_sta([str(split)], [str(table)], str(meta_file),
                                  video_dir=str(videos), show_progress=False)
    meta = json.loads(meta_file.read_text())
    assert sorted(meta) == ['AO8RW', 'BBBBB'] and meta['BBBBB'] == dict(length=3.0)
    assert report.kept == 3 and report.num_dropped == 0
    summary = report.summary()
    assert 'kept 3, dropped 0' in summary and 'dropped 1' not in summary
    assert 'videos not probed, video missing (kept in the meta' in summary
    assert ('videos probed: 1' in summary and
            [c for w, c in report.notes.items() if w.startswith('videos not probed')] == [1])
    with pytest.raises(FileNotFoundError, match='video_dir .*nowhere'):
        convert_charades_sta([str(split)], [str(table)], str(meta_file),
                             video_dir=str(tmp_path / 'nowhere'), show_progress=False)
