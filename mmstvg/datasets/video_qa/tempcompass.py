"""TempCompass (Liu et al., ACL 2024 findings): temporal aspects, multi-choice part."""
import re
from typing import Any, List

from mmstvg.registry import DATASETS
from mmstvg.models.language.choice_text import OPTION_LETTERS, strip_option_letter
from .base_video_qa_dataset import BaseVideoQADataset

__all__ = ['TempCompassDataset', 'TEMPCOMPASS_ASPECTS']

#: TempCompass's temporal aspects (its ``dim``), the benchmark's breakdown.
TEMPCOMPASS_ASPECTS = ('action', 'speed', 'direction', 'order', 'attribute_change')
_OPTION_LINE = re.compile(r'^([A-Z])\.\s*(.+)$')


@DATASETS.register_module()
class TempCompassDataset(BaseVideoQADataset):
    """TempCompass's multi-choice part: ``questions/multi-choice.json``.

    Ours, not the paper's. The file maps each video id to its aspects and
    each aspect to a list of ``{"question", "answer"}``: the question holds
    its options, one ``A. ...`` a line after the question, and the answer
    is one of those lines (``"B. slowly"``). The category is the aspect
    (:data:`TEMPCOMPASS_ASPECTS`); the video is ``<video_id>.mp4``. Prompt:
    the question as written, then TempCompass's own multi-choice instruction
    ``"\\nPlease directly give the best option:"`` (lmms-eval's task leaves
    the post prompt to the model's settings). Frames: uniform over the video.

    Args:
        **kwargs: see :class:`BaseVideoQADataset`.
    """

    DEFAULT_NAME = 'tempcompass'
    BENCHMARK = 'tempcompass'
    POST_PROMPT = '\nPlease directly give the best option:'

    def load_raw_annotations(self) -> List[Any]:
        data = self.load_json()
        if not isinstance(data, dict):
            raise ValueError(f'{self.ann_file}: expected {{video_id: {{aspect: [...]}}}}, '
                             f'got {type(data).__name__}')
        entries = []
        for video_id, aspects in data.items():
            for aspect, questions in (aspects.items() if isinstance(aspects, dict) else
                                      [('?', aspects)]):
                for i, entry in enumerate(questions if isinstance(questions, list) else
                                          [questions]):
                    entries.append((str(video_id), str(aspect), i, entry))
        return entries

    def parse_data_info(self, raw) -> dict:
        video_id, aspect, index, entry = raw
        sample_id = f'{video_id}/{aspect}/{index}'
        if aspect not in TEMPCOMPASS_ASPECTS:
            raise self.bad(f'aspect must be one of {TEMPCOMPASS_ASPECTS}, got {aspect!r}',
                           sample_id, 'dim')
        text = self.str_field(entry, 'question', sample_id)
        lines = [line.strip() for line in text.strip().split('\n') if line.strip()]
        question_lines, options = [], []
        for line in lines:
            match = _OPTION_LINE.match(line)
            if match and match.group(1) == OPTION_LETTERS[len(options)]:
                options.append(match.group(2).strip())
            elif not options:
                question_lines.append(line)
            else:
                raise self.bad(f'line {line!r} after the options is not an option',
                               sample_id, 'question')
        options = self.options_field(options, 'question', sample_id)
        answer = strip_option_letter(self.str_field(entry, 'answer', sample_id))
        if answer not in options:
            raise self.bad(f"answer {entry['answer']!r} is none of the options {options}",
                           sample_id, 'answer')
        return self.qa_info(sample_id=sample_id, video_id=video_id,
                            video_file=f'{video_id}.mp4', question='\n'.join(question_lines),
                            options=options, gt_choice=options.index(answer),
                            category=aspect)
