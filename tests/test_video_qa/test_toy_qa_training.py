"""The toy QA set: a tiny grounder trained briefly answers it above chance.

The set and the training are conftest's ``toy_qa`` (40 colour questions on
synthetic videos, 4 options, chance 25 %; 150 steps); the answers to 40
held-out videos are parsed and scored as the benchmarks are.
"""
import json
import sys
from collections import Counter
from pathlib import Path

import pytest

from mmstvg.datasets.synthetic_qa import synthetic_qa_rows


def test_synthetic_qa_rows_follow_the_sentence():
    rows = synthetic_qa_rows({'synth_train_00003.mp4': dict(caption='the blue square moves up')})
    assert rows[0]['question'] == 'What colour is the square that moves up?'
    assert rows[0]['options'] == ['A. red', 'B. green', 'C. blue', 'D. yellow']
    assert (rows[0]['answer'], rows[0]['videoID']) == ('C', 'synth_train_00003')
    with pytest.raises(ValueError, match='synth_train_00004.mp4'):
        synthetic_qa_rows({'synth_train_00004.mp4': dict(caption='a dog barks')})


def test_tiny_grounder_answers_the_toy_qa_above_chance(toy_qa):
    scores = toy_qa.scores()
    # Chance is 25 %; always answering the commonest colour scores this:
    counts = Counter(x['data_samples'].gt_choice for x in toy_qa.items['val'])
    prior = 100.0 * max(counts.values()) / len(toy_qa.items['val'])
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
