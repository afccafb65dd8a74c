"""The toy QA set: a tiny grounder trained briefly answers it above chance.

40 synthetic videos (8 frames, 32 px) and their colour questions
("What colour is the <shape> that moves <direction>?", 4 options, chance
25 %); 150 steps of 8 on the answer's cross-entropy (about 50 s on one
core), then greedy answers on 40 held-out videos, parsed and scored as the
benchmarks are.
"""
import copy
import json
import sys
from collections import Counter
from pathlib import Path

import pytest
import torch
from mmengine.dataset import pseudo_collate

from mmstvg.datasets import VideoMMEDataset, generate_synthetic_stvg
from mmstvg.datasets.synthetic_qa import synthetic_qa_rows
from mmstvg.evaluation import VideoQAMetric
from mmstvg.models.llm_backbones.toy_tokenizer import build_toy_tokenizer
from mmstvg.registry import MODELS

sys.path.insert(0, str(Path(__file__).parents[1] / 'test_models'))
from models_testing_utils import TINY_VISION, tiny_llm_config  # noqa: E402


def test_synthetic_qa_rows_follow_the_sentence():
    rows = synthetic_qa_rows({'synth_train_00003.mp4': dict(caption='the blue square moves up')})
    assert rows[0]['question'] == 'What colour is the square that moves up?'
    assert rows[0]['options'] == ['A. red', 'B. green', 'C. blue', 'D. yellow']
    assert (rows[0]['answer'], rows[0]['videoID']) == ('C', 'synth_train_00003')
    with pytest.raises(ValueError, match='synth_train_00004.mp4'):
        synthetic_qa_rows({'synth_train_00004.mp4': dict(caption='a dog barks')})


def test_tiny_grounder_answers_the_toy_qa_above_chance(tmp_path):
    root = str(tmp_path)
    generate_synthetic_stvg(root, num_train=80, num_val=40, size=32, frame_range=(8, 8),
                            object_size=(0.2, 0.25), write_tvg=False, write_rec=False)
    pipeline = [dict(type='GroundingDecordInit'),
                dict(type='UniformSampleFrames', num_frames=4, test_mode=True),
                dict(type='GroundingDecordDecode'), dict(type='PackGroundingInputs')]
    items = {}
    for split in ('train', 'val'):
        with open(f'{root}/annotations/hcstvg_v1_{split}.json') as f:
            rows = synthetic_qa_rows(json.load(f))
        with open(f'{root}/qa_{split}.json', 'w') as f:
            json.dump(rows, f)
        dataset = VideoMMEDataset(ann_file=f'{root}/qa_{split}.json', pipeline=pipeline,
                                  data_prefix=dict(video=f'{root}/videos'), test_mode=True)
        items[split] = [dataset[i] for i in range(len(dataset))]
    tokenizer = build_toy_tokenizer(extra_words=list('ABCD'))
    tokenizer.save_pretrained(f'{root}/tokenizer')
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='VideoGroundingLLM',
        vision_encoder=dict(type='HFVisionEncoder', vision_config=dict(TINY_VISION),
                            select_layer=-1, pool_size=2, freeze=False),
        projector=dict(type='MLPProjector'),
        llm=dict(type='HFCausalLM', llm_config=tiny_llm_config(len(tokenizer)),
                 tokenizer=f'{root}/tokenizer'),
        answer=dict(type='MultipleChoiceAnswer'), max_new_tokens=2))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(150):
        picked = torch.randint(0, len(items['train']), (8, ), generator=gen).tolist()
        data = model.data_preprocessor(
            pseudo_collate([copy.deepcopy(items['train'][i]) for i in picked]), True)
        loss = model.loss(data['inputs'], data['data_samples'])['loss_lm']
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    model.eval()
    metric = VideoQAMetric()
    with torch.no_grad():
        for start in range(0, len(items['val']), 20):
            data = model.data_preprocessor(pseudo_collate(
                [copy.deepcopy(x) for x in items['val'][start:start + 20]]), False)
            metric.process({}, [s.to_dict() for s in model.predict(data['inputs'],
                                                                    data['data_samples'])])
    scores = metric.compute_metrics(metric.results)
    # Chance is 25 %; always answering the commonest colour scores this:
    counts = Counter(x['data_samples'].gt_choice for x in items['val'])
    prior = 100.0 * max(counts.values()) / len(items['val'])
    assert scores['accuracy'] >= 45.0 and scores['accuracy'] > prior + 10, (scores, prior)



def test_converter_cli_writes_the_rows(tmp_path):
    import subprocess
    source = tmp_path / 'hcstvg_v1_val.json'
    source.write_text(json.dumps(
        {'synth_val_00000.mp4': dict(caption='the red circle moves left')}))
    out = tmp_path / 'qa_val.json'
    repo = Path(__file__).parents[2]
    tool = str(repo / 'tools' / 'dataset_converters' / 'synthetic_qa.py')
    result = subprocess.run([sys.executable, tool, str(source), str(out)],
                            capture_output=True, text=True, timeout=300, cwd=str(repo))
    assert result.returncode == 0, result.stderr
    assert 'wrote 1 questions' in result.stdout
    assert [r['answer'] for r in json.loads(out.read_text())] == ['A']
