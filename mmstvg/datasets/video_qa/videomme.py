"""Video-MME (Fu et al., 2024): 900 videos, short / medium / long, 4 options each."""
from typing import Any, List

from mmstvg.registry import DATASETS
from mmstvg.models.language.choice_text import OPTION_LETTERS, strip_option_letter
from .base_video_qa_dataset import BaseVideoQADataset

__all__ = ['VideoMMEDataset', 'VIDEOMME_DURATIONS']

#: Video-MME's duration categories, its headline breakdown.
VIDEOMME_DURATIONS = ('short', 'medium', 'long')


@DATASETS.register_module()
class VideoMMEDataset(BaseVideoQADataset):
    """Video-MME from its release (``videomme/test-*.parquet``) or the same
    rows as a json list.

    Ours, not the paper's. A row has ``video_id``, ``duration`` (one of
    :data:`VIDEOMME_DURATIONS`), ``domain``, ``sub_category``, ``url``,
    ``videoID`` (the file name, ``<videoID>.mp4``), ``question_id``,
    ``task_type``, ``question``, ``options`` (``["A. ...", ...]``) and
    ``answer`` (a letter). The category is the duration. Prompt: lmms-eval's
    ``videomme_doc_to_text`` (its wording, "based on the video and the
    subtitles" even without subtitles, kept so scores compare) and its
    default post prompt ``"The best answer is:"``. Frames: uniform over the
    whole video. Parquet needs ``pyarrow``.

    Args:
        **kwargs: see :class:`BaseVideoQADataset`.
    """

    DEFAULT_NAME = 'videomme'
    BENCHMARK = 'videomme'
    PRE_PROMPT = ('Select the best answer to the following multiple-choice question based '
                  'on the video and the subtitles. Respond with only the letter (A, B, C, '
                  'or D) of the correct option.\n')
    POST_PROMPT = '\nThe best answer is:'

    def load_raw_annotations(self) -> List[Any]:
        if self.ann_file.endswith('.parquet'):
            try:
                import pyarrow.parquet as pq
            except ImportError:
                raise ImportError(f'VideoMMEDataset: reading {self.ann_file} needs pyarrow '
                                  '(pip install pyarrow), or give the rows as json') from None
            rows = pq.read_table(self.ann_file).to_pylist()
        else:
            rows = self.load_json()
        if not isinstance(rows, list):
            raise ValueError(f'{self.ann_file}: expected a list of rows, got '
                             f'{type(rows).__name__}')
        return rows

    def parse_data_info(self, row) -> dict:
        if not isinstance(row, dict):
            raise self.bad(f'row must be an object, got {type(row).__name__}', '?', '<row>')
        qid = self.str_field(row, 'question_id', row.get('question_id', '?'))
        duration = self.str_field(row, 'duration', qid)
        if duration not in VIDEOMME_DURATIONS:
            raise self.bad(f'duration must be one of {VIDEOMME_DURATIONS}, got '
                           f'{duration!r}', qid, 'duration')
        options = self.options_field(row.get('options'), 'options', qid)
        answer = self.str_field(row, 'answer', qid).strip()
        letters = OPTION_LETTERS[:len(options)]
        if len(answer) != 1 or answer not in letters:
            raise self.bad(f'answer must be one of the letters {letters}, got {answer!r}',
                           qid, 'answer')
        video = self.str_field(row, 'videoID', qid)
        return self.qa_info(
            sample_id=qid, video_id=video, video_file=f'{video}.mp4',
            question=self.require(row, 'question', qid),
            options=[strip_option_letter(o) for o in options],
            gt_choice=letters.index(answer), category=duration, question_id=qid,
            qa_task_type=str(row.get('task_type', '')))
