"""Tiny annotation files in the format each task reads, with no video on disk.

Each is the format mmstvg's dataset class reads and its converter writes:

- HC-STVG v1: the provider's raw json (``tzhhhh123/HC-STVG``'s README: a dict
  keyed by video file; ``st_frame`` 1-based, ``bbox`` ``[x, y, w, h]`` per
  frame from ``st_frame`` on, ``img_num``, ``caption``, ``width`` /
  ``height``), plus ``fps`` as ``tools/dataset_converters/hcstvg.py`` writes;
- HC-STVG v2: the same with ``English`` and ``img_size = [height, width]``;
- VidSTG: TubeDETR's converted form (``preproc/preproc_vidstg.py``), which
  ``tools/dataset_converters/vidstg.py`` writes:
  ``{"videos": [...], "trajectories": {...}}``;
- Charades-STA: the split file of ``jiyanggao/TALL`` (``VID start end##sentence``)
  and the meta json ``tools/dataset_converters/charades_sta.py`` writes.

The specs name them with ``check_video_exists: false``.
"""
import json
import os
import os.path as osp

__all__ = ['write_hcstvg_v1', 'write_hcstvg_v2', 'write_vidstg', 'write_charades']


def _dump(root, name, data):
    os.makedirs(root, exist_ok=True)
    path = osp.join(root, name)
    with open(path, 'w') as f:
        json.dump(data, f)
    return path


def write_hcstvg_v1(root) -> dict:
    """Two videos of 10 frames at 2 fps, 100 x 50 px; the first's target is
    ``[10, 10, 30, 30]`` (xyxy) at frames 2-5, the second's
    ``[50, 0, 90, 40]`` at frames 0-9. Returns the task's data spec."""
    _dump(root, 'hcstvg_v1.json', {
        'a.mp4': dict(st_frame=3, bbox=[[10, 10, 20, 20]] * 4, img_num=10, fps=2.0,
                      caption='The man walks to the door.', width=100, height=50),
        'b.mp4': dict(st_frame=1, bbox=[[50, 0, 40, 40]] * 10, img_num=10, fps=2.0,
                      caption='The woman sits down.', width=100, height=50)})
    return dict(dataset=dict(type='HCSTVGDataset', data_root=str(root),
                             ann_file='hcstvg_v1.json', data_prefix=dict(video='videos'),
                             check_video_exists=False),
                num_frames=5, qtype=None)


def write_hcstvg_v2(root) -> dict:
    """One video as v2 writes it (``English``, ``img_size``)."""
    _dump(root, 'hcstvg_v2.json', {
        'c.mp4': dict(st_frame=2, bbox=[[0, 0, 8, 6]] * 3, img_num=8, fps=4.0,
                      English='The girl turns left.', img_size=[60, 80])})
    return dict(dataset=dict(type='HCSTVGv2Dataset', data_root=str(root),
                             ann_file='hcstvg_v2.json', data_prefix=dict(video='videos'),
                             check_video_exists=False),
                num_frames=4, qtype=None)


def write_vidstg(root, qtype: str) -> dict:
    """One VidOR video of 14 frames at 5 fps, used segment ``[2, 12)``; a
    declarative and an interrogative sentence about target 1, whose tube is
    ``[4, 8)``."""
    track = {str(f): {'bbox': [f, 2, 10, 10]} for f in range(14)}
    common = dict(original_video_id='vid0', video_path='0000/vid0.mp4', frame_count=14,
                  fps=5.0, width=64, height=48, start_frame=2, end_frame=12,
                  tube_start_frame=4, tube_end_frame=8, target_id=1)
    _dump(root, 'vidstg.json', {
        'videos': [dict(common, video_id=0, caption='A dog runs on the grass.',
                        qtype='declarative'),
                   dict(common, video_id=1, caption='What runs on the grass?',
                        qtype='interrogative')],
        'trajectories': {'vid0': {'1': track}}})
    return dict(dataset=dict(type='VidSTGDataset', data_root=str(root),
                             ann_file='vidstg.json', data_prefix=dict(video='video'),
                             check_video_exists=False),
                num_frames=5, qtype=qtype)


def write_charades(root, lines) -> dict:
    """A Charades-STA split of ``lines`` (``VID start end##sentence``); every
    video lasts 30 s at 10 fps (meta ``length`` 30 s)."""
    os.makedirs(root, exist_ok=True)
    with open(osp.join(root, 'charades_sta_test.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    vids = {line.split()[0] for line in lines}
    _dump(root, 'video_meta.json', {
        vid: dict(num_frames=300, fps=10.0, height=270, width=480, length=30.0)
        for vid in vids})
    return dict(dataset=dict(type='CharadesSTADataset', data_root=str(root),
                             ann_file='charades_sta_test.txt', meta_file='video_meta.json',
                             clip_end_to='auto', data_prefix=dict(video='videos'),
                             check_video_exists=False),
                num_frames=8, qtype=None)
