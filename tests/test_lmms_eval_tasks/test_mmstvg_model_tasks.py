"""The mmstvg lmms-eval model on mmstvg's grounding tasks, through lmms-eval's
own evaluation entry point (``lmms_eval.evaluator.simple_evaluate``, in
process): its figures equal ``tools/test.py``'s on the same data, to the last
digit (the tiny grounder of ``tests/test_apis``, saved and reloaded from its
config file and checkpoint by both).
"""
import json

import pytest

from tests.test_lmms_eval_tasks.conftest import write_task_folder
from tests.test_reliability.conftest import call_main

pytest.importorskip('lmms_eval')
from lmms_eval.evaluator import simple_evaluate  # noqa: E402
from lmms_eval.tasks import TaskManager  # noqa: E402

#: lmms-eval's figure -> tools/test.py's key.
STVG_KEYS = {'m_tIoU': 'stvg/m_tIoU', 'm_vIoU': 'stvg/m_vIoU',
             'vIoU@0.3': 'stvg/vIoU@0.3', 'vIoU@0.5': 'stvg/vIoU@0.5',
             'gt_vIoU': 'stvg/gt_vIoU', 'num_failed_parse': 'stvg/num_failed_parse'}
TVG_KEYS = {'R1@0.3': 'tvg/R1@0.3', 'R1@0.5': 'tvg/R1@0.5', 'R1@0.7': 'tvg/R1@0.7',
            'mIoU': 'tvg/mIoU', 'num_failed_parse': 'tvg/num_failed_parse'}


#: Variables that make accelerate (in lmms-eval's evaluator) start a distributed run.
LAUNCHER_VARIABLES = ('LOCAL_RANK', 'RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')


def tools_test_figures(config, checkpoint, metrics_file):
    call_main('test', [config, checkpoint, '--metrics-out', metrics_file])
    return json.loads(metrics_file.read_text())


def lmms_eval_figures(tiny_runs, tasks, batch_size=2):
    """lmms-eval's results of the mmstvg model (the STVG config) on ``tasks``,
    in a one-process environment whatever other tests set."""
    include = write_task_folder(tiny_runs['out'] / 'tasks', tasks)
    with pytest.MonkeyPatch.context() as patch:
        for name in LAUNCHER_VARIABLES:
            patch.delenv(name, raising=False)
        return _simple_evaluate(tiny_runs, tasks, include, batch_size)


def _simple_evaluate(tiny_runs, tasks, include, batch_size):
    results = simple_evaluate(
        model='mmstvg',
        model_args=f'config={tiny_runs["configs"]["stvg"]},'
                   f'checkpoint={tiny_runs["checkpoint"]},device=cpu',
        tasks=list(tasks), batch_size=batch_size,
        task_manager=TaskManager('WARNING', include_path=include), log_samples=True)
    assert results is not None, 'lmms-eval returned no results'
    return results


def figures_of(results, task):
    return {key.split(',')[0]: value for key, value in results['results'][task].items()
            if key.endswith(',none') and '_stderr' not in key}


@pytest.fixture(scope='module')
def both_runs(tiny_runs, tmp_path_factory):
    """tools/test.py's and lmms-eval's figures on the STVG and TVG sets."""
    out = tmp_path_factory.mktemp('figures')
    tools = {name: tools_test_figures(tiny_runs['configs'][name], tiny_runs['checkpoint'],
                                      out / f'{name}_metrics.json')
             for name in ('stvg', 'tvg')}
    specs = {'tiny_hcstvg': ('hcstvg_v1', dict(dataset=tiny_runs['datasets']['stvg'],
                                                num_frames=5, qtype=None)),
             'tiny_charades': ('charades_sta', dict(dataset=tiny_runs['datasets']['tvg'],
                                                    num_frames=5, qtype=None))}
    results = lmms_eval_figures(tiny_runs, specs)
    return tools, results


def test_stvg_figures_equal_tools_test(both_runs):
    tools, results = both_runs
    figures = figures_of(results, 'tiny_hcstvg')
    assert {k: figures[k] for k in STVG_KEYS} == {k: tools['stvg'][v]
                                                   for k, v in STVG_KEYS.items()}
    assert tools['stvg']['stvg/num_samples'] == 3
    # Figures that a broken comparison (every figure 0) could not give.
    assert figures['gt_vIoU'] > 0 and figures['m_tIoU'] > 0
    assert figures['num_malformed_boxes'] == 0  # heads, not text


def test_tvg_figures_equal_tools_test(both_runs):
    tools, results = both_runs
    figures = figures_of(results, 'tiny_charades')
    assert {k: figures[k] for k in TVG_KEYS} == {k: tools['tvg'][v]
                                                  for k, v in TVG_KEYS.items()}
    assert tools['tvg']['tvg/num_samples'] == 3
    assert figures['mIoU'] > 0


def test_replies_carry_the_heads_prediction(both_runs):
    _, results = both_runs
    samples = results['samples']['tiny_hcstvg']
    assert len(samples) == 3
    for sample in samples:
        reply = sample['resps'][0][0] if isinstance(sample['resps'][0], list) \
            else sample['resps'][0]
        assert reply.startswith('mmstvg-prediction:')
        prediction = json.loads(reply[len('mmstvg-prediction:'):])
        assert len(prediction['frame_inds']) == 4  # the config's sampler, not the task's 5
        assert len(prediction['pred_boxes']) == 4



def test_grounding_requests_come_tokenized_from_the_pipeline(tiny_runs):
    """Issue 30: the grounding path's test pipeline gets the model's
    TokenizeGroundingPrompt (its config names none), so every sample reaches
    the model with its pieces; the replies equal the model's own
    tokenization (the transform dropped)."""
    from mmstvg.apis.lmms_eval_model import MMSTVGLMMs
    from mmstvg.registry import DATASETS
    from mmstvg.testing.prompt_pieces import record_prompt_pieces, without_prompt_tokenization
    lmm = MMSTVGLMMs(config=tiny_runs['configs']['stvg'], checkpoint=tiny_runs['checkpoint'],
                     device='cpu', batch_size=2)
    dataset = DATASETS.build(dict(tiny_runs['datasets']['stvg'], pipeline=[]))
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    seen = record_prompt_pieces(lmm.model)
    replies = lmm.ground(infos)
    assert len(seen) == len(infos) and all(seen)
    seen.clear()
    lmm._test_pipeline = without_prompt_tokenization(lmm._test_pipeline)
    assert lmm.ground(infos) == replies
    assert len(seen) == len(infos) and not any(seen)
