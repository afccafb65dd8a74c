"""Write the locked environment: every installed package at its exact version, as pip constraints.

``tools/setup_env.sh`` installs through ``requirements/constraints.txt``, so a fresh
machine gets the versions the test suite passed with, not whatever the registry
serves that day. To move the lock forward (``make lock`` runs the first two steps):

1. build an environment without the lock: ``VENV=.venv-lock MMSTVG_CONSTRAINTS=none
   bash tools/setup_env.sh``;
2. write it: ``.venv-lock/bin/python tools/misc/freeze_constraints.py
   > requirements/constraints.txt``;
3. run the suite in it (``VENV=.venv-lock``; ``make test`` with that venv) on both
   float paths (``.ci/run``), and commit the file with the result.

torch is written without its local label (``2.13.0``, not ``2.13.0+cpu``): the
constraint then admits the CPU build and a CUDA build of the same release, so a GPU
user's torch is kept. mmstvg itself (installed editable) is left out.

Usage::

    python tools/misc/freeze_constraints.py > requirements/constraints.txt
"""
import argparse
import platform
import sys
from importlib import metadata
from typing import Dict, Iterable, List

__all__ = ['installed_versions', 'constraint_lines', 'main']

#: Never locked: the project itself, and pip (the interpreter's own).
SKIPPED = {'mmstvg', 'pip'}


def installed_versions() -> Dict[str, str]:
    """``{normalised name: version}`` of every distribution in this environment."""
    versions = {}
    for dist in metadata.distributions():
        name = dist.metadata['Name']
        if name:
            versions[name.lower().replace('_', '-')] = dist.version
    return versions


def constraint_lines(versions: Dict[str, str], skipped: Iterable[str] = SKIPPED) -> List[str]:
    """``name==version`` lines, sorted; local version labels dropped (``+cpu``)."""
    skipped = {s.lower() for s in skipped}
    return [f'{name}=={version.split("+", 1)[0]}'
            for name, version in sorted(versions.items()) if name not in skipped]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    print('# The locked environment: the exact versions the test suite passed with.')
    print('# Written by tools/misc/freeze_constraints.py (see it for how to move it forward);')
    print(f'# Python {platform.python_version()} on {platform.machine()}. '
          'tools/setup_env.sh installs through it.')
    for line in constraint_lines(installed_versions()):
        print(line)
    return 0


if __name__ == '__main__':
    sys.exit(main())
