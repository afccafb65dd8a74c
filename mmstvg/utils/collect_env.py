"""What a run's figures depend on: the machine, the float kernels and every package.

Two machines with the same commit, seed and packages still give other figures when
their CPUs run other float kernels (AVX-512 against AVX2, another thread count):
the reduction order changes, and a training run amplifies the last bits. So a log
that states figures also states the CPU, the kernel level torch dispatches to, the
thread counts and the variables that cap them, beside every installed package.
``tools/misc/collect_env.py`` prints this; ``build_runner`` writes it at the head
of every train and test log.
"""
import os
import platform
import sys
from collections import OrderedDict
from importlib import metadata
from typing import Dict

__all__ = ['FLOAT_PATH_VARIABLES', 'cpu_model', 'collect_env', 'format_env']

#: Environment variables that change which float kernels run (and so the last
#: bits of every result): the ISA caps of torch, MKL and oneDNN and the thread
#: counts of OpenMP, MKL and OpenBLAS.
FLOAT_PATH_VARIABLES = ('ATEN_CPU_CAPABILITY', 'MKL_ENABLE_INSTRUCTIONS', 'ONEDNN_MAX_CPU_ISA',
                        'OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS',
                        'OPENBLAS_CORETYPE')


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo`` (``platform.processor()`` elsewhere)."""
    try:
        with open('/proc/cpuinfo', encoding='utf-8', errors='replace') as file:
            for line in file:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def _packages() -> Dict[str, str]:
    versions = {}
    for dist in metadata.distributions():
        name = dist.metadata['Name']
        if name:
            versions[name.lower()] = dist.version
    return dict(sorted(versions.items()))


def collect_env() -> 'OrderedDict[str, object]':
    """The facts a run's figures depend on, as a JSON-serialisable dict.

    Returns:
        ``{'python', 'platform', 'cpu', 'cpu_count', 'torch', 'torch_cpu_capability',
        'torch_num_threads', 'cuda', 'float_path_env', 'packages'}``; ``packages``
        maps every installed distribution (lower-case name) to its version.
    """
    import torch  # here, so that ``--json`` callers and the tests control the import

    info: 'OrderedDict[str, object]' = OrderedDict()
    info['python'] = sys.version.replace('\n', ' ')
    info['platform'] = platform.platform()
    info['cpu'] = cpu_model()
    info['cpu_count'] = os.cpu_count()
    info['torch'] = torch.__version__
    info['torch_cpu_capability'] = torch.backends.cpu.get_cpu_capability()
    info['torch_num_threads'] = torch.get_num_threads()
    info['cuda'] = (torch.cuda.get_device_name(0) if torch.cuda.is_available()
                    else 'not available')
    info['float_path_env'] = {name: os.environ[name] for name in FLOAT_PATH_VARIABLES
                              if name in os.environ}
    info['packages'] = _packages()
    return info


def format_env(info: Dict[str, object]) -> str:
    """``collect_env()`` as aligned ``key: value`` lines (packages one a line)."""
    lines = []
    for key, value in info.items():
        if key == 'packages':
            lines.append(f'packages ({len(value)}):')
            lines.extend(f'  {name}=={version}' for name, version in value.items())
        elif key == 'float_path_env':
            shown = ' '.join(f'{k}={v}' for k, v in value.items()) or '(none set)'
            lines.append(f'{key}: {shown}')
        else:
            lines.append(f'{key}: {value}')
    return '\n'.join(lines)
