"""The text a grounding task asks for, and how an answer in it is read back.

**The format** (one JSON object; a Markdown code fence around it is fine)::

    {"span": [1.5, 4.0],
     "boxes": {"1.75": [12, 40, 96, 170], "2.25": [14, 41, 99, 172]}}

- ``span``: start and end of the event in seconds (``start <= end``).
- ``boxes`` (STVG tasks only): for each listed time inside the span, the
  target's box ``[x1, y1, x2, y2]`` in **pixels of the original frame**
  (the prompt states its width and height), top-left then bottom-right.
  The list form Qwen2.5-VL tends to write is read too:
  ``[{"time": 1.75, "bbox_2d": [12, 40, 96, 170]}, ...]`` (``box`` or
  ``bbox`` for ``bbox_2d``).

**Reading** (:func:`parse_answer`): an answer without a JSON object, or
whose ``span`` is not two finite numbers with ``start <= end``, is
*unparsable*: it is counted (``num_failed_parse``) and scored as a miss
(tIoU = vIoU = 0), as the public evaluators do. A box entry whose time is not
one of the asked times (within half the gap between two of them), or whose
box is not four finite numbers with ``x1 < x2`` and ``y1 < y2``, is
*malformed*: counted (``num_malformed_boxes``) and left out; an asked frame
inside the span without a box scores box IoU 0 there (``num_missing_boxes``).
"""
import json
import math
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

__all__ = ['grounding_prompt', 'parse_answer', 'ParsedAnswer']

#: The instruction of an STVG request (filled by :func:`grounding_prompt`).
STVG_PROMPT = (
    'The video lasts {duration:.2f} seconds and its frames are {width}x{height} '
    'pixels. Find when and where this happens: "{sentence}"\n'
    'Answer with one JSON object and nothing else: '
    '{{"span": [start, end], "boxes": {{"<time>": [x1, y1, x2, y2], ...}}}}\n'
    '- span: when the event starts and ends, in seconds.\n'
    '- boxes: for each of these times (in seconds) that falls inside your span, '
    'the box of the target in pixels of the {width}x{height} frame (x1, y1 is '
    'the top-left corner, x2, y2 the bottom-right one): {times}.')
#: The instruction of a temporal grounding request.
TVG_PROMPT = (
    'The video lasts {duration:.2f} seconds. Find when this happens: "{sentence}"\n'
    'Answer with one JSON object and nothing else: {{"span": [start, end]}}, '
    'the start and end of the event in seconds.')

_FENCE = re.compile(r'```(?:json)?\s*(.*?)```', flags=re.DOTALL | re.IGNORECASE)


def format_time(seconds: float) -> str:
    """A listed time as the prompt writes it (two decimals)."""
    return f'{float(seconds):.2f}'


def grounding_prompt(doc: Dict[str, Any], pre_prompt: str = '',
                     post_prompt: str = '') -> str:
    """The request text of a task document.

    Args:
        doc: the document (``task``, ``sentence``, ``duration``, ``width``,
            ``height``, ``frame_times``).
        pre_prompt / post_prompt: text before / after the instruction
            (``lmms_eval_specific_kwargs``).
    """
    values = dict(sentence=doc['sentence'].strip(), duration=doc['duration'],
                  width=doc['width'], height=doc['height'],
                  times=', '.join(format_time(t) for t in doc['frame_times']))
    template = STVG_PROMPT if doc['task'] == 'stvg' else TVG_PROMPT
    return f'{pre_prompt}{template.format(**values)}{post_prompt}'


class ParsedAnswer:
    """What an answer says, on the frames it was asked about.

    Attributes:
        span: ``(start, end)`` seconds, or None when unparsable.
        boxes: ``{k: [x1, y1, x2, y2]}`` pixels, ``k`` indexing the asked frames.
        num_malformed: box entries left out (bad time or bad box).
    """

    def __init__(self, span: Optional[Tuple[float, float]],
                 boxes: Dict[int, List[float]], num_malformed: int):
        self.span = span
        self.boxes = boxes
        self.num_malformed = num_malformed

    @property
    def ok(self) -> bool:
        return self.span is not None


def _json_object(text: str) -> Optional[Any]:
    """The JSON object of an answer (inside a code fence if there is one)."""
    fenced = _FENCE.search(text)
    body = fenced.group(1) if fenced else text
    start, end = body.find('{'), body.rfind('}')
    if start < 0 or end <= start:
        return None
    try:
        return json.loads(body[start:end + 1])
    except ValueError:
        return None


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _box(value: Any) -> Optional[List[float]]:
    if not isinstance(value, (list, tuple)) or len(value) != 4:
        return None
    numbers = [_number(v) for v in value]
    if any(v is None for v in numbers) or numbers[2] <= numbers[0] \
            or numbers[3] <= numbers[1]:
        return None
    return numbers


def _entries(boxes: Any) -> List[Tuple[Any, Any]]:
    """``(time, box)`` pairs of the dict form or of the list form."""
    if isinstance(boxes, dict):
        return list(boxes.items())
    if isinstance(boxes, list):
        pairs = []
        for item in boxes:
            if not isinstance(item, dict):
                pairs.append((None, None))
                continue
            box = next((item[k] for k in ('bbox_2d', 'box', 'bbox') if k in item), None)
            pairs.append((item.get('time', item.get('t')), box))
        return pairs
    return []


def _nearest_frame(time: float, frame_times: Sequence[float]) -> Optional[int]:
    """Index of the asked time within half a gap of ``time``, or None."""
    if not frame_times:
        return None
    gaps = [b - a for a, b in zip(frame_times, frame_times[1:]) if b > a]
    tolerance = 0.5 * min(gaps) if gaps else 0.5
    index = min(range(len(frame_times)), key=lambda k: abs(frame_times[k] - time))
    return index if abs(frame_times[index] - time) <= tolerance + 1e-9 else None


def parse_answer(text: Any, frame_times: Sequence[float]) -> ParsedAnswer:
    """Read an answer in the task format (see the module docstring).

    Args:
        text: the model's reply.
        frame_times: the asked times in seconds (ascending).

    Returns:
        The parsed answer; ``span`` is None when it is unparsable.
    """
    if not isinstance(text, str):
        return ParsedAnswer(None, {}, 0)
    obj = _json_object(text)
    if not isinstance(obj, dict):
        return ParsedAnswer(None, {}, 0)
    span = obj.get('span')
    numbers = [_number(v) for v in span] if isinstance(span, (list, tuple)) \
        and len(span) == 2 else [None]
    if any(v is None for v in numbers) or numbers[1] < numbers[0]:
        parsed_span = None
    else:
        parsed_span = (numbers[0], numbers[1])
    boxes: Dict[int, List[float]] = {}
    malformed = 0
    for time, box in _entries(obj.get('boxes')):
        seconds = _number(time)
        index = None if seconds is None else _nearest_frame(seconds, frame_times)
        value = _box(box)
        if index is None or value is None:
            malformed += 1
            continue
        boxes.setdefault(index, value)
    return ParsedAnswer(parsed_span, boxes, malformed)
