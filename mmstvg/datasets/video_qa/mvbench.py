"""MVBench (Li et al., CVPR 2024): 20 temporal tasks, one json per task."""
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence

from mmstvg.registry import DATASETS
from ..base_grounding_dataset import GroundingDataError
from ..validation import load_json
from .base_video_qa_dataset import BaseVideoQADataset

__all__ = ['MVBenchDataset', 'MVBENCH_VIDEO_FOLDERS']

#: Each task's video folder under the video prefix, as the release
#: (OpenGVLab/MVBench ``video/``) lays them out and lmms-eval's
#: ``mvbench/utils.py`` reads them.
MVBENCH_VIDEO_FOLDERS: Dict[str, str] = dict(
    object_interaction='star/Charades_segment', action_sequence='star/Charades_segment',
    action_prediction='star/Charades_segment', action_localization='sta/sta_video_segment',
    moving_count='clevrer/video_validation', fine_grained_pose='nturgbd_convert',
    character_order='perception/videos', object_shuffle='perception/videos',
    egocentric_navigation='vlnqa', moving_direction='clevrer/video_validation',
    episodic_reasoning='tvqa/video_fps3_hq_segment',
    fine_grained_action='Moments_in_Time_Raw/videos', scene_transition='scene_qa/video',
    state_change='perception/videos', moving_attribute='clevrer/video_validation',
    action_antonym='ssv2_video_mp4', unexpected_action='FunQA_test/test',
    counterfactual_inference='clevrer/video_validation',
    object_existence='clevrer/video_validation', action_count='perception/videos')


@DATASETS.register_module()
class MVBenchDataset(BaseVideoQADataset):
    """MVBench from its release: ``json/<task>.json`` and ``video/<folder>/``.

    Ours, not the paper's. ``ann_file`` is the folder of the per-task json
    files; each is a list of ``{"video", "question", "candidates",
    "answer"}`` with the answer one of the candidates' texts. The category
    is the task (the file's name). Prompt (lmms-eval's
    ``mvbench_doc_to_text``): ``"Question:<q>\\nOption:\\n(A) ..\\n(B) ..\\n"``
    then ``"Only give the best option.\\n"``. Frames: uniform over the whole
    video, as lmms-eval's LLaVA-Video adapter samples them (the ``start`` /
    ``end`` bounds some entries carry are not used there either). Tasks
    whose release is frame folders (not video files) are not read by the
    decord pipeline.

    Args:
        tasks: the tasks to load (default: every ``<task>.json`` in
            ``ann_file`` that :data:`MVBENCH_VIDEO_FOLDERS` knows).
        **kwargs: see :class:`BaseVideoQADataset`.
    """

    DEFAULT_NAME = 'mvbench'
    BENCHMARK = 'mvbench'
    OPTION_STYLE = 'paren'
    POST_PROMPT = 'Only give the best option.\n'

    def __init__(self, tasks: Optional[Sequence[str]] = None, **kwargs):
        self.tasks = None if tasks is None else list(tasks)
        super().__init__(**kwargs)

    def load_data_list(self) -> List[dict]:
        if not osp.isdir(self.ann_file):
            raise FileNotFoundError(f'MVBenchDataset: ann_file {self.ann_file} must be the '
                                    "release's json/ folder (see docs/en/dataset_prepare.md)")
        # The base class reads one file; here the folder's task files are
        # read by load_raw_annotations and named in errors by where().
        self._folder, self.ann_file = self.ann_file, ''
        try:
            return super().load_data_list()
        finally:
            self.ann_file = self._folder

    def where(self, video_id: Any) -> dict:
        """Errors name the task's json file (``video_id`` is ``task/index``)."""
        task = str(video_id).split('/')[0]
        return dict(ann_file=osp.join(self._folder, f'{task}.json'), video_id=str(video_id))

    def bad(self, message: str, video_id: Any, field: str) -> GroundingDataError:
        return GroundingDataError(message, field=field, **self.where(video_id))

    def load_raw_annotations(self) -> List[Any]:
        folder = self._folder
        tasks = self.tasks or sorted(
            name[:-5] for name in os.listdir(folder)
            if name.endswith('.json') and name[:-5] in MVBENCH_VIDEO_FOLDERS)
        entries = []
        for task in tasks:
            if task not in MVBENCH_VIDEO_FOLDERS:
                raise KeyError(f'unknown MVBench task {task!r}; known: '
                               f'{sorted(MVBENCH_VIDEO_FOLDERS)}')
            path = osp.join(folder, f'{task}.json')
            data = load_json(path)
            if not isinstance(data, list):
                raise ValueError(f'{path}: expected a list of questions, got '
                                 f'{type(data).__name__}')
            entries += [(task, i, entry) for i, entry in enumerate(data)]
        return entries

    def parse_data_info(self, raw) -> dict:
        task, index, entry = raw
        sample_id = f'{task}/{index}'
        if not isinstance(entry, dict):
            raise self.bad(f'entry must be an object, got {type(entry).__name__}',
                           sample_id, '<entry>')
        video = self.str_field(entry, 'video', sample_id)
        options = self.options_field(entry.get('candidates'), 'candidates', sample_id)
        answer = self.str_field(entry, 'answer', sample_id)
        if answer.strip() not in options:
            raise self.bad(f'answer {answer!r} is none of the candidates {options}',
                           sample_id, 'answer')
        return self.qa_info(
            sample_id=sample_id, video_id=video, question=self.require(entry, 'question',
                                                                       sample_id),
            video_file=osp.join(MVBENCH_VIDEO_FOLDERS[task], video), options=options,
            gt_choice=options.index(answer.strip()), category=task)

    def format_question(self, question: str, options: Sequence[str]) -> str:
        """lmms-eval's ``Question:<q>\\nOption:\\n(A) ..`` with a final newline."""
        lettered = super().format_question(question, options).split('\n', 1)[1]
        return f'Question:{question}\nOption:\n{lettered}\n'
