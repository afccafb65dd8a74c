"""The Uni-STG mixture: STVG, TVG and REC datasets trained on at once."""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.logging import MMLogger
from torch.utils.data import Dataset

from mmstvg.models.language.questions import QUESTION_TEMPLATES
from mmstvg.registry import DATASETS
from .base_grounding_dataset import BaseGroundingDataset

__all__ = ['UniSTGDataset', 'DEFAULT_PROMPT_TEMPLATES', 'check_chooses_template']

#: The question templates of each task: the one copy is
#: :data:`mmstvg.models.language.questions.QUESTION_TEMPLATES` (this name is
#: the same object, kept for imports).
DEFAULT_PROMPT_TEMPLATES: Dict[str, List[str]] = QUESTION_TEMPLATES


@DATASETS.register_module()
class UniSTGDataset(Dataset):
    """A mixture of grounding datasets with per-task prompts and sampling ratios.

    Multiple-choice QA datasets (:class:`BaseVideoQADataset`, task
    ``'mcqa'``; ours, not the paper's) mix in like the grounding ones: their
    own ratio, and the mixture's ``'mcqa'`` templates replace the
    benchmark's instructions around the question; with
    ``MultipleChoiceAnswer`` their loss is the answer's cross-entropy.

    Each sub-dataset (any :class:`BaseGroundingDataset`: HC-STVG, VidSTG,
    Charades-STA, RefCOCO, the synthetic set ...) keeps its own pipeline and
    bad-input policy. The mixture

    - hands every sample the question templates of its task
      (``question_templates``); the member's pipeline picks one with
      :class:`~mmstvg.datasets.transforms.ChooseQuestionTemplate` (random at
      training time, ``templates[index % n]`` at test time), which must come
      before its ``PackGroundingInputs`` (checked here);
      :class:`PackGroundingInputs` puts the pick, ``prompt_template``, in the
      data sample's metainfo;
    - repeats or subsamples each dataset by its ratio: dataset ``i`` fills
      ``round(ratio_i * len_i)`` slots of an epoch: whole copies first, then
      the fractional rest. At test time the rest is a subset drawn once with
      ``seed``; at training time each rest slot draws a fresh random sample
      of its dataset on every access, so a ratio below 1 still covers the
      whole dataset over epochs. The slot list itself is fixed, so any
      sampler (MMEngine's ``DefaultSampler``) shuffles it as usual.

    Args:
        datasets: configs (or built datasets) of the sub-datasets.
        ratios: one ratio per dataset (default 1.0 each).
        prompt_templates: ``{task: [template, ...]}``; tasks missing here use
            :data:`~mmstvg.models.language.questions.QUESTION_TEMPLATES`.
        seed: seed of the subset draw.
        test_mode: deterministic templates.
        lazy_init: defer building the index list to the first use.
    """

    def __init__(self,
                 datasets: Sequence[Union[dict, BaseGroundingDataset]],
                 ratios: Optional[Sequence[float]] = None,
                 prompt_templates: Optional[Dict[str, List[str]]] = None,
                 seed: int = 0,
                 test_mode: bool = False,
                 lazy_init: bool = False):
        self.datasets: List[BaseGroundingDataset] = [
            DATASETS.build(d) if isinstance(d, dict) else d for d in datasets]
        if not self.datasets:
            raise ValueError('UniSTGDataset needs at least one dataset')
        ratios = [1.0] * len(self.datasets) if ratios is None else list(ratios)
        if len(ratios) != len(self.datasets) or min(ratios) < 0:
            raise ValueError(f'ratios must be {len(self.datasets)} non-negative '
                             f'numbers, got {ratios}')
        self.ratios = [float(r) for r in ratios]
        templates = copy.deepcopy(QUESTION_TEMPLATES)
        templates.update(prompt_templates or {})
        self.prompt_templates = templates
        self.seed = seed
        self.test_mode = test_mode
        self._fully_initialized = False
        self._index: Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]] = None
        if not lazy_init:
            self.full_init()

    @property
    def metainfo(self) -> dict:
        return dict(dataset_names=[d.dataset_name for d in self.datasets],
                    ratios=list(self.ratios))

    def full_init(self) -> None:
        """Initialise the sub-datasets and build the epoch's index list."""
        if self._fully_initialized:
            return
        rng = np.random.default_rng(self.seed)
        dataset_ids, sample_ids, is_rest = [], [], []
        for i, (dataset, ratio) in enumerate(zip(self.datasets, self.ratios)):
            dataset.full_init()
            task = dataset.TASK
            if task not in self.prompt_templates or not self.prompt_templates[task]:
                raise ValueError(f'no prompt template for task {task!r} of '
                                 f'{type(dataset).__name__}')
            dataset.prompt_templates = list(self.prompt_templates[task])
            check_chooses_template(dataset)
            dataset.test_mode = dataset.test_mode or self.test_mode
            length = len(dataset)
            count = int(round(ratio * length))
            whole, rest = divmod(count, length) if length else (0, 0)
            picked = [np.tile(np.arange(length), whole),
                      np.sort(rng.choice(length, size=rest, replace=False))]
            is_rest.append(np.arange(whole * length + rest) >= whole * length)
            picked = np.concatenate(picked).astype(np.int64)
            dataset_ids.append(np.full(len(picked), i, dtype=np.int64))
            sample_ids.append(picked)
            MMLogger.get_current_instance().info(
                f'UniSTGDataset: {dataset.dataset_name} ({task}): {length} '
                f'samples x {ratio:g} -> {len(picked)} per epoch')
        self._index = (np.concatenate(dataset_ids), np.concatenate(sample_ids),
                       np.concatenate(is_rest))
        self._fully_initialized = True

    def __len__(self) -> int:
        self.full_init()
        return len(self._index[0])

    def locate(self, idx: int) -> Tuple[int, int]:
        """``(dataset index, sample index in it)`` of mixture index ``idx``
        (random for a fractional-rest slot at training time)."""
        self.full_init()
        if idx < 0:
            idx += len(self)
        dataset_id = int(self._index[0][idx])
        if self._index[2][idx] and not self.test_mode:
            return dataset_id, int(np.random.randint(len(self.datasets[dataset_id])))
        return dataset_id, int(self._index[1][idx])

    def get_data_info(self, idx: int) -> dict:
        dataset_id, sample_id = self.locate(idx)
        return self.datasets[dataset_id].get_data_info(sample_id)

    def __getitem__(self, idx: int) -> dict:
        dataset_id, sample_id = self.locate(idx)
        return self.datasets[dataset_id][sample_id]


def check_chooses_template(dataset) -> None:
    """A member whose pipeline packs samples picks its question template first.

    Raises:
        ValueError: the pipeline has a ``PackGroundingInputs`` and no
            ``ChooseQuestionTemplate`` before it (the mixture's templates
            would be dropped), naming the dataset.
    """
    names = [type(t).__name__ for t in getattr(dataset.pipeline, 'transforms', [])]
    if 'PackGroundingInputs' not in names:
        return  # no pipeline (data infos only) or one that does not pack
    if 'ChooseQuestionTemplate' not in names[:names.index('PackGroundingInputs')]:
        raise ValueError(
            f'UniSTGDataset: the pipeline of {dataset.dataset_name} '
            f'({type(dataset).__name__}) packs samples without choosing their '
            "question template: add dict(type='ChooseQuestionTemplate') before "
            f'its PackGroundingInputs (it has {names})')
