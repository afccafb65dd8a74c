"""Write the toy colour QA set (Video-MME rows) from a synthetic STVG split.

Example (after generate_synthetic_stvg.py)::

    python tools/dataset_converters/synthetic_qa.py \
        data/synthetic_stvg/annotations/hcstvg_v1_val.json \
        data/synthetic_stvg/annotations/qa_val.json

Then test a checkpoint on it: configs/video_qa/spacevllm_videomme.py with
``test_dataloader.dataset.ann_file=<out>`` and the videos' folder as
``data_prefix.video``.
"""
import argparse
import json
from collections import Counter

from mmstvg.utils.runtime_patches import apply_runtime_patches

# First, before the imports below load mmengine.runner (and DeepSpeed):
# safe checkpoint loading, atomic writes, the message filters.
apply_runtime_patches()

from mmstvg.datasets.synthetic_qa import synthetic_qa_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('hcstvg_json', help="a synthetic split's hcstvg_v1_<split>.json")
    parser.add_argument('out', help='the QA rows to write (json)')
    args = parser.parse_args()
    with open(args.hcstvg_json, encoding='utf-8') as f:
        rows = synthetic_qa_rows(json.load(f))
    with open(args.out, 'w', encoding='utf-8') as f:
        json.dump(rows, f)
    answers = Counter(row['answer'] for row in rows)
    print(f'wrote {len(rows)} questions to {args.out}; answers '
          f'{dict(sorted(answers.items()))}; nothing dropped')


if __name__ == '__main__':
    main()
