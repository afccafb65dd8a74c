"""Fail when the README's toy table and a toy run's final_metrics.json disagree.

The README states the toy figures ``make toy`` reproduces. ``tools/run_toy.sh``
calls this script at its end on the run it just made, so a figure that no
longer matches the code fails the job instead of going stale.

The README's table is the first markdown table whose header has a
``toy SpaceVLLM`` column (and optionally ``trivial answer``); each row's first
cell starts with a metric name (``m_tIoU``, ``m_vIoU``, ``vIoU@0.3``,
``vIoU@0.5``, ``gt_vIoU``: the text up to the first space). A figure agrees
when ``|README - json| <= tolerance``; the default 0.1 covers the README's
rounding to one decimal (0.05) with room for the last digit of a printout.

What is deterministic: the toy run is seeded, so on the same machine with the
same thread count (and library versions) a rerun gives the same figures to
the last bit. Another CPU, thread count or library version changes the float
summation order, and the figures drift by a few tenths; pass a larger
``--tolerance`` there (and say so where you publish the figures).

Usage::

    python tools/misc/check_readme_figures.py \
        [--readme README.md] [--metrics work_dirs/spacevllm_toy/final_metrics.json] \
        [--tolerance 0.1]

Exits 0 when every figure agrees, 1 otherwise (each disagreement printed);
the last line is JSON.
"""
import argparse
import json
import sys
from typing import Dict, List, Optional, Tuple

__all__ = ['parse_toy_table', 'compare', 'main']

COLUMNS = {'toy SpaceVLLM': 'model', 'trivial answer': 'trivial_answer'}
DEFAULT_TOLERANCE = 0.1


def _cells(line: str) -> List[str]:
    return [c.strip() for c in line.strip().strip('|').split('|')]


def parse_toy_table(readme_text: str,
                    source: str = 'README.md') -> Dict[str, Dict[str, float]]:
    """The README's toy figures: ``{'model': {metric: value}, 'trivial_answer': ...}``.

    Args:
        readme_text: the README's markdown.
        source: the file's name, for errors.

    Raises:
        ValueError: when no such table is found, or a figure is not a number.
    """
    lines = readme_text.splitlines()
    for start, line in enumerate(lines):
        if not line.lstrip().startswith('|'):
            continue
        header = _cells(line)
        columns = {i: COLUMNS[name] for i, name in enumerate(header) if name in COLUMNS}
        if 'model' not in columns.values():
            continue
        figures: Dict[str, Dict[str, float]] = {name: {} for name in columns.values()}
        for number, row in enumerate(lines[start + 2:], start + 3):
            if not row.lstrip().startswith('|'):
                break
            cells = _cells(row)
            metric = cells[0].split(' ')[0]
            for index, name in columns.items():
                if index >= len(cells):
                    continue
                try:
                    figures[name][metric] = float(cells[index])
                except ValueError:
                    raise ValueError(f'{source}:{number}: {metric!r} of {name!r} is '
                                     f'{cells[index]!r}, not a number') from None
        if not figures['model']:
            raise ValueError(f'{source}:{start + 1}: the toy table has no rows')
        return figures
    raise ValueError(f'{source}: no markdown table with a "toy SpaceVLLM" column')


def _json_value(metrics: dict, metric: str) -> Optional[float]:
    """``metrics[metric]``, or the key whose last ``/`` part is ``metric``."""
    if metric in metrics:
        return float(metrics[metric])
    for key, value in metrics.items():
        if key.split('/')[-1] == metric and isinstance(value, (int, float)):
            return float(value)
    return None


def compare(readme: Dict[str, Dict[str, float]], final_metrics: dict,
            tolerance: float = DEFAULT_TOLERANCE) -> Tuple[List[str], int]:
    """Every README figure against ``final_metrics.json``.

    Returns:
        ``(problems, num_checked)``: one line per figure that disagrees by more
        than ``tolerance`` or that the json lacks.
    """
    problems, checked = [], 0
    for column, figures in readme.items():
        metrics = final_metrics.get(column)
        if not isinstance(metrics, dict):
            problems.append(f'final_metrics.json has no "{column}" dict')
            continue
        for metric, stated in figures.items():
            measured = _json_value(metrics, metric)
            checked += 1
            if measured is None:
                problems.append(f'{column} {metric}: README {stated}, not in the json')
            elif abs(stated - measured) > tolerance + 1e-9:
                problems.append(f'{column} {metric}: README {stated}, measured '
                                f'{measured:.2f} (|diff| {abs(stated - measured):.2f} > '
                                f'{tolerance})')
    return problems, checked


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--readme', default='README.md')
    parser.add_argument('--metrics', default='work_dirs/spacevllm_toy/final_metrics.json')
    parser.add_argument('--tolerance', type=float, default=DEFAULT_TOLERANCE,
                        help='largest |README - measured| that agrees (default 0.1)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    with open(args.readme, encoding='utf-8') as file:
        readme = parse_toy_table(file.read(), args.readme)
    with open(args.metrics, encoding='utf-8') as file:
        final_metrics = json.load(file)
    problems, checked = compare(readme, final_metrics, args.tolerance)
    for line in problems:
        print(f'[check_readme_figures] {args.readme} vs {args.metrics}: {line}')
    if not problems:
        print(f'[check_readme_figures] {args.readme}: all {checked} toy figures agree with '
              f'{args.metrics} within {args.tolerance}')
    print(json.dumps(dict(ok=not problems, checked=checked, problems=problems,
                          tolerance=args.tolerance)))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
