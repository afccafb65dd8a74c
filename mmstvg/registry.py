"""Registries of mmstvg.

Every OpenMMLab registry here is a child of MMEngine's root registry of the same
kind, so a config with ``default_scope='mmstvg'`` finds both mmstvg's components
and MMEngine's (``Runner``, ``IterBasedTrainLoop``, ``CheckpointHook`` ...), and
can name mmdet's with a scope prefix (``type='mmdet.GIoULoss'``).

Four plugin registries carry the parts a grounding model is composed of. A part
registered in one of them is registered in :data:`MODELS` too, so a config names
it by its type string wherever a model is built, and a user's own part,
registered in their own module and imported through ``custom_imports``, is
found exactly like a built-in one:

- :data:`VISION_ENCODERS`: frames -> visual tokens per frame.
- :data:`QUERY_INTERLEAVERS`: place learnable query tokens among visual tokens.
- :data:`LLM_BACKBONES`: the causal language model and its tokenizer.
- :data:`SPACE_DECODERS`: query / visual / text hidden states -> a box per frame.

Three more registries hold the parts of the automatic STVG data construction
(``tools/data_construction/build_stvg.py``): :data:`OBJECT_PICKERS`,
:data:`GROUNDING_DETECTORS` and :data:`CONSTRUCTION_FILTERS`. Like the plugin
registries they are roots with the scope ``mmstvg`` (MMEngine's roots already
hold mmstvg's ``mmstvg`` child of every kind that would fit), so they build
whatever default scope is current.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import INFERENCERS as MMENGINE_INFERENCERS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import \
    RUNNER_CONSTRUCTORS as MMENGINE_RUNNER_CONSTRUCTORS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import STRATEGIES as MMENGINE_STRATEGIES
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

# Runners and their parts.
RUNNERS = Registry('runner', parent=MMENGINE_RUNNERS, locations=['mmstvg.engine'])
RUNNER_CONSTRUCTORS = Registry(
    'runner constructor', parent=MMENGINE_RUNNER_CONSTRUCTORS, locations=['mmstvg.engine'])
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, locations=['mmstvg.engine'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, locations=['mmstvg.engine'])
STRATEGIES = Registry('strategy', parent=MMENGINE_STRATEGIES, locations=['mmstvg.engine'])
LOG_PROCESSORS = Registry(
    'log processor', parent=MMENGINE_LOG_PROCESSORS, locations=['mmstvg.engine'])

# Data.
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, locations=['mmstvg.datasets'])
DATA_SAMPLERS = Registry(
    'data sampler', parent=MMENGINE_DATA_SAMPLERS, locations=['mmstvg.datasets'])
TRANSFORMS = Registry(
    'transform', parent=MMENGINE_TRANSFORMS, locations=['mmstvg.datasets.transforms'])
FUNCTIONS = Registry('function', parent=MMENGINE_FUNCTIONS, locations=['mmstvg.datasets'])

# Models.
MODELS = Registry('model', parent=MMENGINE_MODELS, locations=['mmstvg.models'])
MODEL_WRAPPERS = Registry(
    'model wrapper', parent=MMENGINE_MODEL_WRAPPERS, locations=['mmstvg.models'])
WEIGHT_INITIALIZERS = Registry(
    'weight initializer', parent=MMENGINE_WEIGHT_INITIALIZERS, locations=['mmstvg.models'])
TASK_UTILS = Registry('task util', parent=MMENGINE_TASK_UTILS, locations=['mmstvg.models'])



class PluginRegistry(Registry):
    """A registry of one kind of model part that is also a view of :data:`MODELS`.

    MMEngine keys a registry's children by scope, and all of mmstvg's registries
    share the scope ``mmstvg``; so rather than a child of ``MODELS``, a plugin
    registry is a root of its own that mirrors every registration into
    ``MODELS``. Looking a part up here finds only parts of this kind (clear
    errors when a head is named where an encoder is expected), while
    ``MODELS.build`` finds every part.
    """

    def _register_module(self, module, module_name=None, force=False):
        super()._register_module(module, module_name=module_name, force=force)
        MODELS._register_module(module, module_name=module_name, force=force)


# The four plugin registries a grounding model is composed of.
VISION_ENCODERS = PluginRegistry(
    'vision encoder', scope='mmstvg', locations=['mmstvg.models.vision_encoders'])
QUERY_INTERLEAVERS = PluginRegistry(
    'query interleaver', scope='mmstvg', locations=['mmstvg.models.query_interleavers'])
LLM_BACKBONES = PluginRegistry(
    'LLM backbone', scope='mmstvg', locations=['mmstvg.models.llm_backbones'])
SPACE_DECODERS = PluginRegistry(
    'space decoder', scope='mmstvg', locations=['mmstvg.models.space_decoders'])

# Automatic STVG data construction (mmstvg.data_construction).
OBJECT_PICKERS = Registry(
    'object picker', scope='mmstvg', locations=['mmstvg.data_construction'])
GROUNDING_DETECTORS = Registry(
    'grounding detector', scope='mmstvg', locations=['mmstvg.data_construction'])
CONSTRUCTION_FILTERS = Registry(
    'construction filter', scope='mmstvg', locations=['mmstvg.data_construction'])

# Optimisation.
OPTIMIZERS = Registry('optimizer', parent=MMENGINE_OPTIMIZERS, locations=['mmstvg.engine'])
OPTIM_WRAPPERS = Registry(
    'optim wrapper', parent=MMENGINE_OPTIM_WRAPPERS, locations=['mmstvg.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optim wrapper constructor', parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    locations=['mmstvg.engine'])
PARAM_SCHEDULERS = Registry(
    'parameter scheduler', parent=MMENGINE_PARAM_SCHEDULERS, locations=['mmstvg.engine'])

# Evaluation.
METRICS = Registry('metric', parent=MMENGINE_METRICS, locations=['mmstvg.evaluation'])
EVALUATOR = Registry('evaluator', parent=MMENGINE_EVALUATOR, locations=['mmstvg.evaluation'])

# Visualisation and inference.
VISUALIZERS = Registry(
    'visualizer', parent=MMENGINE_VISUALIZERS, locations=['mmstvg.visualization'])
VISBACKENDS = Registry(
    'vis backend', parent=MMENGINE_VISBACKENDS, locations=['mmstvg.visualization'])
INFERENCERS = Registry('inferencer', parent=MMENGINE_INFERENCERS, locations=['mmstvg.apis'])
