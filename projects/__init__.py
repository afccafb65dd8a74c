"""Methods built on mmstvg as plugins.

Each project is a package of its own (``projects.<name>.<name>``) whose modules
register their parts in mmstvg's registries when imported. A config loads a
project with::

    custom_imports = dict(imports=['projects.spacevllm.spacevllm'],
                          allow_failed_imports=False)

The repository root must be on ``sys.path`` (``tools/train.py`` and the tests
put it there).
"""
