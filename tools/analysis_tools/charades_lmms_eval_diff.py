r"""Score the same Charades-STA answers with mmstvg's task and with lmms-eval's own.

mmstvg's ``charades_sta`` task (``TemporalGroundingMetric``, 2D-TAN's
protocol) and lmms-eval's ``temporal_grounding_charades`` differ in the
threshold (``>`` against ``>=``), in what a reversed span scores, in how a
repeated query line counts, and in their ground truth (lmms-eval's dataset
``lmms-lab/charades_sta`` stores the times as float16, and mmstvg clips an
end past the video to its length). This tool answers every query of a split
by a fixed rule and prints both sets of figures on those answers; lmms-eval's
side runs its own scoring code (``lmms_eval/tasks/charades_sta/utils.py``) on
ground truth rounded to float16 as its dataset holds it (``--exact-gt``
keeps the split file's times). Example::

    python tools/analysis_tools/charades_lmms_eval_diff.py \
        data/synthetic_stvg/annotations/charades_sta_test.txt \
        --meta data/synthetic_stvg/annotations/video_meta.json --rule gt_rounded
"""
import argparse
import json
import os.path as osp
import sys

import numpy as np

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

#: How each rule answers a document (``gt``: the split file's span; ``duration``).
RULES = {
    'whole': lambda gt, duration: (0.0, duration),
    'first_half': lambda gt, duration: (0.0, duration / 2),
    'gt_rounded': lambda gt, duration: (round(gt[0], 1), round(gt[1], 1)),
    'gt_shifted': lambda gt, duration: (round(gt[0] + 1.0, 1), round(gt[1] + 1.0, 1)),
}


def split_lines(path: str) -> list:
    """``(vid, start, end)`` of each line of a split file, as written."""
    out = []
    with open(path) as f:
        for line in f:
            if line.strip():
                vid, start, end = line.split('##')[0].split()
                out.append((vid, float(start), float(end)))
    return out


def compare(docs, lines, rule: str, exact_gt: bool = False) -> dict:
    """Both sets of figures for the rule's answers to ``docs``.

    Args:
        docs: the task's documents of a split (mmstvg's ground truth).
        lines: :func:`split_lines` of the same split, in the same order
            (lmms-eval's ground truth is the line's times).
        rule: a key of :data:`RULES`.
        exact_gt: lmms-eval's side on the lines' times, not float16.
    """
    from lmms_eval.tasks.charades_sta import utils as lmms_charades

    from mmstvg.lmms_eval_tasks.scoring import aggregate, process_results
    answers = [RULES[rule](doc['gt_span_seconds'], doc['duration']) for doc in docs]
    records = [process_results(doc, [json.dumps({'span': list(span)})])['mIoU']
               for doc, span in zip(docs, answers)]
    ours = {key: aggregate(records, key) for key in ('R1@0.3', 'R1@0.5', 'R1@0.7', 'mIoU')}
    items = []
    if [doc['video_id'] for doc in docs] != [line[0] for line in lines]:
        raise ValueError('the documents and the split file\'s lines differ')
    for doc, span, line in zip(docs, answers, lines):
        gt = list(line[1:]) if exact_gt else np.float16(line[1:]).astype(float).tolist()
        items.append(lmms_charades.temporal_grounding_process_results_generation(
            dict(video=f'{doc["video_id"]}.mp4', caption=doc['sentence'], timestamp=gt),
            [f'The event happens in {span[0]} - {span[1]} seconds.'])['charades_sta_mIOU'])
    theirs = lmms_charades._temporal_grounding_compute_metrics(items)
    return dict(num_queries=len(docs), num_scored_by_lmms_eval=len(
        {k for item in items for k in item}), mmstvg=ours, lmms_eval=theirs)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     epilog=__doc__.split('\n\n', 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('split_file', help='charades_sta_test.txt')
    parser.add_argument('--meta', required=True, help='video_meta.json (the converter\'s)')
    parser.add_argument('--rule', choices=sorted(RULES), default='gt_rounded')
    parser.add_argument('--exact-gt', action='store_true',
                        help='lmms-eval\'s side on the split file\'s times, not float16')
    args = parser.parse_args(argv)
    from mmstvg.utils.runtime_patches import apply_runtime_patches
    apply_runtime_patches()  # mmstvg/utils/runtime_patches.py
    from mmstvg.lmms_eval_tasks.docs import docs_from_spec
    spec = dict(dataset=dict(type='CharadesSTADataset', data_root='',
                             ann_file=osp.abspath(args.split_file),
                             meta_file=osp.abspath(args.meta), clip_end_to='auto',
                             check_video_exists=False),
                num_frames=1, qtype=None)
    docs = docs_from_spec(spec, args.split_file)
    print(json.dumps(compare(docs, split_lines(args.split_file), args.rule, args.exact_gt),
                     indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
