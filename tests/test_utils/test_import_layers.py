"""mmstvg's packages import each other in layers, without cycles.

Read from the source (``ast``, nothing is imported): the ``import`` statements
that run when a module is imported (module level, class bodies, module-level
``if`` / ``try`` blocks), not those under ``if TYPE_CHECKING:``. Imports inside
functions are checked too: they must also go down the layers, except those of
``register_all_modules`` (``mmstvg/utils/setup_env.py``), which imports every
package in its body, as mmdet's does. The layers are documented in
``docs/en/architecture.md`` ("Packages and their layers").
"""
import ast
import os.path as osp
from collections import defaultdict
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Set, Tuple

PACKAGE_DIR = Path(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))) / 'mmstvg'

#: What mmstvg.utils, the lowest layer, must not import at module level.
ABOVE_UTILS = ('engine', 'models', 'datasets', 'evaluation', 'apis', 'visualization',
               'data_construction', 'testing')

#: mmstvg's top-level packages and modules, bottom layer first. A module may
#: import from lower layers only (not from its own layer, nor from above).
LAYERS = (
    ('utils', 'version'),
    ('registry', 'structures', 'testing'),
    ('models', 'visualization'),
    ('datasets',),
    ('engine', 'evaluation', 'data_construction'),
    ('lmms_eval_tasks',),
    ('apis',),
)
RANK = {name: rank for rank, layer in enumerate(LAYERS) for name in layer}

#: Files whose function-level imports may go up the layers, and why.
LAZY_UPWARD_IMPORTS = {
    # register_all_modules() imports every package to fill the registries.
    'mmstvg/utils/setup_env.py',
}


def _module_name(path: Path) -> Tuple[str, bool]:
    """``('mmstvg.utils.atomic_io', False)``, or ``('mmstvg.utils', True)`` for
    a package's ``__init__.py``."""
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix('').parts)
    if parts[-1] == '__init__':
        return '.'.join(parts[:-1]), True
    return '.'.join(parts), False


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == 'TYPE_CHECKING') or (
        isinstance(test, ast.Attribute) and test.attr == 'TYPE_CHECKING')


def _import_time_statements(body: List[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements of ``body`` that run at import, nested blocks included."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from _import_time_statements(node.orelse)
            continue
        yield node
        for field in ('body', 'orelse', 'finalbody', 'handlers'):
            children = getattr(node, field, None) or []
            for child in children:
                if isinstance(child, ast.ExceptHandler):
                    yield from _import_time_statements(child.body)
            yield from _import_time_statements(
                [c for c in children if isinstance(c, ast.stmt)])


def _imported_modules(path: Path, lazy: bool = False) -> Iterator[str]:
    """Absolute names of the modules ``path`` imports at import time (with
    ``lazy``: anywhere, function bodies included)."""
    module, is_package = _module_name(path)
    tree = ast.parse(path.read_text(encoding='utf-8'), filename=str(path))
    nodes = ast.walk(tree) if lazy else _import_time_statements(tree.body)
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split('.')
                base = base[:len(base) - node.level + (1 if is_package else 0)]
                target = '.'.join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ''
            yield target
            for alias in node.names:  # `from mmstvg import engine` names a package
                yield f'{target}.{alias.name}'


def _layer(name: str) -> Optional[str]:
    """The top-level part of mmstvg a module belongs to (``'utils'``,
    ``'registry'``...), ``''`` for ``mmstvg/__init__.py``, None outside mmstvg."""
    parts = name.split('.')
    if parts[0] != 'mmstvg':
        return None
    if len(parts) == 1:
        return ''
    top = parts[1]
    exists = (PACKAGE_DIR / top).is_dir() or (PACKAGE_DIR / f'{top}.py').is_file()
    return top if exists else ''


def package_graph(lazy: bool = False) -> Dict[str, Dict[str, Set[str]]]:
    """``{layer: {imported layer: {files that import it}}}`` at import time
    (with ``lazy``: function-level imports included)."""
    graph: Dict[str, Dict[str, Set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in sorted(PACKAGE_DIR.rglob('*.py')):
        source = _layer(_module_name(path)[0])
        for name in _imported_modules(path, lazy):
            target = _layer(name)
            if target is not None and target != source:
                graph[source][target].add(str(path.relative_to(PACKAGE_DIR.parent)))
    return graph


def _find_cycle(graph: Dict[str, Dict[str, Set[str]]]) -> Optional[List[str]]:
    state: Dict[str, int] = {}  # 1: on the current path, 2: done
    path: List[str] = []

    def visit(node: str) -> Optional[List[str]]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, {})):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def _describe(graph, cycle: List[str]) -> str:
    steps = []
    for a, b in zip(cycle, cycle[1:]):
        steps.append(f'{a or "mmstvg"} -> {b or "mmstvg"} ({", ".join(sorted(graph[a][b]))})')
    return '; '.join(steps)


def test_the_graph_is_read_from_the_source():
    graph = package_graph()
    # Known edges: the engine's hooks use utils, the APIs use the engine.
    assert 'utils' in graph['engine']
    assert 'engine' in graph['apis']
    assert 'registry' in graph['models']


def test_mmstvg_packages_import_each_other_without_cycles():
    graph = package_graph()
    cycle = _find_cycle(graph)
    assert cycle is None, f'import cycle between mmstvg packages: {_describe(graph, cycle)}'


def test_utils_is_the_lowest_layer():
    imported = package_graph()['utils']
    above = {layer: sorted(files) for layer, files in imported.items()
             if layer in ABOVE_UTILS}
    assert not above, (f'mmstvg.utils imports higher layers at module level: {above}; '
                       'import them inside the function that needs them')


def test_importing_mmstvg_imports_only_its_version():
    assert set(package_graph()['']) <= {'version'}


def test_function_level_imports_are_not_counted():
    # register_all_modules imports mmstvg.engine in its body: no module-level edge.
    setup_env = PACKAGE_DIR / 'utils' / 'setup_env.py'
    assert 'import mmstvg.engine' in setup_env.read_text()
    assert not {_layer(n) for n in _imported_modules(setup_env)} & set(ABOVE_UTILS)


def _top_level_parts() -> Set[str]:
    return {p.name for p in PACKAGE_DIR.iterdir() if (p / '__init__.py').is_file()} | {
        p.stem for p in PACKAGE_DIR.glob('*.py') if p.stem != '__init__'}


def _upward_edges(graph) -> List[str]:
    """``'a -> b (files)'`` for each edge that does not go down the layers
    (``mmstvg/__init__.py``, layer ``''``, is checked on its own above)."""
    return [f'{a} -> {b} ({", ".join(sorted(files))})'
            for a, targets in sorted(graph.items()) if a
            for b, files in sorted(targets.items()) if b and files and RANK[b] >= RANK[a]]


def test_every_package_has_a_layer():
    assert _top_level_parts() == set(RANK), (
        'place each top-level package of mmstvg in LAYERS (and in '
        'docs/en/architecture.md): '
        f'{sorted(_top_level_parts() ^ set(RANK))}')


def test_packages_import_only_lower_layers():
    upward = _upward_edges(package_graph())
    assert not upward, f'imports that do not go down the layers: {upward}'


def test_function_level_imports_go_down_the_layers_too():
    graph = package_graph(lazy=True)
    for targets in graph.values():
        for files in targets.values():
            files -= LAZY_UPWARD_IMPORTS
    upward = _upward_edges(graph)
    assert not upward, (f'function-level imports that go up the layers (an '
                        f'import cycle, deferred): {upward}')


def test_the_layers_are_documented():
    doc = (PACKAGE_DIR.parent / 'docs' / 'en' / 'architecture.md').read_text()
    section = doc.split('## Packages and their layers', 1)[1].split('\n## ', 1)[0]
    missing = [name for name in RANK if f'`{name}`' not in section]
    assert not missing, f'packages missing from the layers in the docs: {missing}'
