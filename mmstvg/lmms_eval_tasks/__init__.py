"""mmstvg's lmms-eval tasks: HC-STVG v1 / v2, VidSTG (declarative, interrogative), Charades-STA.

The YAMLs in this folder are lmms-eval tasks (``hcstvg_v1``, ``hcstvg_v2``,
``vidstg_declarative``, ``vidstg_interrogative``, ``charades_sta``), scored
with mmstvg's ``STVGMetric`` / ``TemporalGroundingMetric``; lmms-eval finds
them with ``--include_path`` (:data:`TASKS_DIR`)::

    python -m lmms_eval --include_path "$(python -m mmstvg.lmms_eval_tasks)" \\
        --tasks hcstvg_v1 --model qwen2_5_vl --model_args ... --verbosity DEBUG

Documents: :mod:`.docs`; request and answer format: :mod:`.answer_format`;
scoring: :mod:`.scoring`; use: ``docs/en/dataset_prepare.md``.
"""
import os.path as osp

__all__ = ['TASKS_DIR', 'TASK_NAMES']

#: The folder to pass to lmms-eval's ``--include_path``.
TASKS_DIR = osp.dirname(osp.abspath(__file__))
#: The tasks this folder holds.
TASK_NAMES = ('hcstvg_v1', 'hcstvg_v2', 'vidstg_declarative', 'vidstg_interrogative',
              'charades_sta')
