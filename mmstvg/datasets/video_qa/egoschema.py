"""EgoSchema (Mangalam et al., NeurIPS 2023): 3-minute egocentric clips, 5 options;
the public subset of 500 questions has answers."""
import os.path as osp
from typing import Any, List

from mmstvg.registry import DATASETS
from ..validation import load_json
from .base_video_qa_dataset import BaseVideoQADataset

__all__ = ['EgoSchemaDataset']


@DATASETS.register_module()
class EgoSchemaDataset(BaseVideoQADataset):
    """EgoSchema from its release: ``questions.json`` and ``subset_answers.json``.

    Ours, not the paper's. ``questions.json`` is a list of ``{"q_uid",
    "google_drive_id", "question", "option 0", ..., "option 4"}``;
    ``subset_answers.json`` maps ``q_uid`` to the right option's index.
    Only questions with an answer are loaded (the subset); the video is
    ``<q_uid>.mp4``. Prompt: lmms-eval's ``egoschema_doc_to_text`` (the
    question, the options ``A. ...`` one a line, then "Answer with the
    option's letter from the given choices directly."). Frames: uniform over
    the whole clip. No category.

    Args:
        answer_file: ``subset_answers.json`` (under ``data_root``).
        **kwargs: see :class:`BaseVideoQADataset`.
    """

    DEFAULT_NAME = 'egoschema'
    BENCHMARK = 'egoschema'
    POST_PROMPT = "\nAnswer with the option's letter from the given choices directly."
    NUM_OPTIONS = 5

    def __init__(self, answer_file: str = 'subset_answers.json', **kwargs):
        self.answer_file = answer_file
        super().__init__(**kwargs)

    def load_raw_annotations(self) -> List[Any]:
        answer_file = osp.join(self.data_root, self.answer_file) if self.data_root and \
            not osp.isabs(self.answer_file) else self.answer_file
        answers = load_json(answer_file)
        questions = self.load_json()
        if not isinstance(questions, list) or not isinstance(answers, dict):
            raise ValueError(f'EgoSchemaDataset: {self.ann_file} must be a list and '
                             f'{answer_file} an object')
        self._answer_path = answer_file
        return [(q, answers[q['q_uid']]) for q in questions
                if isinstance(q, dict) and q.get('q_uid') in answers]

    def parse_data_info(self, raw) -> dict:
        entry, answer = raw
        uid = self.str_field(entry, 'q_uid', '?')
        options = self.options_field(
            [entry.get(f'option {i}') for i in range(self.NUM_OPTIONS)], 'option i', uid)
        if isinstance(answer, str) and answer.strip().isdigit():
            answer = int(answer)
        if isinstance(answer, bool) or not isinstance(answer, int):
            raise self.bad(f'answer in {self._answer_path} must be an option index, got '
                           f'{answer!r}', uid, 'answer')
        return self.qa_info(sample_id=uid, video_id=uid, video_file=f'{uid}.mp4',
                            question=self.require(entry, 'question', uid), options=options,
                            gt_choice=answer, category='subset')
