"""Learning-rate schedules that follow ``--cfg-options train_cfg.max_iters=...`` (ours).

A config writes its schedule in iterations (``end=4000``) next to the loop
length (``max_iters=4000``). Overriding only the loop length leaves the
schedule as written, so a 20-iteration run only ever warms up.
:func:`follow_loop_length` runs once, in ``tools/train.py``, after the
overrides: when the loop's length changed and the schedule was not
overridden itself, every scheduler counted in the loop's unit (iterations
for an iteration-based loop, epochs for an epoch-based one) has its
``begin``/``end`` scaled by new / old length (the warm-up stays the same
fraction of the run; a stage scaled below 2 steps, which MMEngine would
apply as its start factor only, is dropped), and it says so. A schedule that still does not fit the
loop (ends after it, or was overridden by hand) is warned about.
"""
import copy
import math
from typing import Iterable, List, Optional, Tuple

from mmengine.config import Config
from mmengine.logging import print_log

__all__ = ['follow_loop_length', 'loop_length']


def loop_length(train_cfg) -> Tuple[Optional[str], Optional[int]]:
    """``('iter', max_iters)``, ``('epoch', max_epochs)`` or ``(None, None)``."""
    if not train_cfg:
        return None, None
    if train_cfg.get('max_iters') is not None:
        return 'iter', int(train_cfg['max_iters'])
    if train_cfg.get('max_epochs') is not None:
        return 'epoch', int(train_cfg['max_epochs'])
    return None, None


def _in_loop_unit(scheduler: dict, unit: str) -> bool:
    by_epoch = scheduler.get('by_epoch', True)
    return by_epoch == (unit == 'epoch')


def _as_list(schedulers) -> List[dict]:
    if schedulers is None:
        return []
    return list(schedulers) if isinstance(schedulers, (list, tuple)) else [schedulers]


def _span(scheduler: dict, length: int) -> str:
    return f'{scheduler["type"]} [{scheduler.get("begin", 0)}, {scheduler.get("end", length)})'


def follow_loop_length(cfg: Config, file_cfg: Config,
                       overridden_keys: Iterable[str] = ()) -> Config:
    """Scale the schedule with the loop length when only the loop was overridden.

    Args:
        cfg: the config after the command-line overrides; changed in place.
        file_cfg: the config as the file gives it.
        overridden_keys: the ``--cfg-options`` keys; any under
            ``param_scheduler`` keeps the schedule as given.

    Returns:
        The config.
    """
    unit, new = loop_length(cfg.get('train_cfg'))
    old_unit, old = loop_length(file_cfg.get('train_cfg'))
    schedulers = _as_list(cfg.get('param_scheduler'))
    if unit is None or not schedulers:
        return cfg
    by_hand = any(str(k).startswith('param_scheduler') for k in overridden_keys)
    if old_unit == unit and old and new != old and not by_hand:
        before = [_span(s, old) for s in schedulers if _in_loop_unit(s, unit)]

        def scale(value: int) -> int:
            # The same rounding for every boundary keeps adjacent stages adjacent.
            if value >= old:
                return new
            return 0 if value <= 0 else max(1, math.floor(value * new / old + 0.5))

        scaled, dropped = [], []
        for scheduler in schedulers:
            scheduler = copy.deepcopy(scheduler)
            if _in_loop_unit(scheduler, unit):
                scheduler['begin'] = scale(scheduler.get('begin', 0))
                if 'end' in scheduler:
                    scheduler['end'] = max(scale(scheduler['end']), scheduler['begin'] + 1)
                # MMEngine updates a stage on steps [begin, end): a one-step
                # stage (a warm-up scaled to one iteration) would only apply
                # its start factor and leave the rest of the run there.
                if scheduler.get('end', new) - scheduler['begin'] < 2 and \
                        scheduler.get('end', new) < new:
                    dropped.append(_span(scheduler, new))
                    continue
            scaled.append(scheduler)
        cfg.param_scheduler = scaled if isinstance(cfg.param_scheduler, list) else scaled[0]
        after = [_span(s, new) for s in scaled if _in_loop_unit(s, unit)]
        print_log(f'train_cfg.max_{unit}s changed from {old} to {new}: the schedule '
                  f'follows ({"; ".join(before)} -> {"; ".join(after)})'
                  + (f'; dropped as shorter than 2 {unit}s: {"; ".join(dropped)}'
                     if dropped else '') + '.', logger='current')
        schedulers = scaled
    for scheduler in schedulers:
        if _in_loop_unit(scheduler, unit) and scheduler.get('end', new) > new:
            print_log(f'param_scheduler {_span(scheduler, new)} ends after the training '
                      f'loop (max_{unit}s={new}): the schedule does not follow the loop '
                      'length; set its begin/end too.', logger='current', level=30)
    return cfg
