"""A converter that kept no entry wrote an empty annotation file and exited 0.

Every converter (DiDeMo, TACoS, HC-STVG, RefCOCO, VidSTG, Charades-STA) fed
an input whose every entry is malformed, or whose every video is elsewhere
(VidOR's other split), printed ``kept 0, dropped N`` and wrote
``{"videos": {}, "annotations": []}`` (or ``{}``) with exit status 0; the
dataset then failed later, far from the cause. Now the conversion raises
naming the input file and ``'<all entries>'`` (the counts per reason in the
message) and writes nothing.
"""
import importlib.util
import json
import os.path as osp

import pytest

from mmstvg.datasets.converters import (convert_charades_sta, convert_didemo,
                                        convert_hcstvg, convert_refcoco,
                                        convert_tacos, convert_vidstg)
from mmstvg.datasets.validation import GroundingDataError

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def write(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return str(path)


def didemo(tmp_path, out):
    raw = write(tmp_path / 'test_data.json',
                [dict(annotation_id=1, description='a dog runs.')])
    return raw, lambda: convert_didemo(raw, out, show_progress=False)


def tacos(tmp_path, out):
    raw = write(tmp_path / 'test.json', {'s13-d21.avi': dict(fps=29.4)})
    return raw, lambda: convert_tacos(raw, out, show_progress=False)


def hcstvg(tmp_path, out):
    raw = write(tmp_path / 'test.json', {'1_a.mp4': dict(st_frame=1)})
    return raw, lambda: convert_hcstvg(raw, out, show_progress=False)


def refcoco(tmp_path, out):
    raw = write(tmp_path / 'final_refcoco_val.json',
                dict(images=[dict(id=1, caption='the left man')], annotations=[]))
    return raw, lambda: convert_refcoco(raw, out, show_progress=False)


def vidstg(tmp_path, out):
    # VidOR's other split: the folder holds files, none of this split's videos.
    write(tmp_path / 'vidor' / '0000' / '999.json', dict(video_id='999'))
    raw = write(tmp_path / 'test_annotations.json', [dict(
        vid='123', frame_count=20, fps=10.0, width=32, height=32,
        used_segment=dict(begin_fid=2, end_fid=16),
        temporal_gt=dict(begin_fid=5, end_fid=10),
        captions=[dict(target_id=0, description='an adult walks.')],
        questions=[])])
    return raw, lambda: convert_vidstg(raw, str(tmp_path / 'vidor'), out,
                                       show_progress=False)


def charades(tmp_path, out):
    raw = write(tmp_path / 'charades_sta_test.txt',
                'AO8RW 0.0 1.2 a person opens a door.\n')  # no "##"
    table = write(tmp_path / 'Charades_v1_test.csv', 'id,length\nAO8RW,30.0\n')
    return raw, lambda: convert_charades_sta([raw], [table], out,
                                             show_progress=False)


@pytest.mark.parametrize('make', [didemo, tacos, hcstvg, refcoco, vidstg,
                                  charades])
def test_a_conversion_that_keeps_nothing_writes_nothing(tmp_path, make):
    out = tmp_path / 'annotations' / 'out.json'
    raw, convert = make(tmp_path, str(out))
    with pytest.raises(GroundingDataError, match='no entry was kept') as info:
        convert()
    message = str(info.value)
    assert raw in message and 'kept 0, dropped' in message
    assert info.value.field in ('<all entries>', '<all lines>', 'images')
    assert not out.exists()


def test_the_tool_fails_instead_of_exiting_0(tmp_path):
    out = tmp_path / 'out.json'
    raw, _ = didemo(tmp_path, str(out))
    spec = importlib.util.spec_from_file_location(
        'didemo_converter_tool',
        osp.join(REPO_ROOT, 'tools', 'dataset_converters', 'didemo.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    with pytest.raises(GroundingDataError, match="field '<all entries>'"):
        tool.main([raw, str(out), '--no-progress'])
    assert not out.exists()


def test_the_construction_tool_that_keeps_no_video_fails(tmp_path):
    """tools/data_construction/build_stvg.py whose every video failed (a wrong
    video_root) or was dropped wrote ``{}`` as the annotation file and exited
    0; now it raises naming the caption list, the counts and a first reason,
    writes the report (every video's reason) and no annotation file."""
    captions = write(tmp_path / 'captions.json',
                     [dict(video='a.mp4', caption='the red ball moves'),
                      dict(video='b.mp4', caption='nothing to pick here')])
    config = write(tmp_path / 'build.py', '\n'.join([
        f"source = dict(ann_file={captions!r}, video_root={str(tmp_path / 'nowhere')!r}, "
        "format='list')",
        "object_picker = dict(type='RegexObjectPicker', "
        "pattern=r'^(?P<object>the \\w+ \\w+) moves')",
        "detector = dict(type='ColourBlobDetector')",
        'construction_filters = []',
        f"work_dir = {str(tmp_path / 'work')!r}",
        "custom_imports = dict(imports=['tests.test_data_construction.fake_parts'])"]))
    import tests.test_data_construction.fake_parts  # noqa: F401 (registers the detector)
    spec = importlib.util.spec_from_file_location(
        'build_stvg_tool', osp.join(REPO_ROOT, 'tools', 'data_construction', 'build_stvg.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    with pytest.raises(ValueError) as info:
        tool.main([config, '--no-progress'])
    message = str(info.value)
    assert message.startswith(f'{captions}: the construction kept none of its 2 video(s) '
                              '(1 failed, 1 dropped by object_picker: 1); no annotation '
                              'file is written')
    assert (f"The first: a.mp4: FileNotFoundError: video {tmp_path / 'nowhere' / 'a.mp4'}: "
            'no such file.') in message
    assert not (tmp_path / 'work' / 'annotations' / 'hcstvg_constructed.json').exists()
    with open(tmp_path / 'work' / 'construction_report.json') as file:
        assert json.load(file)['num_failed'] == 1
