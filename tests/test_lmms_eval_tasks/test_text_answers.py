"""Text answers, as any lmms-eval model writes them: parsed and scored against
hand-computed figures, through lmms-eval's own evaluator (``simple_evaluate``
with a model that answers from a table), and Charades-STA's figures beside
lmms-eval's own ``temporal_grounding_charades`` scoring on the same answers.
"""
import pytest

from mmstvg.lmms_eval_tasks.answer_format import parse_answer
from mmstvg.lmms_eval_tasks.docs import docs_from_spec
from mmstvg.lmms_eval_tasks.scoring import aggregate, process_results
from tests.test_lmms_eval_tasks.annotation_fixtures import write_charades, write_hcstvg_v1
from tests.test_lmms_eval_tasks.conftest import write_task_folder

pytest.importorskip('lmms_eval')
from lmms_eval.api.model import lmms  # noqa: E402
from lmms_eval.evaluator import simple_evaluate  # noqa: E402
from lmms_eval.tasks import TaskManager  # noqa: E402

TIMES = [0.5, 1.5, 2.5, 3.5, 4.5]


class TableAnswers(lmms):
    """An lmms-eval model that answers each document from a table by sample id."""

    def __init__(self, answers):
        super().__init__()
        self.answers = answers
        self.contexts = []

    def generate_until(self, requests):
        replies = []
        for request in requests:
            context, _, _, doc_id, task, split = request.args
            self.contexts.append(context)
            replies.append(self.answers[self.task_dict[task][split][doc_id]['sample_id']])
        return replies

    def loglikelihood(self, requests):
        raise NotImplementedError

    def generate_until_multi_round(self, requests):
        raise NotImplementedError


def test_the_dict_and_the_qwen_list_forms_parse_the_same():
    as_dict = parse_answer('{"span": [1.5, 4], "boxes": {"1.50": [10, 10, 30, 30], '
                           '"2.5": [20, 10, 40, 30]}}', TIMES)
    as_list = parse_answer('Sure!\n```json\n{"span": [1.5, 4.0], "boxes": [{"time": 1.5, '
                           '"bbox_2d": [10, 10, 30, 30]}, {"time": 2.52, "box": '
                           '[20, 10, 40, 30]}]}\n```', TIMES)
    for answer in (as_dict, as_list):
        assert answer.ok and answer.span == (1.5, 4.0)
        assert answer.boxes == {1: [10.0, 10.0, 30.0, 30.0], 2: [20.0, 10.0, 40.0, 30.0]}
        assert answer.num_malformed == 0


@pytest.mark.parametrize('text', [
    'It happens from 1.5 to 4 seconds.',  # no JSON object
    '{"span": [4.0, 1.5]}',  # reversed
    '{"span": [1.5]}',
    '{"span": ["soon", 4]}',
    '{"span": [NaN, 4]}',
    '{"span": [1.5, 4.0]',  # cut off
    None,
])
def test_unparsable_answers(text):
    answer = parse_answer(text, TIMES)
    assert not answer.ok and answer.span is None


def test_malformed_boxes_are_counted_and_left_out():
    answer = parse_answer('{"span": [0, 5], "boxes": {"9.90": [1, 2, 3, 4], "3.50": '
                          '[5, 5, 1, 1], "0.5": [1, 2, 3], "1.0": [0, 0, 4, 4], '
                          '"4.5": [0, 0, 4, 4], "x": [0, 0, 1, 1]}}', TIMES)
    # Malformed: 9.90 (no asked time near), [5, 5, 1, 1] (reversed), [1, 2, 3]
    # (three numbers), "x" (no time). 1.0 is half a gap from 0.5 and from 1.5:
    # the earlier is taken.
    assert answer.ok and answer.num_malformed == 4
    assert answer.boxes == {0: [0.0, 0.0, 4.0, 4.0], 4: [0.0, 0.0, 4.0, 4.0]}


def test_hcstvg_text_answers_scored_through_lmms_eval(tmp_path):
    """Video a: GT [2, 6) at frames, box [10, 10, 30, 30]; frames asked 1, 3,
    5, 7, 9. The answer's span 1.5-4.0 s is frames [3, 8): tIoU 3/6. Boxes:
    frame 3 exact (IoU 1), frame 5 shifted by 10 px (IoU 200/600 = 1/3),
    frame 7 none (missing), two malformed entries. vIoU = (1 + 1/3) / |{3, 5,
    7}| = 4/9; gt_vIoU = (1 + 1/3) / 2. Video b's answer is unparsable:
    everything 0, counted."""
    answers = {'a.mp4#0': '{"span": [1.5, 4.0], "boxes": {"1.50": [10, 10, 30, 30], '
                          '"2.50": [20, 10, 40, 30], "9.90": [1, 2, 3, 4], '
                          '"3.50": [5, 5, 1, 1]}}',
               'b.mp4#0': 'The woman is on the right.'}
    include = write_task_folder(tmp_path / 'tasks', {'fixture_hcstvg': (
        'hcstvg_v1', write_hcstvg_v1(tmp_path / 'data'))})
    model = TableAnswers(answers)
    results = simple_evaluate(model=model, tasks=['fixture_hcstvg'],
                              task_manager=TaskManager('WARNING', include_path=include))
    figures = {k.split(',')[0]: v for k, v in results['results']['fixture_hcstvg'].items()
               if k.endswith(',none') and '_stderr' not in k}
    assert figures['m_tIoU'] == pytest.approx(25.0)
    assert figures['m_vIoU'] == pytest.approx(100 * 4 / 9 / 2)
    assert figures['vIoU@0.3'] == pytest.approx(50.0)
    assert figures['vIoU@0.5'] == 0.0
    assert figures['gt_vIoU'] == pytest.approx(100 * 2 / 3 / 2)
    assert figures['num_failed_parse'] == 1
    assert figures['num_malformed_boxes'] == 2
    assert figures['num_missing_boxes'] == 1
    assert len(model.contexts) == 2 and '0.50, 1.50, 2.50, 3.50, 4.50' in model.contexts[0]


#: Four Charades-STA queries (the last two are one line twice, as a split file
#: may repeat a line) and the span each answer states.
CHARADES_LINES = ['V1 0.0 4.0##a person opens a door.', 'V2 1.0 5.0##a person sits.',
                  'V3 10.0 20.0##a person eats.', 'V3 10.0 20.0##a person eats.']
CHARADES_SPANS = [(0.0, 2.0), (6.0, 2.0), (12.0, 20.0), (0.0, 1.0)]


def test_charades_sta_scores_and_lmms_eval_own_scoring_on_the_same_answers(tmp_path):
    """IoUs 0.5 (exactly), reversed, 0.8, 0. mmstvg (2D-TAN's protocol): R1
    strict ``>``; a reversed span is unparsable (0); both copies of the
    repeated line count. lmms-eval's ``temporal_grounding_charades``: ``>=``;
    it swaps a reversed span (IoU 3/5); it keys answers by ``video>>>caption
    >>>timestamp``, so the repeated line is scored once, with its last answer."""
    docs = docs_from_spec(write_charades(tmp_path, CHARADES_LINES))
    assert len(docs) == 4
    records = [process_results(doc, [f'{{"span": [{s}, {e}]}}'])['mIoU']
               for doc, (s, e) in zip(docs, CHARADES_SPANS)]
    ours = {key: aggregate(records, key)
            for key in ('R1@0.3', 'R1@0.5', 'R1@0.7', 'mIoU', 'num_failed_parse')}
    assert ours == pytest.approx({'R1@0.3': 50.0, 'R1@0.5': 25.0, 'R1@0.7': 25.0,
                                  'mIoU': 100 * 1.3 / 4, 'num_failed_parse': 1})

    from lmms_eval.tasks.charades_sta import utils as lmms_charades
    items = [lmms_charades.temporal_grounding_process_results_generation(
        dict(video=f'{line.split()[0]}.mp4', caption=line.split('##')[1],
             timestamp=[float(v) for v in line.split('##')[0].split()[1:]]),
        [f'The event happens in {s} - {e} seconds.'])['charades_sta_mIOU']
        for line, (s, e) in zip(CHARADES_LINES, CHARADES_SPANS)]
    theirs = lmms_charades._temporal_grounding_compute_metrics(items)
    assert theirs == pytest.approx({'IOU@3': 200 / 3, 'IOU@5': 200 / 3, 'IOU@7': 0.0,
                                    'mIOU': 100 * 1.1 / 3})


def test_the_comparison_tool_on_the_fixture(tmp_path):
    """``tools/analysis_tools/charades_lmms_eval_diff.py``, rule ``whole``
    (every answer 0-30 s): IoUs 4/30, 4/30, 10/30 and 10/30; lmms-eval scores
    the repeated line once."""
    from tools.analysis_tools.charades_lmms_eval_diff import compare, split_lines
    spec = write_charades(tmp_path, CHARADES_LINES)
    result = compare(docs_from_spec(spec), split_lines(tmp_path / 'charades_sta_test.txt'),
                     'whole')
    assert result['num_queries'] == 4 and result['num_scored_by_lmms_eval'] == 3
    assert result['mmstvg']['R1@0.3'] == pytest.approx(50.0)
    assert result['mmstvg']['mIoU'] == pytest.approx(100 * 28 / 30 / 4)
    assert result['lmms_eval']['IOU@3'] == pytest.approx(100 / 3)
    assert result['lmms_eval']['mIOU'] == pytest.approx(100 * 18 / 30 / 3)
