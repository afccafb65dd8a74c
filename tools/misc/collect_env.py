"""Print what a run's figures depend on: CPU, float kernels, threads, every package.

Paste its output into a bug report or beside published figures. The same text is
written at the head of every ``tools/train.py`` / ``tools/test.py`` log.

Usage::

    python tools/misc/collect_env.py          # readable lines
    python tools/misc/collect_env.py --json   # one JSON object
"""
import argparse
import json
import os
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from mmstvg.utils.runtime_patches import apply_runtime_patches  # noqa: E402

# First, before the imports below load mmengine.runner (and DeepSpeed):
# safe checkpoint loading, atomic writes, the message filters.
apply_runtime_patches()

from mmstvg.utils.collect_env import collect_env, format_env  # noqa: E402


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--json', action='store_true', help='print one JSON object')
    args = parser.parse_args(argv)
    info = collect_env()
    print(json.dumps(info, indent=1) if args.json else format_env(info))
    return info


if __name__ == '__main__':
    try:
        main()
    except BrokenPipeError:
        # A reader such as `head` stopped early: what it wanted was printed. Point stdout
        # at /dev/null so that the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
