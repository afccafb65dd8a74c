"""The toy's figures over seeds and float paths: one row a run, and each metric's range.

Reads ``OUT_DIR/<path>_seed<k>/final_metrics.json`` (written by
``tools/analysis_tools/toy_spread.sh``) with the ``env.json`` and ``seconds`` beside
it, and writes ``OUT_DIR/spread.md`` (a table a run, then min / max / mean / sample
standard deviation a metric) and ``OUT_DIR/spread.json``. Runs still missing are
named, so a partial campaign gives a partial table that says so.

With ``--write-readme README.md`` the range table replaces the one between the
README's ``<!-- toy-table:start -->`` and ``<!-- toy-table:end -->`` markers (the table
``tools/misc/check_readme_figures.py`` checks ``make toy`` against), so the README's
figures are written by this script, not by hand.

Usage::

    python tools/analysis_tools/toy_spread_table.py work_dirs/toy_spread \
        [--expect native_seed0 native_seed1 ...] [--write-readme README.md]
"""
import argparse
import glob
import json
import os.path as osp
import statistics
from typing import Dict, List, Optional

__all__ = ['METRICS', 'load_runs', 'summarise', 'range_table', 'to_markdown',
           'replace_readme_table', 'main']

START_MARKER, END_MARKER = '<!-- toy-table:start -->', '<!-- toy-table:end -->'
METRIC_LABELS = {'gt_vIoU': 'gt_vIoU (boxes scored on the true span)'}

METRICS = ('m_tIoU', 'm_vIoU', 'vIoU@0.3', 'vIoU@0.5', 'gt_vIoU')


def _metric(metrics: dict, name: str) -> Optional[float]:
    for key, value in metrics.items():
        if key.split('/')[-1] == name and isinstance(value, (int, float)):
            return float(value)
    return None


def load_runs(out_dir: str) -> List[dict]:
    """Every finished run under ``out_dir``, sorted by name.

    Returns:
        ``[{'name', 'model': {metric: value}, 'trivial_answer': {...},
        'base_zero_shot': {...}, 'seconds', 'cpu', 'cpu_capability', 'threads'}]``;
        ``base_zero_shot`` holds the pretrained base's figures before grounding
        training (only ``m_tIoU``: it answers in words, without boxes) where
        ``tools/run_toy.sh`` wrote them, None elsewhere.
    """
    runs = []
    for path in sorted(glob.glob(osp.join(out_dir, '*', 'final_metrics.json'))):
        run_dir = osp.dirname(path)
        with open(path, encoding='utf-8') as file:
            final = json.load(file)
        env = {}
        if osp.exists(osp.join(run_dir, 'env.json')):
            with open(osp.join(run_dir, 'env.json'), encoding='utf-8') as file:
                env = json.load(file)
        seconds = None
        if osp.exists(osp.join(run_dir, 'seconds')):
            with open(osp.join(run_dir, 'seconds'), encoding='utf-8') as file:
                seconds = int(file.read().strip())
        zero_shot = final.get('base_zero_shot') or {}
        runs.append(dict(
            name=osp.basename(run_dir),
            model={m: _metric(final['model'], m) for m in METRICS},
            trivial_answer={m: _metric(final['trivial_answer'], m) for m in METRICS},
            base_zero_shot={m: _metric(zero_shot, m) for m in METRICS},
            seconds=seconds, cpu=env.get('cpu'),
            cpu_capability=env.get('torch_cpu_capability'),
            threads=env.get('torch_num_threads')))
    return runs


def summarise(runs: List[dict], column: str = 'model') -> Dict[str, dict]:
    """``{metric: {'min', 'max', 'mean', 'std', 'n'}}`` over ``runs`` (std: sample, 0 for one run)."""
    summary = {}
    for metric in METRICS:
        values = [r[column][metric] for r in runs if r[column][metric] is not None]
        if not values:
            continue
        summary[metric] = dict(
            min=min(values), max=max(values), mean=statistics.fmean(values),
            std=statistics.stdev(values) if len(values) > 1 else 0.0, n=len(values))
    return summary


def range_table(runs: List[dict], num_test_videos: Optional[int] = None) -> str:
    """The README's toy table: each metric's range over ``runs``, mean ± sd, trivial
    answer, and (when the runs have it) the base's zero-shot figure before training."""
    model, trivial = summarise(runs), summarise(runs, 'trivial_answer')
    base = summarise([r for r in runs if r.get('base_zero_shot')], 'base_zero_shot')
    split = f'test, {num_test_videos} videos' if num_test_videos else 'test'
    header = (f'| metric ({split}, TubeDETR protocol) | toy SpaceVLLM (range over '
              f'{len(runs)} runs) | mean ± sd | trivial answer |')
    lines = [header + (' base, zero-shot |' if base else ''),
             '| --- | --- | --- | --- |' + (' --- |' if base else '')]
    for metric, s in model.items():
        t, b = trivial.get(metric), base.get(metric)
        line = (f"| {METRIC_LABELS.get(metric, metric)} | {s['min']:.1f} – {s['max']:.1f} | "
                f"{s['mean']:.1f} ± {s['std']:.1f} | " + (f"{t['mean']:.1f} |" if t else '? |'))
        if base:
            cell = '-' if b is None else (f"{b['min']:.1f}" if b['min'] == b['max']
                                          else f"{b['min']:.1f} – {b['max']:.1f}")
            line += f' {cell} |'
        lines.append(line)
    return '\n'.join(lines)


def to_markdown(runs: List[dict], missing: List[str],
                num_test_videos: Optional[int] = None) -> str:
    """The per-run table and the range table, as markdown."""
    lines = ['| run | CPU | kernels | threads | minutes | '
             + ' | '.join(METRICS) + ' |',
             '| --- | --- | --- | --- | --- | ' + ' | '.join('---' for _ in METRICS) + ' |']
    for run in runs:
        minutes = f"{run['seconds'] / 60:.1f}" if run['seconds'] else '?'
        lines.append(f"| {run['name']} | {run['cpu']} | {run['cpu_capability']} | "
                     f"{run['threads']} | {minutes} | "
                     + ' | '.join(f'{run["model"][m]:.2f}' for m in METRICS) + ' |')
    lines += ['', range_table(runs, num_test_videos)]
    if missing:
        lines += ['', f'Missing ({len(missing)}): ' + ', '.join(missing)]
    return '\n'.join(lines) + '\n'


def replace_readme_table(readme_text: str, table: str, source: str = 'README.md') -> str:
    """``readme_text`` with the text between the toy-table markers replaced by ``table``.

    Raises:
        ValueError: when the markers are missing or out of order.
    """
    start, end = readme_text.find(START_MARKER), readme_text.find(END_MARKER)
    if start < 0 or end < start:
        raise ValueError(f'{source}: no "{START_MARKER}" ... "{END_MARKER}" block')
    return (readme_text[:start + len(START_MARKER)] + '\n' + table + '\n'
            + readme_text[end:])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir')
    parser.add_argument('--expect', nargs='*', default=None,
                        help='run names that should be there (default: the folders present)')
    parser.add_argument('--num-test-videos', type=int, default=None,
                        help='the test split\'s size, for the table\'s header')
    parser.add_argument('--write-readme', default=None,
                        help='replace the toy table between the markers of this README')
    args = parser.parse_args(argv)
    runs = load_runs(args.out_dir)
    expected = args.expect
    if expected is None:
        expected = sorted(osp.basename(p) for p in glob.glob(osp.join(args.out_dir, '*'))
                          if osp.isdir(p))
    done = {r['name'] for r in runs}
    missing = [name for name in expected if name not in done]
    markdown = to_markdown(runs, missing, args.num_test_videos)
    result = dict(runs=runs, missing=missing, model=summarise(runs),
                  trivial_answer=summarise(runs, 'trivial_answer'))
    with open(osp.join(args.out_dir, 'spread.md'), 'w', encoding='utf-8') as file:
        file.write(markdown)
    with open(osp.join(args.out_dir, 'spread.json'), 'w', encoding='utf-8') as file:
        json.dump(result, file, indent=1)
    if args.write_readme:
        with open(args.write_readme, encoding='utf-8') as file:
            text = file.read()
        text = replace_readme_table(text, range_table(runs, args.num_test_videos),
                                    args.write_readme)
        with open(args.write_readme, 'w', encoding='utf-8') as file:
            file.write(text)
    print(markdown)
    print(json.dumps(dict(runs=len(runs), missing=missing)))
    return result


if __name__ == '__main__':
    main()
