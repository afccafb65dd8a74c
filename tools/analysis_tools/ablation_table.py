"""Collect the runs of ``run_ablation.sh`` into one table (markdown + JSON).

Each run's folder ``<ablation_dir>/<variant>/seed<k>/`` holds ``variant.json``
(``index``, ``name``, ``config``, ``cfg_options``, ``compared_with``, ``seed``,
``iters``, ``seconds``, ``checkpoint``, ``status``) and, when it finished,
``final_metrics.json`` (``tools/test.py --metrics-out``). A variant's row gives
each metric as ``mean ± sd`` over its finished seeds, the seeds done, and the
difference of its mean m_vIoU and m_tIoU to the row it is compared with. The
trivial answer (``<ablation_dir>/trivial_metrics.json``) is a last row.

Usage::

    python tools/analysis_tools/ablation_table.py work_dirs/ablation_toy \
        [--seeds 0 1 2] [--out ABLATION.md] [--json ABLATION.json]
"""
import argparse
import datetime
import json
import os
import os.path as osp
import platform
import statistics
import subprocess
from typing import Dict, List, Optional, Sequence, Tuple

__all__ = [
    'METRICS', 'DELTA_METRICS', 'read_metrics', 'mean_sd', 'collect_runs', 'summarize',
    'machine_info', 'to_markdown', 'main'
]

METRICS = ('m_tIoU', 'm_vIoU', 'vIoU@0.3', 'vIoU@0.5', 'gt_vIoU')
DELTA_METRICS = ('m_vIoU', 'm_tIoU')
TRIVIAL_NAME = 'trivial answer'


def read_metrics(path: str) -> Dict[str, float]:
    """Reads a metrics JSON file.

    Both ``tools/test.py --metrics-out``'s flat ``{"stvg/m_vIoU": ...}`` and
    the nested ``{"model": {...}}`` form are read.

    Args:
        path: the JSON file.

    Returns:
        ``{metric: value}`` of its numbers, prefixes such as ``stvg/`` dropped.

    Raises:
        ValueError: naming the file when it holds none of :data:`METRICS`.
    """
    with open(path, encoding='utf-8') as file:
        data = json.load(file)
    if isinstance(data.get('model'), dict):
        data = data['model']
    metrics = {key.split('/')[-1]: float(value) for key, value in data.items()
               if isinstance(value, (int, float)) and not isinstance(value, bool)}
    if not any(name in metrics for name in METRICS):
        raise ValueError(f'{path}: none of {METRICS} in it')
    return metrics


def mean_sd(values: Sequence[float]) -> Tuple[Optional[float], Optional[float]]:
    """Mean and sample standard deviation (n - 1).

    Args:
        values: the values, one a seed.

    Returns:
        ``(mean, sd)``; ``sd`` is None with fewer than two values, and both
        are None with none.
    """
    if not values:
        return None, None
    if len(values) == 1:
        return float(values[0]), None
    return statistics.mean(values), statistics.stdev(values)


def _read_json(path: str) -> dict:
    with open(path, encoding='utf-8') as file:
        return json.load(file)


def collect_runs(ablation_dir: str) -> List[dict]:
    """Reads every run folder ``<ablation_dir>/<variant>/seed<k>/``.

    Args:
        ablation_dir: the ablation's output folder.

    Returns:
        One dict a run: the fields of its ``variant.json`` and ``metrics``
        (None when it has no ``final_metrics.json``; its ``status`` then says
        why, ``no final_metrics.json`` when the run itself reported ok).

    Raises:
        FileNotFoundError: when no run is found.
    """
    runs = []
    for variant in sorted(os.listdir(ablation_dir)):
        variant_dir = osp.join(ablation_dir, variant)
        if not osp.isdir(variant_dir):
            continue
        for seed_dir in sorted(os.listdir(variant_dir)):
            run_dir = osp.join(variant_dir, seed_dir)
            info_path = osp.join(run_dir, 'variant.json')
            if not seed_dir.startswith('seed') or not osp.isfile(info_path):
                continue
            run = _read_json(info_path)
            run.setdefault('name', variant)
            if run.get('seed') is None:
                run['seed'] = int(seed_dir[len('seed'):])
            metrics_path = osp.join(run_dir, 'final_metrics.json')
            run['metrics'] = read_metrics(metrics_path) if osp.isfile(metrics_path) else None
            if run['metrics'] is None and run.get('status', 'ok') == 'ok':
                run['status'] = 'no final_metrics.json'
            runs.append(run)
    if not runs:
        raise FileNotFoundError(f'{ablation_dir}: no <variant>/seed<k>/variant.json')
    return runs


def _metric_stats(finished: List[dict]) -> Dict[str, dict]:
    stats = {}
    for metric in METRICS:
        values = [run['metrics'][metric] for run in finished if metric in run['metrics']]
        mean, sd = mean_sd(values)
        stats[metric] = dict(mean=mean, sd=sd, n=len(values), values=values)
    return stats


def summarize(runs: List[dict], seeds: Optional[Sequence[int]] = None) -> List[dict]:
    """Groups the runs into one row a variant, in the order the script lists them.

    Args:
        runs: the output of :func:`collect_runs`.
        seeds: the seeds every variant should have; default: every seed that
            any run has.

    Returns:
        One dict a variant: ``name``, ``index``, ``config``, ``cfg_options``,
        ``compared_with``, ``seeds_expected``, ``seeds_done``,
        ``seeds_missing``, ``metrics`` (``{metric: {mean, sd, n, values}}``),
        ``delta`` (``{metric: mean minus the compared row's mean or None}``
        for :data:`DELTA_METRICS`), ``failed`` (``[{seed, status}]``),
        ``seconds`` (all its runs), ``iters`` and ``runs``.
    """
    expected = sorted({int(s) for s in seeds} if seeds is not None
                      else {int(run['seed']) for run in runs})
    by_name: Dict[str, List[dict]] = {}
    for run in runs:
        by_name.setdefault(run['name'], []).append(run)
    rows = []
    for name, variant_runs in by_name.items():
        variant_runs.sort(key=lambda run: run['seed'])
        first = variant_runs[0]
        finished = [run for run in variant_runs if run['metrics'] is not None]
        done = sorted(int(run['seed']) for run in finished)
        iters = sorted({run.get('iters') for run in variant_runs
                        if run.get('iters') is not None})
        rows.append(dict(
            name=name, index=first.get('index'), config=first.get('config', ''),
            cfg_options=first.get('cfg_options') or '',
            compared_with=first.get('compared_with') or None,
            seeds_expected=expected, seeds_done=done,
            seeds_missing=[seed for seed in expected if seed not in done],
            metrics=_metric_stats(finished),
            failed=[dict(seed=run['seed'], status=run.get('status'))
                    for run in variant_runs if run['metrics'] is None],
            # None when no run recorded its time (runs imported from before the script)
            seconds=(sum(run['seconds'] for run in variant_runs if run.get('seconds'))
                     if any(run.get('seconds') for run in variant_runs) else None),
            iters=iters, runs=variant_runs))
    rows.sort(key=lambda row: (row['index'] is None, row['index'] or 0, row['name']))
    means = {row['name']: row['metrics'] for row in rows}
    for row in rows:
        other = means.get(row['compared_with']) if row['compared_with'] else None
        row['delta'] = {}
        for metric in DELTA_METRICS:
            ours = row['metrics'][metric]['mean']
            theirs = other[metric]['mean'] if other else None
            row['delta'][metric] = None if ours is None or theirs is None else ours - theirs
    return rows


def machine_info() -> dict:
    """The machine, CPU, torch and its threads, the commit and the date.

    Returns:
        A dict with ``machine``, ``cpu``, ``cores``, ``python``, ``date``,
        ``commit`` and, when torch imports, ``torch`` and ``torch_threads``.
    """
    info = dict(machine=platform.machine(), cpu=platform.processor() or platform.machine(),
                cores=os.cpu_count(), python=platform.python_version(),
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


def _number(value: Optional[float], signed: bool = False) -> str:
    if value is None:
        return '-'
    return f'{value:+.1f}' if signed else f'{value:.1f}'


def _mean_sd_cell(stats: dict) -> str:
    if stats['mean'] is None:
        return '-'
    if stats['sd'] is None:
        return _number(stats['mean'])
    return f'{stats["mean"]:.1f} ± {stats["sd"]:.1f}'


def _seeds_cell(row: dict) -> str:
    text = f'{len(row["seeds_done"])} of {len(row["seeds_expected"])}'
    if row['seeds_missing']:
        text += f' (missing: {", ".join(str(s) for s in row["seeds_missing"])})'
    return text


def _minutes(seconds: Optional[float]) -> str:
    if seconds is None:
        return '-'
    minutes, sec = divmod(int(round(seconds)), 60)
    return f'{minutes} min {sec:02d} s'


def to_markdown(rows: List[dict], trivial: Optional[Dict[str, float]], machine: dict) -> str:
    """Renders the table, the failed runs and a footer saying how it was measured.

    Args:
        rows: the output of :func:`summarize`.
        trivial: the trivial answer's metrics, or None.
        machine: the output of :func:`machine_info`.

    Returns:
        The markdown text.
    """
    header = (['variant'] + list(METRICS) + ['seeds', 'compared with'] +
              [f'Δ {metric}' for metric in DELTA_METRICS] + ['train + test', 'what changes'])
    lines = ['| ' + ' | '.join(header) + ' |', '|' + ' --- |' * len(header)]
    for row in rows:
        change = f'`{row["config"]}`'
        if row['cfg_options']:
            change += f' `{row["cfg_options"]}`'
        cells = ([row['name']] + [_mean_sd_cell(row['metrics'][m]) for m in METRICS] +
                 [_seeds_cell(row), row['compared_with'] or '-'] +
                 [_number(row['delta'][m], signed=True) for m in DELTA_METRICS] +
                 [_minutes(row['seconds']), change])
        lines.append('| ' + ' | '.join(cells) + ' |')
    if trivial:
        cells = ([TRIVIAL_NAME] + [_number(trivial.get(m)) for m in METRICS] +
                 ['-'] * (2 + len(DELTA_METRICS) + 1) + ['whole video, centred box'])
        lines.append('| ' + ' | '.join(cells) + ' |')
    failed = [(row['name'], run) for row in rows for run in row['failed']]
    if failed:
        lines += ['', 'Failed runs:', '']
        lines += [f'- {name}, seed {run["seed"]}: {run["status"]}' for name, run in failed]
    threads = machine.get('torch_threads')
    other_threads = [f'{row["name"]} seed {run["seed"]} ({run["threads"]})'
                     for row in rows for run in row['runs']
                     if threads is not None and run.get('threads') not in (None, threads)]
    iters = sorted({i for row in rows for i in row['iters']})
    seeds = sorted({s for row in rows for s in row['seeds_expected']})
    total = sum(row['seconds'] or 0 for row in rows)
    lines += ['', (
        f'Measured {machine.get("date")} on commit {machine.get("commit")}, '
        f'{machine.get("machine")} with {machine.get("cores")} cores '
        f'({machine.get("cpu")}), torch {machine.get("torch", "?")} with '
        f'{machine.get("torch_threads", "?")} threads; '
        f'{", ".join(str(i) for i in iters) or "?"} training iterations a run; '
        f'seeds {", ".join(str(s) for s in seeds) or "?"} (mean ± sample sd over the '
        f'seeds done); {_minutes(total)} of runs in all.')]
    if other_threads:
        lines[-1] += (' Runs on another number of threads (float sums in another order): '
                      + ', '.join(other_threads) + '.')
    return '\n'.join(lines) + '\n'


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parses the command line (see the module's usage)."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('ablation_dir')
    parser.add_argument('--seeds', type=int, nargs='+', default=None,
                        help='the seeds every variant should have (default: all found)')
    parser.add_argument('--out', default=None, help='markdown (default <dir>/ablation.md)')
    parser.add_argument('--json', default=None, help='JSON (default <dir>/ablation.json)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Writes ``ablation.md`` and ``ablation.json`` and prints the markdown.

    Args:
        argv: the command line; default ``sys.argv[1:]``.

    Returns:
        What is written to the JSON file.
    """
    args = parse_args(argv)
    rows = summarize(collect_runs(args.ablation_dir), args.seeds)
    trivial_path = osp.join(args.ablation_dir, 'trivial_metrics.json')
    trivial = read_metrics(trivial_path) if osp.isfile(trivial_path) else None
    machine = machine_info()
    markdown = to_markdown(rows, trivial, machine)
    out = args.out or osp.join(args.ablation_dir, 'ablation.md')
    out_json = args.json or osp.join(args.ablation_dir, 'ablation.json')
    reference = next((row['name'] for row in rows if not row['compared_with']), None)
    result = dict(machine=machine, reference=reference,
                  seeds=sorted({s for row in rows for s in row['seeds_expected']}),
                  variants=rows, trivial_answer=trivial)
    with open(out, 'w', encoding='utf-8') as file:
        file.write(markdown)
    with open(out_json, 'w', encoding='utf-8') as file:
        json.dump(result, file, indent=2)
    print(markdown)
    print(f'wrote {out} and {out_json}')
    return result


if __name__ == '__main__':
    main()
