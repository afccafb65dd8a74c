"""Each converter on a small fixture in the exact public format, then the
dataset class on what it wrote; counts per drop reason; ``--help`` of every
command line."""
import csv
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from mmstvg.datasets import (CharadesSTADataset, DiDeMoDataset, HCSTVGDataset,
                             HCSTVGv2Dataset, RefCOCODataset, TACoSDataset,
                             VidSTGDataset)
from mmstvg.datasets.converters import (convert_charades_sta, convert_didemo,
                                        convert_hcstvg, convert_refcoco,
                                        convert_tacos, convert_vidstg)

from conftest import write_json, write_video  # noqa: E402 (rootdir conftest)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONVERTERS = ('vidstg', 'hcstvg', 'charades_sta', 'refcoco', 'didemo', 'tacos')


@pytest.mark.parametrize('name', CONVERTERS)
def test_help(name):
    out = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'dataset_converters',
                                  f'{name}.py'), '--help'],
        capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert 'usage:' in out.stdout and 'Example' in out.stdout


def vidor_file(vid, path, boxes_by_frame, frame_count=20):
    """A VidOR per-video annotation: ``trajectories`` is a list with one
    entry per frame, each a list of ``{"tid", "bbox": {"xmin", "ymin",
    "xmax", "ymax"}, "generated", "tracker"}``."""
    trajectories = [[] for _ in range(frame_count)]
    for frame, (tid, box) in boxes_by_frame:
        trajectories[frame].append(dict(
            tid=tid, bbox=dict(xmin=box[0], ymin=box[1], xmax=box[2],
                               ymax=box[3]), generated=0, tracker='none'))
    return dict(version='VERSION 1.0', video_id=vid, video_hash='abc',
                video_path=path, frame_count=frame_count, fps=10.0, width=32,
                height=32, **{'subject/objects': [
                    dict(tid=0, category='adult'), dict(tid=1, category='dog')]},
                trajectories=trajectories, relation_instances=[])


def test_vidstg(tmp_path):
    """Fixture format: VidSTG's ``*_annotations.json`` (a list; ``vid``,
    ``frame_count``, ``fps``, ``width``, ``height``, ``used_segment`` /
    ``temporal_gt`` with ``begin_fid`` / ``end_fid``, ``captions`` and
    ``questions`` of ``{"target_id", "description", "type"}``) and VidOR's
    per-video files, as TubeDETR's ``preproc/preproc_vidstg.py`` reads them
    (the VidSTG / VidOR READMEs give the same keys)."""
    vidor = tmp_path / 'vidor' / 'validation' / '0000'
    vidor.mkdir(parents=True)
    boxes = [(f, (0, [1 + f, 2, 11 + f, 12])) for f in range(4, 12)] + \
        [(f, (1, [0, 0, 5, 5])) for f in range(4, 8)]  # dog: frames 4..7
    write_json(str(vidor / '123.json'),
               vidor_file('123', '0000/123.mp4', boxes))
    entry = dict(vid='123', frame_count=20, fps=10.0, width=32, height=32,
                 used_segment=dict(begin_fid=2, end_fid=16),
                 temporal_gt=dict(begin_fid=5, end_fid=10),
                 captions=[dict(target_id=0, description='an adult walks.',
                                type='adult')],
                 questions=[dict(target_id=0, description='who walks?',
                                 type='adult'),
                            dict(target_id=1, description='what runs?',
                                 type='dog')])  # dog has no box at 8, 9
    other = dict(entry, vid='999')  # no VidOR file
    raw = write_json(str(tmp_path / 'test_annotations.json'), [entry, other])
    out = str(tmp_path / 'vidstg' / 'annotations' / 'test.json')
    report = convert_vidstg(raw, str(tmp_path / 'vidor' / 'validation'), out,
                            show_progress=False)
    assert report.kept == 2 and report.num_dropped == 4
    assert report.dropped['frames of temporal_gt without a box'] == 1
    assert sum(v for k, v in report.dropped.items()
               if k.startswith('video not in')) == 3
    assert 'kept 2, dropped 4' in report.summary()
    video_root = tmp_path / 'vidstg' / 'video' / '0000'
    video_root.mkdir(parents=True)
    write_video(str(video_root / '123.mp4'))
    dataset = VidSTGDataset(ann_file=out,
                            data_prefix=dict(video=str(video_root.parent)))
    assert len(dataset) == 2
    info = dataset.get_data_info(0)
    assert info['qtype'] == 'interrogative' and info['sentence'] == 'who walks?'
    assert info['gt_span_frames'] == [5, 10] and info['clip_span_frames'] == [2, 16]
    # VidOR's xyxy boxes: frame 5 is [6, 2, 16, 12].
    np.testing.assert_allclose(info['gt_tube_boxes'][0], [6, 2, 16, 12])
    assert dataset.get_data_info(1)['qtype'] == 'declarative'


def test_hcstvg_v1_and_v2(tmp_path, helpers):
    """Fixture format: HC-STVG's README (v1: ``st_frame`` 1-based, ``bbox``
    xywh per frame, ``img_num``, ``caption``, ``width``, ``height``,
    ``st_time``, ``ed_time``; v2: ``English`` and ``img_size=[h, w]``)."""
    videos = tmp_path / 'videos' / 'sub'
    videos.mkdir(parents=True)
    write_video(str(videos / 'a.mp4'), num_frames=20, fps=10.0)
    write_video(str(videos / 'short.mp4'), num_frames=10, fps=10.0)
    good = helpers['hcstvg_entry']()
    raw = {'a.mp4': good, 'short.mp4': good, 'nowhere.mp4': good,
           'typed.mp4': dict(good, img_num='forty'),
           'list.mp4': dict(good, caption=['a', 'list'])}
    ann = write_json(str(tmp_path / 'train.json'), raw)
    out = str(tmp_path / 'out' / 'train.json')
    report = convert_hcstvg(ann, out, version=1,
                            video_dir=str(tmp_path / 'videos'),
                            show_progress=False)
    assert report.kept == 1
    assert report.dropped == {'img_num is not an integer': 1,
                              'caption is not a non-empty string': 1,
                              'video missing': 1,
                              'video decodes fewer frames than img_num': 1}
    converted = json.load(open(out))
    assert list(converted) == ['a.mp4'] and converted['a.mp4']['fps'] == 10.0
    dataset = HCSTVGDataset(ann_file=out,
                            data_prefix=dict(video=str(tmp_path / 'videos')))
    assert len(dataset) == 1 and dataset.get_data_info(0)['fps'] == 10.0

    v2 = {k: v for k, v in good.items()
          if k not in ('caption', 'width', 'height')}
    v2.update(English='a man waves', img_size=[32, 32])
    ann2 = write_json(str(tmp_path / 'valv2.json'),
                      {'a.mp4': v2, 'b.mp4': dict(v2, img_size=[32])})
    out2 = str(tmp_path / 'out' / 'valv2.json')
    report = convert_hcstvg(ann2, out2, version=2, show_progress=False)
    assert report.kept == 1
    assert report.dropped == {'frame size is not two positive integers': 1}
    dataset = HCSTVGv2Dataset(ann_file=out2,
                              data_prefix=dict(video=str(tmp_path / 'videos')))
    assert dataset.get_data_info(0)['sentence'] == 'a man waves'


def write_charades_csv(path, rows):
    """``Charades_v1_*.csv``: the columns of the Charades release."""
    fields = ['id', 'subject', 'scene', 'quality', 'relevance', 'verified',
              'script', 'objects', 'descriptions', 'actions', 'length']
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for vid, length in rows:
            writer.writerow(dict(id=vid, subject='S1', scene='Kitchen',
                                 quality=6, relevance=7, verified='Yes',
                                 script='A person ...', objects='door',
                                 descriptions='A person ...',
                                 actions='c001 0.0 1.5', length=length))


def test_charades_sta(tmp_path):
    """Fixture format: Charades-STA's ``charades_sta_test.txt`` (``VID start
    end##sentence``, as 2D-TAN's ``data/Charades-STA`` ships it) and
    Charades' ``Charades_v1_test.csv`` (the ``length`` column in seconds)."""
    videos = tmp_path / 'Charades_v1_480'
    videos.mkdir()
    write_video(str(videos / 'AO8RW.mp4'), num_frames=20, fps=10.0)
    split = tmp_path / 'charades_sta_test.txt'
    split.write_text('AO8RW 0.0 1.2##a person is putting a book on a shelf.\n'
                     'AO8RW 0.5 1.9##the person opens the door.\n'
                     'AO8RW 1.8 2.5##person turns off the light.\n'
                     'ZZZZZ 1.0 2.0##not in the csv.\n'
                     'broken line\n')
    table = tmp_path / 'Charades_v1_test.csv'
    write_charades_csv(str(table), [('AO8RW', 1.5)])  # shorter than 2.0 s
    meta = str(tmp_path / 'video_meta.json')
    report = convert_charades_sta([str(split)], [str(table)], meta,
                                  video_dir=str(videos), show_progress=False)
    assert report.kept == 3 and report.dropped == {
        'video not in the csv files': 1, 'malformed line': 1}
    content = json.load(open(meta))
    assert content['AO8RW']['length'] == 1.5
    assert content['AO8RW']['num_frames'] == 20
    kwargs = dict(ann_file=str(split), meta_file=meta,
                  data_prefix=dict(video=str(videos)), on_bad_sample='skip')
    # 2D-TAN's protocol: clip to the csv length (1.5 s); the third line
    # starts after it and is dropped.
    dataset = CharadesSTADataset(clip_end_to='length', **kwargs)
    assert len(dataset) == 2 and dataset.num_dropped == 1
    assert dataset.get_data_info(1)['gt_span_seconds'] == (0.5, 1.5)
    assert dataset.skipped == {'line': 1, 'video': 1}
    # Clipped to the decoded video (2.0 s) instead.
    dataset = CharadesSTADataset(clip_end_to='video', **kwargs)
    assert len(dataset) == 3
    assert dataset.get_data_info(1)['gt_span_seconds'] == (0.5, 1.9)


def test_refcoco(tmp_path):
    """Fixture format: MDETR's ``final_refcoco_testA.json`` (COCO-style;
    ``images`` entries are (image, expression) pairs with ``file_name``,
    ``height``, ``width``, ``id``, ``caption``, ``dataset_name``,
    ``original_id``, ``tokens_negative``; ``annotations`` with ``image_id``,
    ``bbox`` xywh, ``category_id``, ``tokens_positive``, ``area``,
    ``iscrowd``)."""
    images = tmp_path / 'train2014'
    images.mkdir()
    import cv2
    cv2.imwrite(str(images / 'COCO_train2014_000000000001.jpg'),
                np.zeros((40, 50, 3), np.uint8))

    def image(i, caption='the man on the left'):
        return dict(file_name='COCO_train2014_000000000001.jpg', height=40,
                    width=50, id=i, original_id=1, caption=caption,
                    dataset_name='refcoco', tokens_negative=[[0, 3]])

    def ann(i, image_id, bbox):
        return dict(area=100.0, iscrowd=0, image_id=image_id, category_id=1,
                    id=i, bbox=bbox, tokens_positive=[[4, 7]])

    coco = dict(images=[image(0), image(1), image(2, caption=['x'])],
                annotations=[ann(0, 0, [5, 5, 10, 10]), ann(1, 1, [5, 5, 0, 4]),
                             ann(2, 2, [1, 1, 4, 4])],
                categories=[dict(id=1, name='person')])
    raw = write_json(str(tmp_path / 'final_refcoco_testA.json'), coco)
    out = str(tmp_path / 'out' / 'final_refcoco_testA.json')
    report = convert_refcoco(raw, out, image_dir=str(images),
                             show_progress=False)
    assert report.kept == 1 and report.dropped == {
        'bbox is not [x, y, w, h] of positive size': 1,
        'caption is not a non-empty string': 1}
    dataset = RefCOCODataset(ann_file=out, data_prefix=dict(video=str(images)))
    np.testing.assert_allclose(dataset.get_data_info(0)['gt_tube_boxes'],
                               [[5, 5, 15, 15]])


def test_didemo(tmp_path):
    """Fixture format: DiDeMo's ``test_data.json`` (LocalizingMoments'
    ``data/``: a list of ``{"annotation_id", "description", "video",
    "times" (inclusive 5-s segment indices, one pair per annotator),
    "download_link", "num_segments"}``)."""
    videos = tmp_path / 'videos'
    videos.mkdir()
    name = '12090392@N02_13482799053_87ef417396'
    write_video(str(videos / f'{name}.mp4'), num_frames=60, fps=2.0,
                frames=np.zeros((60, 32, 32, 3), np.uint8))  # 30 s
    entries = [
        dict(annotation_id=7, description='the dog jumps.', video=f'{name}.mov',
             times=[[0, 0], [0, 0], [0, 1], [5, 5]], download_link='http://x',
             num_segments=6),
        dict(annotation_id=8, description='', video=f'{name}.mov',
             times=[[1, 1]], download_link='http://x', num_segments=6),
        dict(annotation_id=9, description='a car.', video=f'{name}.mov',
             times=[[2, 1]], download_link='http://x', num_segments=6),
    ]
    raw = write_json(str(tmp_path / 'test_data.json'), entries)
    out = str(tmp_path / 'annotations' / 'test.json')
    report = convert_didemo(raw, out, video_dir=str(videos), video_ext='.mp4',
                            show_progress=False)
    assert report.kept == 1 and report.dropped == {
        'description is not a non-empty string': 1,
        'times is not a list of [start, end] segment indices': 1}
    dataset = DiDeMoDataset(ann_file=out, data_prefix=dict(video=str(videos)))
    info = dataset.get_data_info(0)
    assert info['sample_id'] == f'{name}#7' and info['task'] == 'tvg'
    # The moment two annotators chose: segment 0 = [0, 5) s = frames [0, 10).
    assert info['gt_span_seconds'] == (0.0, 5.0)
    assert info['gt_span_frames'] == [0, 10]
    np.testing.assert_allclose(info['gt_spans_seconds_all'],
                               [[0, 5], [0, 5], [0, 10], [25, 30]])


def test_tacos(tmp_path):
    """Fixture format: 2D-TAN's ``data/TACoS/test.json`` (a dict keyed by the
    video file with ``num_frames``, ``fps``, ``timestamps`` in frames and
    ``sentences``; MMN reads the same file)."""
    videos = tmp_path / 'videos'
    videos.mkdir()
    write_video(str(videos / 's13-d21.avi'), num_frames=40, fps=10.0,
                frames=np.zeros((40, 32, 32, 3), np.uint8))
    raw = write_json(str(tmp_path / 'test.json'), {
        's13-d21.avi': dict(num_frames=40, fps=10.0,
                            timestamps=[[5, 20], [30, 55], [12, 12]],
                            sentences=['He takes out a knife.',
                                       'He cuts the cucumber.',
                                       'He washes it.']),
        's99-d99.avi': dict(num_frames=40, fps=0, timestamps=[[1, 2]],
                            sentences=['x'])})
    out = str(tmp_path / 'annotations' / 'test.json')
    report = convert_tacos(raw, out, video_dir=str(videos), show_progress=False)
    assert report.kept == 2 and report.dropped == {
        'empty span': 1, 'fps / num_frames not positive numbers': 1}
    assert report.notes['spans clipped to the video length'] == 1
    dataset = TACoSDataset(ann_file=out, data_prefix=dict(video=str(videos)))
    assert len(dataset) == 2
    assert dataset.get_data_info(0)['gt_span_seconds'] == (0.5, 2.0)
    assert dataset.get_data_info(0)['gt_span_frames'] == [5, 20]
    assert dataset.get_data_info(1)['gt_span_seconds'] == (3.0, 4.0)
    assert dataset.get_data_info(0)['height'] == 32
