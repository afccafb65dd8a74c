"""Captions and open-ended QA in words about the synthetic videos (ours).

The text is made from the scene records of :mod:`mmstvg.datasets.synthetic`
only, without any random draw: the same scenes give the same text. It says
which shapes there are, which move and which way, *where* in words of a 3x3
grid of the frame (:func:`grid_position`) and *when* in seconds
(:func:`frame_time`), never in box coordinates. It is the language-only
supervision of the base video LLM pretrained here (issue 29, stage 1).

**Times.** A frame's time is ``frame / fps`` of the original video written
with one decimal (``"1.2s"``): the times LLaVA-Video's prompt gives the
sampled frames (``frame_idx / fps`` in ``process_video_with_decord``,
``llava/utils.py`` of LLaVA-VL/LLaVA-NeXT). A span ``[start, end)`` of frames
is written from ``start / fps`` to ``end / fps``, as ``gt_span_seconds``.

**File format**: LLaVA-Video's own training format, as read by
``LazySupervisedDataset`` in ``llava/train/train.py`` of
`LLaVA-VL/LLaVA-NeXT <https://github.com/LLaVA-VL/LLaVA-NeXT>`_ (the trainer
of LLaVA-Video on LLaVA-Video-178K; example entries in its
``scripts/train/README.md``): a json list of entries ::

    {"id": "synth_train_00000_cap",
     "video": "synth_train_00000.mp4",        # joined to --video_folder
     "conversations": [
         {"from": "human", "value": "<image>\\nDescribe this video in detail."},
         {"from": "gpt", "value": "The video lasts 5.8s. ..."}],
     "data_source": "synthetic_stvg_cap"}

``"from"`` alternates ``"human"`` / ``"gpt"`` starting with ``"human"``;
the one ``<image>`` token (the video's place) opens the first human turn,
followed by ``"\\n"`` (where ``preprocess_multimodal`` puts it). Each video
has two entries: a caption (``data_source`` :data:`CAPTION_SOURCE`, one
round) and its open-ended questions (:data:`QA_SOURCE`, several rounds).
LLaVA-Video's time instruction ("The video lasts for ... seconds, and N
frames are uniformly sampled from it ...") is not in the file: its trainer
adds it when it samples the frames, and so does mmstvg's prompt.
"""
import json
import zlib
from typing import Dict, List, Optional, Sequence, Tuple

from mmstvg.models.language.span_text import format_seconds

__all__ = ['grid_position', 'frame_time', 'describe_scene', 'scene_questions',
           'llava_video_entries', 'write_llava_video', 'zero_shot_entries',
           'CAPTION_SOURCE',
           'QA_SOURCE', 'CAPTION_PROMPTS', 'DIRECTION_WORDS']

#: ``data_source`` of the caption entries and of the QA entries.
CAPTION_SOURCE = 'synthetic_stvg_cap'
QA_SOURCE = 'synthetic_stvg_oe_qa'
#: The caption requests; a video's is picked by the CRC-32 of its id.
CAPTION_PROMPTS = (
    'Describe this video in detail.',
    'Give a detailed description of the video: which shapes are there, where '
    'they are and when they move.',
    'What happens in this video? Describe every shape, where it is and when '
    'it moves.',
)
#: The directions a shape can move, in the order the questions ask them.
DIRECTION_WORDS = ('left', 'right', 'up', 'down')

_ROWS = ('top', '', 'bottom')
_COLUMNS = ('left', '', 'right')
_NUMBERS = ('no', 'one', 'two', 'three', 'four', 'five', 'six', 'seven',
            'eight', 'nine', 'ten')


def grid_position(x: float, y: float, width: int, height: int) -> str:
    """The cell of a 3x3 grid of the frame that pixel ``(x, y)`` lies in.

    The pixel's centre ``(x + 0.5, y + 0.5)`` is compared with the thirds of
    the frame; the cells read ``"top left"``, ``"top"``, ``"top right"``,
    ``"left"``, ``"centre"``, ``"right"``, ``"bottom left"``, ``"bottom"``,
    ``"bottom right"``.

    Args:
        x / y: the pixel's column and row.
        width / height: the frame's size in pixels.

    Returns:
        The cell's name.
    """
    column = min(2, max(0, int(3 * (x + 0.5) // width)))
    row = min(2, max(0, int(3 * (y + 0.5) // height)))
    words = ' '.join(w for w in (_ROWS[row], _COLUMNS[column]) if w)
    return words or 'centre'


def frame_time(frame: int, fps: float) -> str:
    """The time of a frame boundary, ``frame / fps`` with one decimal: ``"1.2s"``."""
    return f'{format_seconds(frame / fps, 1)}s'


def _name(obj: dict) -> str:
    return f'{obj["color"]} {obj["shape"]}'


def _article(words: str) -> str:
    return ('an ' if words[0] in 'aeiou' else 'a ') + words


def _join(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ', '.join(items[:-1]) + ' and ' + items[-1]


def _count(number: int, noun: str) -> str:
    word = _NUMBERS[number] if number < len(_NUMBERS) else str(number)
    return f'{word} {noun}' + ('' if number == 1 else 's')


def _capital(text: str) -> str:
    return text[0].upper() + text[1:]


def _where(scene: dict, obj: dict, frame: int) -> str:
    x, y = obj['centres'][frame]
    return grid_position(x, y, scene['width'], scene['height'])


def _ordered(scene: dict) -> List[dict]:
    """The shapes in the order the text names them: by the frame they are
    first seen, then by name (the target has no fixed place)."""
    return sorted(scene['objects'],
                  key=lambda o: (o['visible_span_frames'][0], o['color'], o['shape']))


def _segments(scene: dict, obj: dict) -> List[Tuple[str, int, int]]:
    """The shape's timeline as ``(kind, start, end)`` half-open frame spans in
    order, ``kind`` one of ``'hidden'``, ``'still'``, ``'move'``."""
    num = scene['num_frames']
    first, last = obj['visible_span_frames']
    move = obj['move_span_frames']
    if move is not None and not first <= move[0] < move[1] <= last:
        raise ValueError(f'{scene["video_id"]}: the {_name(obj)} moves in frames '
                         f'{move} outside its visible frames [{first}, {last})')
    parts = [('hidden', 0, first)]
    if move is None:
        parts.append(('still', first, last))
    else:
        parts += [('still', first, move[0]), ('move', move[0], move[1]),
                  ('still', move[1], last)]
    parts.append(('hidden', last, num))
    return [part for part in parts if part[2] > part[1]]


def _describe_object(scene: dict, obj: dict) -> str:
    """The shape's timeline, one sentence a segment, in time order."""
    fps = scene['fps']
    subject = f'the {_name(obj)}'
    sentences = []
    for kind, start, end in _segments(scene, obj):
        since, until = frame_time(start, fps), frame_time(end, fps)
        if kind == 'hidden':
            sentences.append(f'{_capital(subject)} is not visible before {until}.'
                             if start == 0 else f'{_capital(subject)} disappears at {since}.')
        elif kind == 'still':
            sentences.append(f'From {since} to {until} {subject} stays still at the '
                             f'{_where(scene, obj, start)}.')
        else:
            origin, goal = _where(scene, obj, start), _where(scene, obj, end - 1)
            path = f'within the {origin}' if origin == goal else \
                f'from the {origin} to the {goal}'
            sentences.append(f'From {since} to {until} {subject} moves {obj["motion"]} '
                             f'{path}.')
        subject = 'it'
    return ' '.join(sentences)


def _inventory(scene: dict) -> str:
    objects = _ordered(scene)
    verb = 'is' if len(objects) == 1 else 'are'
    return (f'there {verb} {_count(len(objects), "shape")}: '
            f'{_join(_article(_name(o)) for o in objects)}')


def describe_scene(scene: dict) -> str:
    """A detailed caption of one video from its scene record.

    Example: "The video lasts 5.8s. On a textured background there are two
    shapes: a blue square and a red circle. From 0.0s to 5.8s the blue square
    stays still at the centre. The red circle is not visible before 1.2s.
    From 1.2s to 3.5s it moves left from the top right to the top left. It
    disappears at 3.5s."

    Args:
        scene: a scene record (see :mod:`mmstvg.datasets.synthetic`).

    Returns:
        The caption (one paragraph).
    """
    duration = frame_time(scene['num_frames'], scene['fps'])
    parts = [f'The video lasts {duration}.',
             f'On a textured background {_inventory(scene)}.']
    parts += [_describe_object(scene, obj) for obj in _ordered(scene)]
    return ' '.join(parts)


def _probe_frames(scene: dict, obj: dict) -> List[int]:
    """Frames to ask the shape's place at: the middle of its movement (or of
    its visible frames) and, when it is hidden at first, the middle of that."""
    first, last = obj['visible_span_frames']
    span = obj['move_span_frames'] or (first, last)
    frames = [(span[0] + span[1] - 1) // 2]
    if first > 0:
        frames.insert(0, (first - 1) // 2)
    return frames


def scene_questions(scene: dict) -> List[Tuple[str, str]]:
    """Open-ended questions about one video and their answers, in words.

    In this order: how many shapes; when each shape moves; where each shape
    is at a time (also a time it is not visible); which shape moves each way
    (and one way no shape moves); the colour of the shape that moves a way
    or that appears, where one shape fits; when a shape that is not always
    there is visible.

    Args:
        scene: a scene record (see :mod:`mmstvg.datasets.synthetic`).

    Returns:
        ``(question, answer)`` pairs.
    """
    fps = scene['fps']
    objects = _ordered(scene)
    pairs = [('How many shapes are there in the video?', _capital(_inventory(scene)) + '.')]
    for obj in objects:
        name = _name(obj)
        if obj['move_span_frames'] is None:
            first = obj['visible_span_frames'][0]
            answer = (f'The {name} does not move; it stays still at the '
                      f'{_where(scene, obj, first)}.')
        else:
            start, end = obj['move_span_frames']
            answer = (f'The {name} moves {obj["motion"]} from {frame_time(start, fps)} '
                      f'to {frame_time(end, fps)}.')
        pairs.append((f'When does the {name} move?', answer))
    for obj in objects:
        name = _name(obj)
        first, last = obj['visible_span_frames']
        for frame in _probe_frames(scene, obj):
            when = frame_time(frame, fps)
            answer = (f'At {when} the {name} is at the {_where(scene, obj, frame)}.'
                      if first <= frame < last else f'At {when} the {name} is not visible.')
            pairs.append((f'Where is the {name} at {when}?', answer))
    movers: Dict[str, List[dict]] = {d: [] for d in DIRECTION_WORDS}
    for obj in objects:
        if obj['motion'] in movers:
            movers[obj['motion']].append(obj)
    for direction in DIRECTION_WORDS:
        if movers[direction]:
            names = _join(f'the {_name(o)}' for o in movers[direction])
            verb = 'moves' if len(movers[direction]) == 1 else 'move'
            pairs.append((f'Which shape moves {direction}?',
                          f'{_capital(names)} {verb} {direction}.'))
    still_ways = [d for d in DIRECTION_WORDS if not movers[d]]
    if still_ways:
        pairs.append((f'Which shape moves {still_ways[0]}?',
                      f'No shape moves {still_ways[0]}.'))
    for direction in DIRECTION_WORDS:
        for obj in movers[direction]:
            if sum(o['shape'] == obj['shape'] for o in movers[direction]) == 1:
                pairs.append((f'What colour is the {obj["shape"]} that moves {direction}?',
                              f'The {obj["shape"]} that moves {direction} is '
                              f'{obj["color"]}.'))
    appearing = [o for o in objects if o['visible_span_frames'][0] > 0]
    for obj in appearing:
        if sum(o['shape'] == obj['shape'] for o in appearing) == 1:
            when = frame_time(obj['visible_span_frames'][0], fps)
            pairs.append((f'What colour is the {obj["shape"]} that appears?',
                          f'The {obj["shape"]} that appears at {when} is {obj["color"]}.'))
    for obj in objects:
        first, last = obj['visible_span_frames']
        if (first, last) != (0, scene['num_frames']):
            pairs.append((f'When is the {_name(obj)} visible?',
                          f'The {_name(obj)} is visible from {frame_time(first, fps)} '
                          f'to {frame_time(last, fps)}.'))
    return pairs


def _conversation(turns: Sequence[Tuple[str, str]]) -> List[dict]:
    """Alternating human / gpt messages; ``<image>`` opens the first one."""
    messages = []
    for index, (question, answer) in enumerate(turns):
        image = '<image>\n' if index == 0 else ''
        messages.append({'from': 'human', 'value': image + question})
        messages.append({'from': 'gpt', 'value': answer})
    return messages


def llava_video_entries(scenes: Sequence[dict]) -> List[dict]:
    """The LLaVA-Video training entries of the scenes (module docstring).

    Args:
        scenes: scene records, in the order to write them.

    Returns:
        Two entries a video: ``<video_id>_cap`` (the caption) and
        ``<video_id>_oe_qa`` (its questions).
    """
    entries = []
    for scene in scenes:
        video_id = scene['video_id']
        prompt = CAPTION_PROMPTS[zlib.crc32(video_id.encode()) % len(CAPTION_PROMPTS)]
        entries.append(dict(
            id=f'{video_id}_cap', video=scene['video'],
            conversations=_conversation([(prompt, describe_scene(scene))]),
            data_source=CAPTION_SOURCE))
        entries.append(dict(
            id=f'{video_id}_oe_qa', video=scene['video'],
            conversations=_conversation(scene_questions(scene)),
            data_source=QA_SOURCE))
    return entries


def zero_shot_entries(scenes: Sequence[dict]) -> List[dict]:
    """One-round questions to ask a base model about each scene's target.

    Two entries a video, in LLaVA-Video's format: ``<video_id>_cap``, the
    video's caption request (as in :func:`llava_video_entries`), and
    ``<video_id>_when``, "When does the <target> move?" (one of the
    training questions), whose reference answer states the grounding
    sentence's span. Each entry also has ``gt_span_seconds`` (the target
    span, ``[start / fps, end / fps]``) for scoring.

    Args:
        scenes: scene records of a split.

    Returns:
        The entries, caption first, in the scenes' order.
    """
    entries = []
    for scene in scenes:
        video_id = scene['video_id']
        target = next(o for o in scene['objects'] if o['role'] == 'target')
        start, end = scene['target_span_frames']
        span = [start / scene['fps'], end / scene['fps']]
        prompt = CAPTION_PROMPTS[zlib.crc32(video_id.encode()) % len(CAPTION_PROMPTS)]
        question = f'When does the {_name(target)} move?'
        answer = dict(scene_questions(scene))[question]
        entries.append(dict(id=f'{video_id}_cap', video=scene['video'],
                            conversations=_conversation([(prompt, describe_scene(scene))]),
                            data_source=CAPTION_SOURCE, gt_span_seconds=span))
        entries.append(dict(id=f'{video_id}_when', video=scene['video'],
                            conversations=_conversation([(question, answer)]),
                            data_source=QA_SOURCE, gt_span_seconds=span))
    return entries


def write_llava_video(scenes: Sequence[dict], path: str,
                      indent: Optional[int] = None) -> int:
    """Write :func:`llava_video_entries` of the scenes as json.

    Args:
        scenes: scene records.
        path: the output file (``annotations/llava_video_<split>.json``).
        indent: json indentation (None: compact).

    Returns:
        The number of entries written.
    """
    entries = llava_video_entries(scenes)
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(entries, f, indent=indent, ensure_ascii=False)
    return len(entries)
