"""tools/data_construction/build_stvg.py on the toy config, with the tiny random
Grounding-DINO in place of the real weights (test overrides only)."""
import json
import os.path as osp

from mmstvg.data_construction import sample_frame_indices
from mmstvg.datasets import HCSTVGDataset
from tools.data_construction.build_stvg import main

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY = osp.join(REPO_ROOT, 'configs', 'data_construction', 'synthetic_toy.py')


def test_toy_config_through_the_tool(synthetic_set, tiny_gdino, tmp_path, capsys):
    work_dir = str(tmp_path / 'work')
    argv = [TOY, '--work-dir', work_dir, '--no-progress', '--limit', '4', '--cfg-options',
            f'source.ann_file={synthetic_set["ann_file"]}',
            f'source.video_root={synthetic_set["video_root"]}',
            f'detector.config={tiny_gdino["config"]}', 'detector.checkpoint=None',
            f'detector.text_encoder_path={tiny_gdino["bert"]}', 'detector.score_thr=0.0',
            'detector.scale=[64,64]', 'detector.device=cpu', 'detector.batch_size=6',
            # a random detector at threshold 0: one box a frame
            'detector.cfg_options.model.test_cfg.max_per_img=1']
    report = main(argv)
    printed = capsys.readouterr().out
    assert '"num_videos": 4' in printed and 'annotations:' in printed
    entries = synthetic_set['entries']
    keys = list(entries)[:4]
    assert report['object_picker'] == dict(num_picked=4, num_malformed=0)
    assert report['num_failed'] == 0
    # The clips last 2.0-2.5 s (kept by the 2-120 s rule); every 2nd frame is detected.
    assert report['dropped_by_rule']['duration_clip'] == 0
    assert report['num_sampled_frames'] == sum(
        len(sample_frame_indices(entries[k]['img_num'], 8.0, sample_fps=4.0)) for k in keys)
    assert 0 < report['num_detected_frames'] <= report['num_sampled_frames']
    assert report['frames_dropped_by_rule']['max_boxes'] == 0
    assert report['num_kept'] + report['num_dropped'] == 4
    ann_file = osp.join(work_dir, 'annotations', 'synthetic_constructed_hcstvg.json')
    with open(ann_file) as f:
        annotations = json.load(f)
    assert len(annotations) == report['num_kept']
    with open(osp.join(work_dir, 'construction_report.json')) as f:
        assert json.load(f) == report
    if annotations:
        dataset = HCSTVGDataset(ann_file=ann_file,
                                data_prefix=dict(video=synthetic_set['video_root']),
                                pipeline=[], on_bad_sample='error')
        assert len(dataset) == len(annotations)
