"""A toy multiple-choice QA set on the synthetic STVG videos (ours, not the paper's).

Each synthetic sentence "the <colour> <shape> moves <direction>" becomes
"What colour is the <shape> that moves <direction>?" with the four colours
as options, written as Video-MME rows (:class:`VideoMMEDataset` reads them;
duration ``'short'``). No distractor moves in the target's direction, so
the question has one answer; answering it needs the colour of the shape
that moves that way.
"""
import re
from typing import Dict, List

from .synthetic import COLORS, DIRECTIONS, SHAPES

__all__ = ['synthetic_qa_rows']

_SENTENCE = re.compile(r'^the (\w+) (\w+) moves (\w+)$')


def synthetic_qa_rows(hcstvg_entries: Dict[str, dict]) -> List[dict]:
    """Video-MME rows of the colour question, one per synthetic video.

    Args:
        hcstvg_entries: a synthetic ``hcstvg_v1_<split>.json`` (video file ->
            entry with its ``caption``).

    Returns:
        One row per video, options ``A. red`` .. ``D. yellow`` in the order of
        :data:`COLORS`.

    Raises:
        ValueError: a caption is not a synthetic sentence (naming the video).
    """
    colours = list(COLORS)
    rows = []
    for video_file, entry in sorted(hcstvg_entries.items()):
        match = _SENTENCE.match(str(entry.get('caption', '')).strip().rstrip('.'))
        if (match is None or match.group(1) not in COLORS or match.group(2) not in SHAPES
                or match.group(3) not in DIRECTIONS):
            raise ValueError(f'{video_file}: caption {entry.get("caption")!r} is not a '
                             "synthetic sentence 'the <colour> <shape> moves <direction>'")
        colour, shape, direction = match.groups()
        video_id = video_file.rsplit('.', 1)[0]
        rows.append(dict(
            video_id=video_id, duration='short', domain='Synthetic', sub_category='Shapes',
            url='', videoID=video_id, question_id=f'{video_id}-colour',
            task_type='Attribute Perception',
            question=f'What colour is the {shape} that moves {direction}?',
            options=[f'{"ABCD"[i]}. {c}' for i, c in enumerate(colours)],
            answer='ABCD'[colours.index(colour)]))
    return rows
