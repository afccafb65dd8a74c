"""Installs mmstvg. The heavy stack (torch, mmcv with ops) is set up by tools/setup_env.sh."""
import os.path as osp

from setuptools import find_packages, setup


def read_requirements(name):
    path = osp.join(osp.dirname(__file__), 'requirements', name)
    with open(path) as f:
        return [line.strip() for line in f
                if line.strip() and not line.startswith('#')]


def read_version():
    namespace = {}
    with open(osp.join(osp.dirname(__file__), 'mmstvg', 'version.py')) as f:
        exec(f.read(), namespace)
    return namespace['__version__']


setup(
    name='mmstvg',
    version=read_version(),
    description='Spatio-temporal video grounding with multimodal LLMs, '
    'built on OpenMMLab (SpaceVLLM and baselines).',
    long_description=open('README.md').read() if osp.exists('README.md') else '',
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmstvg', 'mmstvg.*']),
    # mmstvg's lmms-eval tasks: their YAMLs and data specs (mmstvg/lmms_eval_tasks).
    package_data={'mmstvg.lmms_eval_tasks': ['*.yaml', '*.jsonl']},
    python_requires='>=3.9',
    install_requires=read_requirements('runtime.txt'),
    extras_require={
        'tests': read_requirements('tests.txt'),
        'optional': read_requirements('optional.txt'),
        'lmms_eval': ['lmms-eval'],
        # the web demo (demo/gradio_app.py) and its browser test
        'demo': read_requirements('demo.txt') + read_requirements('gradio.txt'),
    },
    # `python -m lmms_eval --model mmstvg ...` (mmstvg/apis/lmms_eval_model.py).
    entry_points={
        'lmms_eval.models': ['mmstvg = mmstvg.apis.lmms_eval_model:lmms_eval_manifest'],
    },
    license='Apache License 2.0',
)
