"""Writers of tiny videos and of each QA benchmark's annotation files; the toy
QA set and a tiny grounder trained on it."""
import copy
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate

from mmstvg.datasets import VideoMMEDataset, generate_synthetic_stvg
from mmstvg.datasets.synthetic_qa import synthetic_qa_rows
from mmstvg.evaluation import VideoQAMetric
from mmstvg.models.llm_backbones.toy_tokenizer import build_toy_tokenizer
from mmstvg.registry import MODELS
from mmstvg.utils import register_all_modules

sys.path.insert(0, str(Path(__file__).parents[1] / 'test_models'))
from models_testing_utils import TINY_VISION, tiny_llm_config  # noqa: E402

register_all_modules()


def write_video(path, num_frames=12, size=(24, 32), fps=6.0):
    """An mp4v video whose frame ``i`` is flat grey ``10 * i``."""
    height, width = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), fps, (width, height))
    assert writer.isOpened()
    for i in range(num_frames):
        writer.write(np.full((height, width, 3), 10 * i, dtype=np.uint8))
    writer.release()
    return str(path)


def write_json(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))
    return str(path)


@pytest.fixture
def qa_writers():
    return dict(video=write_video, json=write_json)


#: The toy QA set's test pipeline (4 of the 8 frames of each 32 px video).
TOY_QA_PIPELINE = [dict(type='GroundingDecordInit'),
                   dict(type='UniformSampleFrames', num_frames=4, test_mode=True),
                   dict(type='GroundingDecordDecode'), dict(type='PackGroundingInputs')]


@pytest.fixture(scope='session')
def toy_qa(tmp_path_factory):
    """The toy QA set and a tiny grounder trained on it.

    40 synthetic videos (8 frames, 32 px) and their colour questions ("What
    colour is the <shape> that moves <direction>?", 4 options, chance 25 %)
    as Video-MME rows; 150 steps of 8 on the answer's cross-entropy (about
    50 s on one core). Returns a namespace with ``root``, ``model_cfg``,
    ``pipeline``, ``model`` (in eval mode), ``datasets`` and ``items`` (per split) and
    ``scores()``: the model's greedy answers on the 40 held-out videos,
    parsed and scored as the benchmarks are.
    """
    root = str(tmp_path_factory.mktemp('toy_qa'))
    generate_synthetic_stvg(root, num_train=80, num_val=40, size=32, frame_range=(8, 8),
                            object_size=(0.2, 0.25), write_tvg=False, write_rec=False)
    datasets, items = {}, {}
    for split in ('train', 'val'):
        with open(f'{root}/annotations/hcstvg_v1_{split}.json') as f:
            rows = synthetic_qa_rows(json.load(f))
        with open(f'{root}/qa_{split}.json', 'w') as f:
            json.dump(rows, f)
        datasets[split] = VideoMMEDataset(ann_file=f'{root}/qa_{split}.json',
                                          pipeline=TOY_QA_PIPELINE,
                                          data_prefix=dict(video=f'{root}/videos'),
                                          test_mode=True)
        items[split] = [datasets[split][i] for i in range(len(datasets[split]))]
    tokenizer = build_toy_tokenizer(extra_words=list('ABCD'))
    tokenizer.save_pretrained(f'{root}/tokenizer')
    model_cfg = dict(
        type='VideoGroundingLLM',
        vision_encoder=dict(type='HFVisionEncoder', vision_config=dict(TINY_VISION),
                            select_layer=-1, pool_size=2, freeze=False),
        projector=dict(type='MLPProjector'),
        llm=dict(type='HFCausalLM', llm_config=tiny_llm_config(len(tokenizer)),
                 tokenizer=f'{root}/tokenizer'),
        answer=dict(type='MultipleChoiceAnswer'), max_new_tokens=2)
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(model_cfg))
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

    def scores():
        metric = VideoQAMetric()
        with torch.no_grad():
            for start in range(0, len(items['val']), 20):
                data = model.data_preprocessor(pseudo_collate(
                    [copy.deepcopy(x) for x in items['val'][start:start + 20]]), False)
                metric.process({}, [s.to_dict() for s in model.predict(
                    data['inputs'], data['data_samples'])])
        return metric.compute_metrics(metric.results)

    return SimpleNamespace(root=root, model_cfg=model_cfg, pipeline=TOY_QA_PIPELINE,
                           model=model, datasets=datasets, items=items, scores=scores)
