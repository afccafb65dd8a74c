"""Collect the runs of ``run_ablation.sh`` into one table (markdown + JSON).

Each variant's folder ``<ablation_dir>/<name>/`` holds ``variant.json``
(written by the script: ``name``, ``config``, ``cfg_options``, ``iters``,
``seconds``, ``checkpoint``, ``status``) and, when its run finished,
``final_metrics.json`` (``tools/test.py --metrics-out``: ``{"stvg/m_vIoU": ...}``;
the nested ``{"model": {...}}`` of ``tools/run_toy.sh`` is read too). A variant
whose run failed is listed with its status instead of figures. The first
variant is the reference of the ``Δ m_vIoU`` column; the trivial answer (whole
video, centred box), when ``<ablation_dir>/trivial_metrics.json`` exists, is a
last row.

Usage::

    python tools/analysis_tools/ablation_table.py work_dirs/ablation \
        [--out work_dirs/ablation/ablation.md] [--json work_dirs/ablation/ablation.json]

The markdown goes to stdout too; the last line printed is the JSON's path.
"""
import argparse
import datetime
import json
import os
import os.path as osp
import platform
import subprocess
import sys
from typing import Dict, List, Optional

__all__ = ['METRICS', 'read_metrics', 'collect', 'machine_info', 'to_markdown', 'main']

METRICS = ('m_tIoU', 'm_vIoU', 'vIoU@0.3', 'vIoU@0.5', 'gt_vIoU')
REFERENCE_METRIC = 'm_vIoU'


def read_metrics(path: str) -> Dict[str, float]:
    """``{metric: value}`` of a metrics json, prefixes (``stvg/``) dropped.

    Raises:
        ValueError: naming the file when it holds no STVG metric.
    """
    with open(path, encoding='utf-8') as file:
        data = json.load(file)
    if isinstance(data.get('model'), dict):  # tools/run_toy.sh's final_metrics.json
        data = data['model']
    metrics = {key.split('/')[-1]: float(value) for key, value in data.items()
               if isinstance(value, (int, float))}
    if not any(m in metrics for m in METRICS):
        raise ValueError(f'{path}: none of {METRICS} in it')
    return metrics


def _read_json(path: str) -> dict:
    with open(path, encoding='utf-8') as file:
        return json.load(file)


def collect(ablation_dir: str) -> List[dict]:
    """One row a variant, in the order ``run_ablation.sh`` ran them.

    Variants are the sub-folders with a ``variant.json``, sorted by its
    ``index``; each row has the variant's fields, ``metrics`` (None when the
    run has none) and ``delta`` (its m_vIoU minus the first variant's).

    Raises:
        FileNotFoundError: when no variant is found.
    """
    rows = []
    for name in sorted(os.listdir(ablation_dir)):
        info_path = osp.join(ablation_dir, name, 'variant.json')
        if not osp.isfile(info_path):
            continue
        row = _read_json(info_path)
        row.setdefault('name', name)
        metrics_path = osp.join(ablation_dir, name, 'final_metrics.json')
        row['metrics'] = read_metrics(metrics_path) if osp.isfile(metrics_path) else None
        if row['metrics'] is None and row.get('status', 'ok') == 'ok':
            row['status'] = 'no final_metrics.json'
        rows.append(row)
    if not rows:
        raise FileNotFoundError(f'{ablation_dir}: no <variant>/variant.json')
    rows.sort(key=lambda r: (r.get('index', 1 << 30), r['name']))
    reference = rows[0]['metrics'] or {}
    for row in rows:
        ours = (row['metrics'] or {}).get(REFERENCE_METRIC)
        ref = reference.get(REFERENCE_METRIC)
        row['delta'] = None if ours is None or ref is None else ours - ref
    return rows


def machine_info() -> dict:
    """CPU, cores, torch threads, the git commit and the date of this table."""
    info = dict(cpu=platform.processor() or platform.machine(), cores=os.cpu_count(),
                python=platform.python_version(),
                date=datetime.datetime.now().strftime('%Y-%m-%d %H:%M'))
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as file:
            names = [line.split(':', 1)[1].strip() for line in file
                     if line.startswith('model name')]
        if names:
            info['cpu'] = names[0]
    except OSError:
        pass
    try:
        import torch
        info['torch'] = torch.__version__
        info['torch_threads'] = torch.get_num_threads()
    except ImportError:
        pass
    try:
        info['commit'] = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'],
                                        capture_output=True, text=True,
                                        check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        info['commit'] = 'unknown'
    return info


def _fmt(value: Optional[float], signed: bool = False) -> str:
    if value is None:
        return '-'
    return f'{value:+.1f}' if signed else f'{value:.1f}'


def _minutes(seconds: Optional[float]) -> str:
    if not seconds:
        return '-'
    minutes, sec = divmod(int(round(seconds)), 60)
    return f'{minutes} min {sec:02d} s'


def to_markdown(rows: List[dict], trivial: Optional[Dict[str, float]], machine: dict) -> str:
    """The table, and a line saying where and on what it was measured."""
    iters = sorted({r.get('iters') for r in rows if r.get('iters') is not None}, key=str)
    header = (['variant'] + list(METRICS) + [f'Δ {REFERENCE_METRIC}', 'train + test',
                                               'what changes'])
    lines = ['| ' + ' | '.join(header) + ' |', '|' + ' --- |' * len(header)]
    for row in rows:
        metrics = row['metrics'] or {}
        change = row.get('cfg_options') or ''
        change = f'`{row.get("config", "")}`' + (f' `{change}`' if change else '')
        cells = [row['name']] + [_fmt(metrics.get(m)) for m in METRICS]
        if row['metrics'] is None:
            cells[1] = f'{row.get("status", "failed")}'
        cells += [_fmt(row['delta'], signed=True), _minutes(row.get('seconds')), change]
        lines.append('| ' + ' | '.join(cells) + ' |')
    if trivial:
        cells = ['trivial answer'] + [_fmt(trivial.get(m)) for m in METRICS]
        lines.append('| ' + ' | '.join(cells + ['-', '-', 'whole video, centred box']) + ' |')
    total = sum(r.get('seconds') or 0 for r in rows)
    lines.append('')
    lines.append(
        f'Measured {machine.get("date")} on commit {machine.get("commit")}: '
        f'{machine.get("cores")} cores ({machine.get("cpu")}), torch '
        f'{machine.get("torch", "?")} with {machine.get("torch_threads", "?")} threads; '
        f'{", ".join(str(i) for i in iters) or "?"} training iterations a variant, the same '
        f'data and seed; {_minutes(total)} in all.')
    return '\n'.join(lines) + '\n'


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('ablation_dir')
    parser.add_argument('--out', default=None, help='markdown (default <dir>/ablation.md)')
    parser.add_argument('--json', default=None, help='JSON (default <dir>/ablation.json)')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    rows = collect(args.ablation_dir)
    trivial_path = osp.join(args.ablation_dir, 'trivial_metrics.json')
    trivial = read_metrics(trivial_path) if osp.isfile(trivial_path) else None
    machine = machine_info()
    markdown = to_markdown(rows, trivial, machine)
    out = args.out or osp.join(args.ablation_dir, 'ablation.md')
    out_json = args.json or osp.join(args.ablation_dir, 'ablation.json')
    result = dict(machine=machine, reference=rows[0]['name'], variants=rows,
                  trivial_answer=trivial)
    with open(out, 'w', encoding='utf-8') as file:
        file.write(markdown)
    with open(out_json, 'w', encoding='utf-8') as file:
        json.dump(result, file, indent=2)
    print(markdown)
    print(f'wrote {out} and {out_json}')
    return result


if __name__ == '__main__':
    main()
    sys.exit(0)
