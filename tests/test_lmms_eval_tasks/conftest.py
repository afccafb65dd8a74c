"""Fixtures of the lmms-eval task tests: local task folders over tiny data.

- :func:`write_task_folder`: a folder of task YAMLs that ``include`` the
  shipped ones (``mmstvg/lmms_eval_tasks``) under new names, each with its
  own data spec, as a user points a task at their copy of the data;
- the tiny grounder of ``tests/test_apis`` (three synthetic HC-STVG v1 videos,
  4 frames of 32 px, trained 60 steps so that its answers parse) as a config
  file and checkpoint that ``tools/test.py`` and lmms-eval both load, plus
  the same three videos as a Charades-STA split (``charades_sta_train.txt`` +
  ``video_meta.json``, the format ``tools/dataset_converters/charades_sta.py``
  writes).
"""
import json
import os
import os.path as osp

import pytest
import yaml

from mmstvg.lmms_eval_tasks import TASKS_DIR
from tests.test_apis.conftest import synthetic_root, tiny_cfg, trained_checkpoint  # noqa: F401

pytest.importorskip('lmms_eval')


def write_task_folder(root, tasks) -> str:
    """Write local tasks that include the shipped ones.

    Args:
        root: the folder (created).
        tasks: ``{name: (shipped_task, spec)}``; ``spec`` is the data spec
            (see :mod:`mmstvg.lmms_eval_tasks.docs`).

    Returns:
        The folder, for ``--include_path``.
    """
    root = str(root)
    os.makedirs(root, exist_ok=True)
    for name, (shipped, spec) in tasks.items():
        with open(osp.join(root, f'{name}.data.jsonl'), 'w') as f:
            f.write(json.dumps(spec) + '\n')
        config = dict(include=osp.join(TASKS_DIR, f'{shipped}.yaml'), task=name,
                      dataset_kwargs=dict(data_files=dict(test=f'{name}.data.jsonl')))
        with open(osp.join(root, f'{name}.yaml'), 'w') as f:
            yaml.safe_dump(config, f)
    return root


def write_charades_split(synthetic_root) -> dict:  # noqa: F811
    """The synthetic HC-STVG videos as a Charades-STA split; its dataset config."""
    with open(osp.join(synthetic_root, 'annotations', 'hcstvg_v1_train.json')) as f:
        hcstvg = json.load(f)
    lines, meta = [], {}
    for video_file, entry in hcstvg.items():
        vid = osp.splitext(video_file)[0]
        fps = float(entry['fps'])
        start = (entry['st_frame'] - 1) / fps
        end = start + len(entry['bbox']) / fps
        lines.append(f'{vid} {start:.4f} {end:.4f}##{entry["caption"]}.')
        meta[vid] = dict(num_frames=entry['img_num'], fps=fps, height=entry['height'],
                         width=entry['width'], length=entry['img_num'] / fps)
    folder = osp.join(synthetic_root, 'charades')
    os.makedirs(folder, exist_ok=True)
    with open(osp.join(folder, 'charades_sta_train.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    with open(osp.join(folder, 'video_meta.json'), 'w') as f:
        json.dump(meta, f)
    return dict(type='CharadesSTADataset', data_root=synthetic_root,
                ann_file='charades/charades_sta_train.txt',
                meta_file='charades/video_meta.json', data_prefix=dict(video='videos'))


@pytest.fixture(scope='session')
def tiny_runs(tmp_path_factory, tiny_cfg, synthetic_root, trained_checkpoint):  # noqa: F811
    """Config files of the tiny grounder on the synthetic set (STVG) and on the
    same videos as Charades-STA (TVG), its checkpoint, and their datasets."""
    out = tmp_path_factory.mktemp('tiny_runs')
    stvg_dataset = dict(tiny_cfg.test_dataloader.dataset)
    pipeline = stvg_dataset.pop('pipeline')
    tvg_dataset = write_charades_split(synthetic_root)
    configs = {}
    for name, dataset, metric in (('stvg', stvg_dataset, 'STVGMetric'),
                                  ('tvg', tvg_dataset, 'TemporalGroundingMetric')):
        cfg = tiny_cfg.copy()
        cfg.test_dataloader = dict(cfg.test_dataloader, num_workers=0,
                                   sampler=dict(type='DefaultSampler', shuffle=False),
                                   dataset=dict(dataset, pipeline=pipeline))
        cfg.test_cfg = dict(type='TestLoop')
        cfg.test_evaluator = dict(type=metric)
        cfg.work_dir = str(out / f'work_{name}')
        cfg.log_level = 'WARNING'
        path = str(out / f'tiny_{name}.py')
        cfg.dump(path)
        configs[name] = path
    return dict(configs=configs, checkpoint=trained_checkpoint,
                datasets=dict(stvg=stvg_dataset, tvg=tvg_dataset), out=out)


@pytest.fixture(scope='session', autouse=True)
def datasets_cache(tmp_path_factory):
    """lmms-eval's datasets cache (the loaded data specs) in a temporary folder,
    before any fixture of a wider scope loads a task."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv('LMMS_EVAL_DATASETS_CACHE',
                           str(tmp_path_factory.mktemp('datasets_cache')))
        yield
