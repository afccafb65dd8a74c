"""Choose a sample's question template in the data pipeline (a Uni-STG mixture).

A :class:`~mmstvg.datasets.UniSTGDataset` hands each sample the question
templates of its task (``question_templates``, from
:data:`~mmstvg.models.language.questions.QUESTION_TEMPLATES`, the one copy of
those texts, or the mixture's ``prompt_templates``);
:class:`ChooseQuestionTemplate` picks one into ``prompt_template``, which
:class:`PackGroundingInputs` puts in the metainfo and
``TokenizeGroundingPrompt`` (or the grounder) renders. A sample without
templates (a dataset outside a mixture) keeps its own ``prompt_template`` if
it has one (a QA benchmark's instructions), else the prompt builder's
default question of its task
(:data:`~mmstvg.models.language.questions.DEFAULT_QUESTIONS`).
"""
import numpy as np
from mmcv.transforms import BaseTransform

from mmstvg.models.language.questions import QUESTION_TEMPLATES_KEY
from mmstvg.registry import TRANSFORMS

__all__ = ['ChooseQuestionTemplate']


@TRANSFORMS.register_module()
class ChooseQuestionTemplate(BaseTransform):
    """Pick one of the sample's ``question_templates`` as its ``prompt_template``.

    At test time (``test_mode`` in the data info) the pick is
    ``templates[sample_idx % n]``: fixed, and every template used. At training
    time it is ``np.random.randint(n)``, the worker's numpy RNG, as the other
    random transforms (``GroundingRandomFlip``, the samplers' jitter) draw:
    MMEngine's ``worker_init_fn`` seeds each dataloader worker from the run's
    ``randomness.seed``, its rank and its worker id, so a run with the same
    seed, workers and ranks repeats its picks, and each sample gets a fresh
    pick on every visit (uniform over the task's templates, the draw the
    mixture's ``get_data_info`` made before). A pick fixed per sample and
    epoch is not offered: with ``persistent_workers`` (the configs') a worker
    never learns the epoch.

    Place it before ``PackGroundingInputs``. Reads ``question_templates``
    (removed), ``test_mode`` and ``sample_idx``; writes ``prompt_template``.
    """

    def transform(self, results: dict) -> dict:
        templates = results.pop(QUESTION_TEMPLATES_KEY, None)
        if not templates:
            return results
        if results.get('test_mode'):
            pick = int(results['sample_idx']) % len(templates)
        else:
            pick = np.random.randint(len(templates))
        results['prompt_template'] = templates[pick]
        return results
