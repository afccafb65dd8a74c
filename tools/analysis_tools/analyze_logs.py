"""Plot training curves and time the iterations of MMEngine's json logs (as mmdet's).

MMEngine writes one json object a line to ``<work_dir>/<timestamp>/vis_data/
scalars.json`` (and ``<timestamp>.json``): training records carry ``iter``,
validation records carry the metrics (``stvg/m_vIoU`` ...). Iteration-based
runs log validation with ``step`` 0 (MMEngine's ``log_metric_by_epoch``), so a
validation record is placed at the last training iteration logged before it.

Examples::

    python tools/analysis_tools/analyze_logs.py plot_curve \
        work_dirs/spacevllm_toy/20261202_061743/vis_data/scalars.json \
        --keys loss loss_lm stvg/m_vIoU --out curves.png
    python tools/analysis_tools/analyze_logs.py plot_curve work_dirs/a work_dirs/b \
        --keys loss --legend a b --out loss.png     # a work dir: its latest log
    python tools/analysis_tools/analyze_logs.py cal_train_time work_dirs/spacevllm_toy

``plot_curve`` draws one panel a key, one line a log; its last line is JSON
(``out``, per log and key the number of points). ``cal_train_time`` prints per
log the mean, std, fastest and slowest seconds an iteration over the logged
intervals, and as its last line JSON with the same figures.
"""
import argparse
import glob
import json
import math
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence

__all__ = ['resolve_log', 'load_json_log', 'curve', 'plot_curve', 'cal_train_time', 'main']


def resolve_log(path: str) -> str:
    """A json log file, or the latest ``vis_data/scalars.json`` under a work dir.

    Raises:
        FileNotFoundError: when ``path`` is neither a file nor a folder with a log.
    """
    if osp.isfile(path):
        return path
    if osp.isdir(path):
        found = sorted(glob.glob(osp.join(path, '*', 'vis_data', 'scalars.json')))
        if not found and osp.isfile(osp.join(path, 'vis_data', 'scalars.json')):
            found = [osp.join(path, 'vis_data', 'scalars.json')]
        if found:
            return found[-1]
    raise FileNotFoundError(f'{path}: no json log (a scalars.json, or a work dir with '
                            '<timestamp>/vis_data/scalars.json)')


def load_json_log(path: str) -> Dict[str, List[dict]]:
    """Read an MMEngine json log into training and validation records.

    Args:
        path: the ``.json`` log (one json object a line).

    Returns:
        ``dict(train=[...], val=[...])``; every record has an ``iter``
        (validation: the last training ``iter`` logged before it, or its own
        ``iter`` / ``step`` when it has one and no training record came first).

    Raises:
        ValueError: naming the file and line of a line that is not a json object.
    """
    train, val = [], []
    last_iter = 0
    with open(path, encoding='utf-8') as file:
        for number, line in enumerate(file, 1):
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f'{path}:{number}: not a json object ({error})') from None
            if not isinstance(record, dict):
                raise ValueError(f'{path}:{number}: not a json object')
            if 'iter' in record:
                last_iter = int(record.get('iter', last_iter))
                train.append(record)
            else:
                record = dict(record)
                record['iter'] = last_iter if last_iter else int(record.get('step', 0))
                val.append(record)
    return dict(train=train, val=val)


def curve(log: Dict[str, List[dict]], key: str):
    """``(iters, values)`` of ``key`` in the training or else validation records."""
    for split in ('train', 'val'):
        points = [(r['iter'], float(r[key])) for r in log[split]
                  if key in r and isinstance(r[key], (int, float))]
        if points:
            return [p[0] for p in points], [p[1] for p in points]
    return [], []


def plot_curve(log_paths: Sequence[str],
               keys: Sequence[str],
               out: Optional[str] = None,
               legend: Optional[Sequence[str]] = None,
               title: Optional[str] = None,
               dpi: int = 100) -> dict:
    """Plot ``keys`` of the logs, one panel a key, one line a log.

    Args:
        log_paths: json logs or work dirs (see :func:`resolve_log`).
        keys: scalar names (``loss``, ``loss_lm``, ``lr``, ``stvg/m_vIoU`` ...).
        out: the png to write; None shows a window.
        legend: a label per log; default the log's file name.
        title: a title over the panels.
        dpi: resolution of the png.

    Returns:
        ``dict(out=out, points={label: {key: number of points}})``.

    Raises:
        KeyError: when a key is in none of the logs (the keys that are there
            are named).
    """
    import matplotlib
    if out is not None:
        matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    paths = [resolve_log(p) for p in log_paths]
    logs = [load_json_log(p) for p in paths]
    labels = list(legend) if legend else [osp.basename(osp.dirname(osp.dirname(p)))
                                          or osp.basename(p) for p in paths]
    if len(labels) != len(paths):
        raise ValueError(f'--legend has {len(labels)} labels for {len(paths)} logs')
    missing = [k for k in keys if not any(curve(log, k)[0] for log in logs)]
    if missing:
        present = sorted({k for log in logs for split in log.values() for r in split
                          for k, v in r.items() if isinstance(v, (int, float))})
        raise KeyError(f'{missing} not in {paths}; keys there: {present}')

    fig, axes = plt.subplots(len(keys), 1, figsize=(7, 2.4 * len(keys) + 0.6),
                             squeeze=False, sharex=True)
    points = {label: {} for label in labels}
    for ax, key in zip(axes[:, 0], keys):
        for log, label in zip(logs, labels):
            iters, values = curve(log, key)
            points[label][key] = len(iters)
            if iters:
                ax.plot(iters, values, marker='o' if len(iters) < 20 else None,
                        markersize=3, label=label)
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        if len(logs) > 1:
            ax.legend(fontsize='small')
    axes[-1, 0].set_xlabel('iteration')
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if out is None:
        plt.show()
    else:
        if osp.dirname(out):
            os.makedirs(osp.dirname(out), exist_ok=True)
        fig.savefig(out, dpi=dpi)
    plt.close(fig)
    return dict(out=out, points=points)


def cal_train_time(log_paths: Sequence[str], include_outliers: bool = False) -> dict:
    """Seconds an iteration of each log, over its logged training intervals.

    Each training record's ``time`` is the mean over one ``LoggerHook``
    interval. The first interval (warm-up, dataloader start) is left out
    unless ``include_outliers``.

    Returns:
        ``{path: dict(mean, std, fastest, slowest, fastest_iter, slowest_iter,
        num_intervals, last_iter)}`` in seconds an iteration.

    Raises:
        ValueError: when a log has no training record with a ``time``.
    """
    results = {}
    for path in (resolve_log(p) for p in log_paths):
        records = [r for r in load_json_log(path)['train'] if 'time' in r]
        if not include_outliers and len(records) > 1:
            records = records[1:]
        if not records:
            raise ValueError(f'{path}: no training record with a "time" field')
        times = [float(r['time']) for r in records]
        mean = sum(times) / len(times)
        std = math.sqrt(sum((t - mean)**2 for t in times) / len(times))
        slow = max(range(len(times)), key=times.__getitem__)
        fast = min(range(len(times)), key=times.__getitem__)
        results[path] = dict(mean=mean, std=std, fastest=times[fast], slowest=times[slow],
                             fastest_iter=records[fast]['iter'],
                             slowest_iter=records[slow]['iter'],
                             num_intervals=len(times), last_iter=records[-1]['iter'])
    return results


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Analyze MMEngine json logs')
    sub = parser.add_subparsers(dest='task', required=True)
    plot = sub.add_parser('plot_curve', help='plot scalars of json logs')
    plot.add_argument('json_logs', nargs='+', help='json logs or work dirs')
    plot.add_argument('--keys', nargs='+', default=['loss'], help='scalars to plot')
    plot.add_argument('--legend', nargs='+', default=None, help='a label per log')
    plot.add_argument('--title', default=None)
    plot.add_argument('--out', default=None, help='png to write (default: a window)')
    plot.add_argument('--dpi', type=int, default=100)
    timing = sub.add_parser('cal_train_time', help='seconds an iteration')
    timing.add_argument('json_logs', nargs='+', help='json logs or work dirs')
    timing.add_argument('--include-outliers', action='store_true',
                        help='keep the first logged interval')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.task == 'plot_curve':
        result = plot_curve(args.json_logs, args.keys, args.out, args.legend, args.title,
                            args.dpi)
        for label, counts in result['points'].items():
            print(f'{label}: ' + ', '.join(f'{k} {n} points' for k, n in counts.items()))
        if args.out:
            print(f'wrote {args.out}')
    else:
        result = cal_train_time(args.json_logs, args.include_outliers)
        for path, t in result.items():
            print(f'{path}: {t["mean"]:.3f} s/iter (std {t["std"]:.3f}) over '
                  f'{t["num_intervals"]} logged intervals up to iter {t["last_iter"]}; '
                  f'slowest {t["slowest"]:.3f} s at iter {t["slowest_iter"]}, '
                  f'fastest {t["fastest"]:.3f} s at iter {t["fastest_iter"]}')
    print(json.dumps(result))
    return result


if __name__ == '__main__':
    sys.exit(main() and 0)
