"""The lmms-eval model: found through the entry point, built from
``--model_args`` as lmms-eval builds it, answering lmms-eval requests on the
toy QA set (conftest's ``toy_qa``) exactly as ``tools/test.py``'s path does.

Requests are built as lmms-eval's evaluator builds them for a
``generate_until`` task (``Instance.args == (context, gen_kwargs,
doc_to_visual, doc_id, task, split)``, docs in ``lm.task_dict``; lmms-eval
0.7.3 ``lmms_eval/evaluator.py`` and ``api/instance.py``).
"""
import json
import os

import pytest
import torch
from mmengine.config import Config

pytest.importorskip('lmms_eval')
from lmms_eval.api.instance import Instance  # noqa: E402
from lmms_eval.models import get_model  # noqa: E402

from mmstvg.apis.lmms_eval_model import (MMSTVGLMMs, cut_at_stop_strings,  # noqa: E402
                                         qa_config)
from mmstvg.models.language import parse_choice  # noqa: E402

TASK, SPLIT = 'toy_videomme', 'test'


def request(context, doc_id, gen_kwargs=None, to_visual=None, task=TASK):
    gen_kwargs = dict(max_new_tokens=2, until=['\n\n'], temperature=0,
                      do_sample=False) if gen_kwargs is None else gen_kwargs
    return Instance(request_type='generate_until',
                    arguments=(context, gen_kwargs, to_visual, doc_id, task, SPLIT),
                    idx=0, metadata=dict(task=task, doc_id=doc_id, repeats=1))


@pytest.fixture(scope='module')
def lmm_and_requests(toy_qa, tmp_path_factory):
    """The adapter built from a config file + checkpoint, and one request per
    held-out question (the docs are the Video-MME rows)."""
    out = tmp_path_factory.mktemp('lmms_eval')
    checkpoint = str(out / 'toy_qa.pth')
    torch.save(dict(meta=dict(iter=150), state_dict=toy_qa.model.state_dict()), checkpoint)
    config = str(out / 'toy_qa.py')
    Config(dict(default_scope='mmstvg', model=toy_qa.model_cfg,
                test_dataloader=dict(dataset=dict(type='VideoMMEDataset',
                                                  pipeline=toy_qa.pipeline)))).dump(config)
    lmm = get_model('mmstvg').create_from_arg_string(
        f'config={config},checkpoint={checkpoint},device=cpu',
        dict(batch_size=4, max_batch_size=None, device=None))
    with open(os.path.join(toy_qa.root, 'qa_val.json')) as f:
        docs = json.load(f)
    lmm.task_dict = {TASK: {SPLIT: docs}}

    def to_visual(doc):
        return [os.path.join(toy_qa.root, 'videos', doc['videoID'] + '.mp4')]

    requests = []
    for doc_id, item in enumerate(toy_qa.items['val']):
        meta = item['data_samples'].metainfo
        assert meta['video_id'] == docs[doc_id]['videoID']
        # lmms-eval's videomme_doc_to_text: the same text the dataset prompts with.
        context = meta['prompt_template'].format(sentence=meta['sentence'])
        requests.append(request(context, doc_id, to_visual=to_visual))
    return lmm, requests, to_visual


def test_found_through_the_entry_point():
    assert get_model('mmstvg') is MMSTVGLMMs


def test_replies_equal_the_models_and_score_the_same(toy_qa, lmm_and_requests):
    lmm, requests, _ = lmm_and_requests
    replies = lmm.generate_until(requests)
    direct = toy_qa.model.predict(
        *toy_qa.model.data_preprocessor(
            dict(inputs=[x['inputs'] for x in toy_qa.items['val']],
                 data_samples=[x['data_samples'].clone() for x in toy_qa.items['val']]),
            False).values())
    assert replies == [s.pred_text for s in direct]
    options = [x['data_samples'].metainfo['options'] for x in toy_qa.items['val']]
    right = [parse_choice(reply, opts) == x['data_samples'].gt_choice
             for reply, opts, x in zip(replies, options, toy_qa.items['val'])]
    accuracy = 100.0 * sum(right) / len(right)
    assert accuracy == pytest.approx(toy_qa.scores()['accuracy'])
    assert accuracy >= 45.0


def test_generation_budget_and_stop_strings(toy_qa, lmm_and_requests):
    lmm, requests, to_visual = lmm_and_requests
    context = requests[0].args[0]
    full = lmm.generate_until([request(context, 0, dict(max_new_tokens=2),
                                       to_visual)])[0]
    one = lmm.generate_until([request(context, 0, dict(max_new_tokens=1),
                                      to_visual)])[0]
    assert full.startswith(one) and len(one) <= len(full)
    assert lmm.model.max_new_tokens == toy_qa.model_cfg['max_new_tokens']  # restored
    assert cut_at_stop_strings('B. red\n\nBecause', ['\n\n']) == 'B. red'
    assert cut_at_stop_strings('B', ['', 'x']) == 'B'


def test_bad_requests_name_the_task_and_doc(lmm_and_requests, tmp_path):
    lmm, requests, to_visual = lmm_and_requests
    context = requests[3].args[0]
    with pytest.raises(ValueError, match="task 'toy_videomme' doc 3: .*folder of frames"):
        lmm.generate_until([request(context, 3, to_visual=lambda doc: [str(tmp_path)])])
    with pytest.raises(ValueError, match='doc 3: .*one video file, got 2 visuals'):
        lmm.generate_until([request(context, 3, to_visual=lambda doc: to_visual(doc) * 2)])
    with pytest.raises(ValueError, match='doc 3: the context lists no lettered options'):
        lmm.generate_until([request('Describe the video.', 3, to_visual=to_visual)])
    with pytest.raises(NotImplementedError, match='no loglikelihood'):
        lmm.loglikelihood(requests[:1])
    with pytest.raises(FileNotFoundError, match='config='):
        MMSTVGLMMs(config=str(tmp_path / 'missing.py'))


def test_grounding_configs_answer_choices():
    cfg = qa_config(Config(dict(model=dict(type='VideoGroundingLLM',
                                           answer=dict(type='SnappedSpanAnswer')))),
                    {'model.max_new_tokens': 4})
    assert cfg.model.answer == dict(type='MultipleChoiceAnswer',
                                    grounding=dict(type='SnappedSpanAnswer'))
    assert cfg.model.max_new_tokens == 4
    kept = qa_config(Config(dict(model=dict(answer=dict(
        type='MultipleChoiceAnswer', grounding=dict(type='SpanAnswer'))))))
    assert kept.model.answer.grounding.type == 'SpanAnswer'



def test_prompts_come_tokenized_from_the_pipeline(lmm_and_requests):
    """Issue 30: the toy QA pipeline names no TokenizeGroundingPrompt; the
    adapter's pipeline adds the model's, so every request reaches the model
    with its pieces, and the replies equal the model's own tokenization."""
    from mmstvg.testing.prompt_pieces import record_prompt_pieces, without_prompt_tokenization
    lmm, requests, _ = lmm_and_requests
    seen = record_prompt_pieces(lmm.model)
    saved = lmm.inferencer.pipeline
    try:
        replies = lmm.generate_until(requests)
        assert len(seen) == len(requests) and all(seen)
        seen.clear()
        lmm.inferencer.pipeline = without_prompt_tokenization(saved)
        assert lmm.generate_until(requests) == replies
        assert len(seen) == len(requests) and not any(seen)
    finally:
        lmm.inferencer.pipeline = saved
        del lmm.model.sequence_builder.pieces
