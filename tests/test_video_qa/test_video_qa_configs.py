"""configs/video_qa/*.py build and test a (tiny) SpaceVLLM on each benchmark's format.

The config's model is shrunk as in tests/test_configs (sizes and paths only);
its test dataset reads a one-question fixture in the benchmark's release
format (see test_video_qa_datasets.py for where each format comes from); one
test step and the metric run as tools/test.py runs them.
"""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

from mmstvg.models.llm_backbones.toy_tokenizer import build_toy_tokenizer
from mmstvg.registry import DATASETS, METRICS, MODELS
from tests.test_configs.config_overrides import shrink_model, shrink_pipelines
from tools.misc.create_toy_pretrained import create_toy_pretrained

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
OPTIONS = ['red', 'green', 'blue', 'yellow']


def write_mvbench(root, w):
    w['json'](root / 'json' / 'moving_attribute.json', [dict(
        video='v.mp4', question='What colour is the moving shape?', candidates=OPTIONS,
        answer='blue')])
    (root / 'video' / 'clevrer' / 'video_validation').mkdir(parents=True)
    w['video'](root / 'video' / 'clevrer' / 'video_validation' / 'v.mp4')


def write_videomme(root, w):
    w['json'](root / 'videomme' / 'rows.json', [dict(
        video_id='001', duration='medium', domain='Knowledge', sub_category='Astronomy',
        url='u', videoID='v', question_id='001-1', task_type='Attribute Perception',
        question='What colour is the moving shape?',
        options=[f'{"ABCD"[i]}. {o}' for i, o in enumerate(OPTIONS)], answer='C')])
    (root / 'data').mkdir()
    w['video'](root / 'data' / 'v.mp4')


def write_egoschema(root, w):
    w['json'](root / 'questions.json', [{
        'q_uid': 'v', 'google_drive_id': 'g', 'question': 'What colour is the moving shape?',
        **{f'option {i}': o for i, o in enumerate(OPTIONS + ['white'])}}])
    w['json'](root / 'subset_answers.json', {'v': 2})
    (root / 'videos').mkdir()
    w['video'](root / 'videos' / 'v.mp4')


def write_tempcompass(root, w):
    w['json'](root / 'questions' / 'multi-choice.json', {'v': {'attribute_change': [{
        'question': 'What colour does the shape turn?\nA. red\nB. green\nC. blue\nD. yellow',
        'answer': 'C. blue'}]}})
    (root / 'videos').mkdir()
    w['video'](root / 'videos' / 'v.mp4')


CASES = {
    'spacevllm_mvbench.py': ('MVBenchDataset', write_mvbench, 'mvbench/moving_attribute'),
    'spacevllm_videomme.py': ('VideoMMEDataset', write_videomme, 'videomme/medium'),
    'spacevllm_egoschema.py': ('EgoSchemaDataset', write_egoschema, 'egoschema/subset'),
    'spacevllm_tempcompass.py': ('TempCompassDataset', write_tempcompass,
                                 'tempcompass/attribute_change'),
}


@pytest.fixture(scope='module')
def tiny_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp('qa_tiny')
    create_toy_pretrained(str(root / 'toy'), image_size=32, patch_size=8, vision_hidden=32,
                          llm_hidden=64, llm_layers=1, max_positions=2048)
    tokenizer = build_toy_tokenizer(chat_template=True)
    tokenizer.save_pretrained(str(root / 'tok'))
    return dict(toy=str(root / 'toy'), tokenizer=str(root / 'tok'), vocab=len(tokenizer))


@pytest.mark.parametrize('name', sorted(CASES))
def test_video_qa_config_tests_a_model(name, tiny_dirs, tmp_path, qa_writers):
    dataset_type, write, category_key = CASES[name]
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'video_qa', name))
    assert cfg.test_dataloader.dataset.type == dataset_type
    assert cfg.test_evaluator.type == 'VideoQAMetric'
    assert cfg.model.type == 'VideoGroundingLLM'  # the grounding recipe's model
    assert cfg.model.space_decoder.type == 'ReferencePointSpaceDecoder'  # the recipe's
    samplers = [t for t in cfg.test_dataloader.dataset.pipeline
                if t['type'] == 'UniformSampleFrames']
    assert [s['num_frames'] for s in samplers] == [64]

    init_default_scope('mmstvg')
    torch.manual_seed(0)
    model = MODELS.build(shrink_model(cfg.model, tiny_dirs['toy'], tiny_dirs['tokenizer'],
                                      tiny_dirs['vocab'])).eval()
    assert type(model.answer.answer).__name__ == 'MultipleChoiceAnswer'
    # the grounding answer's precision, the prompt's span_precision moved there
    assert model.answer.time_coder.precision == 1 and model.max_new_tokens == 16

    write(tmp_path, qa_writers)
    shrink_pipelines(cfg, num_frames=4, size=32)
    dataset_cfg = cfg.test_dataloader.dataset
    dataset_cfg['data_root'] = str(tmp_path)
    if dataset_type == 'VideoMMEDataset':  # the release's rows, as json (no pyarrow here)
        dataset_cfg['ann_file'] = 'videomme/rows.json'
    dataset = DATASETS.build(dataset_cfg)
    assert len(dataset) == 1
    with torch.no_grad():
        (out, ) = model.test_step(pseudo_collate([dataset[0]]))
    assert out.pred_choice in (-1, 0, 1, 2, 3)
    metric = METRICS.build(cfg.test_evaluator)
    metric.process({}, [out.to_dict()])
    scores = metric.compute_metrics(metric.results)
    assert scores['accuracy'] == (100.0 if out.pred_choice == 2 else 0.0)
    assert scores[category_key] == scores['accuracy'] and scores['num_samples'] == 1
