"""What a base video LLM says about the synthetic videos before any grounding training.

For each video of a split it asks the base two one-round questions
(:func:`mmstvg.datasets.synthetic_language.zero_shot_entries`): the caption
request it was trained on, and "When does the <target> move?", whose answer
states the span of the video's grounding sentence. It reports

- ``caption_sentence_recall``: the share of the reference caption's sentences
  (one fact each) the generated caption states word for word, in %;
- ``m_tIoU``: the mean temporal IoU of the span parsed from the "when" answer
  ("from 1.2s to 3.4s") with the target span; an answer without a span
  scores 0 and is counted in ``num_no_span``;
- ``R@0.5`` / ``R@0.7``: the share of videos with tIoU at least 0.5 / 0.7,

and writes every question, reference and answer beside them. The base is
loaded only through the full-size path (``model.llava_onevision_path``).

Example:
    python tools/analysis_tools/base_zero_shot.py \\
        configs/base_pretrain/llava_video_tiny_stage2_sft.py \\
        data/pretrained/llava_video_tiny --split val --out work_dirs/base_zero_shot.json
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys
import tempfile
from typing import Dict, List, Optional, Tuple

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from mmstvg.utils.runtime_patches import apply_runtime_patches  # noqa: E402

# First, before the imports below load mmengine.runner (and DeepSpeed):
# safe checkpoint loading, atomic writes, the message filters.
apply_runtime_patches()

from mmengine.config import Config  # noqa: E402

from mmstvg.utils.config_options import ConfigOptionsAction  # noqa: E402


def parse_args(argv: Optional[List[str]] = None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='a configs/base_pretrain/ config (the pipeline, '
                        'prompt and answer part)')
    parser.add_argument('base', help='the base in the llava_qwen layout '
                        '(tools/model_converters/export_llava_qwen.py)')
    parser.add_argument('--split', default='val')
    parser.add_argument('--num-videos', type=int, help='the first N videos (default all)')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--out', help='write the figures and the answers to this JSON file')
    parser.add_argument('--cfg-options', nargs='+', action=ConfigOptionsAction)
    return parser.parse_args(argv)


def score_answers(entries: List[dict], answers: Dict[str, str]) -> dict:
    """The figures of the module docstring from ``id -> generated answer``.

    Raises:
        KeyError: an entry has no answer (the run lost a sample).
        ValueError: no entry: every figure would read 0 without a video
            behind it.
    """
    from mmstvg.evaluation.functional.text_answers import (parse_seconds_span,
                                                           sentence_recall, temporal_iou)
    if not entries:
        raise ValueError('no question to score: every figure would read 0 '
                         'without a video behind it')
    recalls, ious, no_span = [], [], 0
    for entry in entries:
        answer = answers[entry['id']]
        reference = entry['conversations'][1]['value']
        if entry['id'].endswith('_cap'):
            recalls.append(sentence_recall(answer, reference))
            continue
        span = parse_seconds_span(answer)
        if span is None:
            no_span += 1
            ious.append(0.0)
        else:
            ious.append(temporal_iou(span, entry['gt_span_seconds']))
    count = max(len(ious), 1)
    return dict(
        caption_sentence_recall=100 * sum(recalls) / max(len(recalls), 1),
        m_tIoU=100 * sum(ious) / count,
        **{'R@0.5': 100 * sum(i >= 0.5 for i in ious) / count,
           'R@0.7': 100 * sum(i >= 0.7 for i in ious) / count},
        num_videos=len(ious), num_no_span=no_span)


def generate_answers(cfg: Config, base: str, ann_file: str, batch_size: int) -> Dict[str, str]:
    """Load the base through ``llava_onevision_path`` and answer every entry."""
    import torch
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope
    from mmengine.utils import import_modules_from_strings, track_iter_progress

    from mmstvg.registry import DATASETS, MODELS
    if cfg.get('custom_imports', None):
        import_modules_from_strings(**cfg.custom_imports)
    init_default_scope(cfg.get('default_scope', 'mmstvg'))
    from mmstvg.datasets.transforms import with_prompt_tokenization
    model_cfg = dict(cfg.model, llava_onevision_path=base)
    model = MODELS.build(copy.deepcopy(model_cfg)).eval()
    # the prompts tokenized in the pipeline, with the model's text parts
    pipeline = with_prompt_tokenization(cfg.test_pipeline, model_cfg)
    dataset_cfg = dict(cfg.train_dataloader.dataset, ann_file=ann_file, data_sources=None,
                       test_mode=True, pipeline=pipeline)
    dataset = DATASETS.build(dataset_cfg)
    answers = {}
    starts = list(range(0, len(dataset), batch_size))
    with torch.no_grad():
        for start in track_iter_progress(starts, file=sys.stderr):
            batch = pseudo_collate([dataset[i] for i in range(
                start, min(start + batch_size, len(dataset)))])
            for sample in model.test_step(batch):
                answers[sample.metainfo['sample_id']] = sample.pred_text
    return answers


def zero_shot(cfg: Config, base: str, split: str, num_videos: Optional[int] = None,
              batch_size: int = 8) -> Tuple[dict, List[dict]]:
    """Ask the base about the first ``num_videos`` videos of ``split``.

    Raises:
        ValueError: ``num_videos`` below 1 (``--num-videos 0`` asked for
            nothing, a negative one would drop the last videos instead), or a
            scenes file with no scene: no figure would have a video behind it.

    Returns:
        The figures (:func:`score_answers`) and one record a question (id,
        question, reference, answer, ``gt_span_seconds``).
    """
    from mmstvg.datasets.synthetic_language import zero_shot_entries
    if num_videos is not None and num_videos < 1:
        raise ValueError(f'--num-videos must be >= 1 (leave it out for every '
                         f'video), got {num_videos}')
    data_root = cfg.train_dataloader.dataset.data_root
    scenes_file = osp.join(data_root, 'annotations', f'scenes_{split}.json')
    with open(scenes_file, encoding='utf-8') as f:
        scenes = json.load(f)
    if not isinstance(scenes, list) or not scenes:
        raise ValueError(f'{scenes_file}: holds no scene (a list of scenes '
                         f'expected, got {scenes!r:.60}): nothing to ask about')
    scenes = scenes[:num_videos]
    entries = zero_shot_entries(scenes)
    with tempfile.TemporaryDirectory() as tmp:
        ann_file = osp.join(tmp, f'zero_shot_{split}.json')
        with open(ann_file, 'w', encoding='utf-8') as f:
            json.dump(entries, f)
        answers = generate_answers(cfg, base, ann_file, batch_size)
    records = [dict(id=e['id'], question=e['conversations'][0]['value'],
                    reference=e['conversations'][1]['value'], answer=answers[e['id']],
                    gt_span_seconds=e['gt_span_seconds']) for e in entries]
    return score_answers(entries, answers), records


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    figures, records = zero_shot(cfg, args.base, args.split, args.num_videos, args.batch_size)
    print(json.dumps(figures, indent=2))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump(dict(base=args.base, split=args.split, figures=figures,
                           answers=records), f, indent=2)
    return figures


if __name__ == '__main__':
    main()
