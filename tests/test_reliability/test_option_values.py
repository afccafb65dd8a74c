"""Option values that left every answer empty, or every figure without a sample.

- ``model.max_new_tokens=0`` built, and every generated answer was ``''``:
  each prediction "failed to parse" and scored 0, with no word of the
  budget. The grounder now refuses it at build time, naming the key; so
  does the lmms-eval adapter for ``--model_args max_new_tokens=0``.
- ``base_zero_shot.py --num-videos -1`` silently dropped the last video
  (``scenes[:-1]``) and ``--num-videos 0`` asked about nothing (a
  misleading "annotation file holds no samples" about a temporary file,
  after loading the base); a scenes file with no scene likewise. Both are
  now refused first, naming the option or the file.
- ``trivial_baseline.py --beside`` a metrics file sharing no key with the
  trivial answer's (another dataset's, another evaluator's prefix) printed
  an empty table and exited 0; it now names the file and both key sets.
"""
import importlib.util
import json
import os.path as osp

import pytest
from mmengine.config import Config

from mmstvg.models.llm_backbones.toy_tokenizer import build_toy_tokenizer
from mmstvg.registry import MODELS
from mmstvg.utils import register_all_modules
from tests.test_apis.conftest import tiny_config

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool(name):
    spec = importlib.util.spec_from_file_location(
        name, osp.join(REPO_ROOT, 'tools', 'analysis_tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('budget', [0, -1, 2.5, True])
def test_a_grounder_without_a_generation_budget_is_refused(tmp_path, budget):
    register_all_modules()
    build_toy_tokenizer().save_pretrained(str(tmp_path))
    model = dict(tiny_config(str(tmp_path)).model, max_new_tokens=budget)
    with pytest.raises(ValueError, match='model.max_new_tokens must be an integer >= 1'):
        MODELS.build(model)


def test_the_lmms_eval_adapter_refuses_a_zero_budget(tmp_path):
    pytest.importorskip('lmms_eval')
    from mmstvg.apis.lmms_eval_model import MMSTVGLMMs
    config = tmp_path / 'cfg.py'
    config.write_text('model = dict()\n')  # refused before it is read
    with pytest.raises(ValueError, match='max_new_tokens must be >= 1'):
        MMSTVGLMMs(config=str(config), max_new_tokens=0)


@pytest.mark.parametrize('num_videos', [0, -1])
def test_base_zero_shot_refuses_a_count_below_1(tmp_path, num_videos):
    scenes = tmp_path / 'annotations' / 'scenes_val.json'
    scenes.parent.mkdir()
    scenes.write_text('[{"video_id": "synth_val_00000"}]')
    cfg = Config(dict(train_dataloader=dict(dataset=dict(data_root=str(tmp_path)))))
    with pytest.raises(ValueError, match=f'--num-videos must be >= 1.*got {num_videos}'):
        load_tool('base_zero_shot').zero_shot(cfg, 'no_base', 'val', num_videos)


def test_base_zero_shot_refuses_a_split_without_scenes(tmp_path):
    scenes = tmp_path / 'annotations' / 'scenes_val.json'
    scenes.parent.mkdir()
    scenes.write_text('[]')
    cfg = Config(dict(train_dataloader=dict(dataset=dict(data_root=str(tmp_path)))))
    with pytest.raises(ValueError, match='holds no scene') as info:
        load_tool('base_zero_shot').zero_shot(cfg, 'no_base', 'val')
    assert str(scenes) in str(info.value)


def test_beside_metrics_of_another_dataset_are_refused(tmp_path):
    ann = tmp_path / 'hcstvg_v1_test.json'
    ann.write_text(json.dumps({'1_a.mp4': dict(
        st_frame=3, bbox=[[2, 2, 8, 8]] * 4, img_num=20, caption='a man walks.',
        width=32, height=24, fps=5.0)}))
    pipeline = [dict(type='GroundingDecordInit'),
                dict(type='UniformSampleFrames', num_frames=4, test_mode=True),
                dict(type='GroundingDecordDecode')]
    config = tmp_path / 'cfg.py'
    config.write_text(
        f'test_dataloader = dict(dataset=dict(type="HCSTVGDataset", '
        f'ann_file={str(ann)!r}, test_mode=True, pipeline={pipeline!r}))\n'
        'test_evaluator = dict(type="STVGMetric")\n')
    model_file = tmp_path / 'model.json'
    model_file.write_text(json.dumps({'tvg/mIoU': 40.0, 'tvg/num_samples': 2}))
    out = tmp_path / 'trivial.json'
    tool = load_tool('trivial_baseline')
    with pytest.raises(ValueError, match='none of its metrics') as info:
        tool.main([str(config), '--beside', str(model_file), '--out', str(out)])
    assert str(model_file) in str(info.value) and 'stvg/m_tIoU' in str(info.value)
    assert 'stvg/m_tIoU' in json.loads(out.read_text())  # its own figures kept
