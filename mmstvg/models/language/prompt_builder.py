"""The text around the video: system/user prompt, per-frame time stamps, answers.

One sample's LLM input is laid out as (``sentence_first=False``, LLaVA's
video-then-question order)::

    [head text] [video segment] [text between] [sentence]
    [tail text, up to and including the assistant's turn]
    [answer tokens + EOS]            (training only)

or, with ``sentence_first=True``, ``[head] [sentence] [between] [video segment]
[tail] [answer]``: the question comes before the video, so that every query
token (and every frame) is computed already knowing what is to be grounded.

:class:`PromptBuilder` renders the prompt once with two markers standing for
the video and the sentence (through the tokenizer's chat template when it has
one, else a plain ``USER: ... ASSISTANT:`` form), splits the rendered string at
the markers and tokenises each piece on its own, so the grounder knows exactly
where the video goes and which tokens are the sentence (the space decoder reads
the sentence's hidden states).

Frame times are stated in one of two styles (``time_style``):

- ``'frame_prefix'`` (default): each frame's visual tokens are preceded by its
  time stamp (``"3.2s"``), given to the query interleaver as
  ``frame_prefix_embeds``; the prompt states the duration and frame count.
- ``'prompt_list'``: the prompt lists every frame's time (``"at 0.0s, 1.2s,
  ..."``) and frames have no prefix.

The training answer states the ground-truth span in seconds, either as it is
(``answer_times='exact'``) or snapped to the sampled frames
(``answer_times='sampled_frames'``): the start becomes the time of the first
sampled frame inside the span, the end the time of the first sampled frame
after it (the video's duration when the span runs to the last sampled frame).
Snapped answers use exactly the time stamps the prompt shows, so the LLM can
copy one instead of computing a number it never saw, and read back as a
half-open span they cover exactly the ground truth's sampled frames. Example:
frames sampled at 0.0, 0.4, 0.8, 1.2 s of a 1.6 s video, ground truth 0.5 to
1.0 s: the exact answer is "from 0.5 to 1.0", the snapped one "from 0.8 to
1.2" (frame 0.8 s is the only sampled frame in the span).
"""
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .span_text import REC_ANSWER, format_seconds, format_span

__all__ = ['PromptBuilder', 'PromptPieces', 'DEFAULT_PROMPTS', 'snap_span_to_frames']

VIDEO_MARK = '\u2063VIDEO\u2063'
SENTENCE_MARK = '\u2063SENTENCE\u2063'

#: Default prompt texts; ``{...}`` fields are filled per sample.
DEFAULT_PROMPTS = dict(
    system='You are a helpful assistant that grounds sentences in videos.',
    intro_frame_prefix=('The video lasts {duration} seconds. {num_frames} frames '
                        'are shown, each after its time.'),
    intro_prompt_list=('The video lasts {duration} seconds. {num_frames} frames '
                       'are sampled at {times}.'),
    questions=dict(
        stvg='Find when and where this happens: {sentence}',
        tvg='When does this happen: {sentence}',
        rec='Where is this object: {sentence}'),
    plain_user='USER:',
    plain_assistant='ASSISTANT:',
)


def prompt_words(prompts: Optional[dict] = None) -> List[str]:
    """Every word and punctuation mark of the prompt texts (for toy vocabularies)."""
    prompts = prompts or DEFAULT_PROMPTS
    texts = [prompts['system'], prompts['intro_frame_prefix'],
             prompts['intro_prompt_list'], prompts['plain_user'],
             prompts['plain_assistant'], format_span(1.0, 2.0), REC_ANSWER]
    texts += list(prompts['questions'].values())
    words = []
    for text in texts:
        text = re.sub(r'\{[^}]*\}', ' ', text)
        words += re.findall(r'[A-Za-z]+|[^\sA-Za-z\d]', text)
    return sorted(set(words))


def snap_span_to_frames(span_seconds: Sequence[float], frame_times: Sequence[float],
                        duration: float) -> Tuple[float, float]:
    """Snap a span in seconds onto the sampled frames' time stamps.

    The span is read as half-open ``[start, end)``. The snapped start is the
    time of the first sampled frame with ``time >= start``; the snapped end is
    the time of the first sampled frame with ``time >= end``, or ``duration``
    when no sampled frame comes after the span. A span that holds no sampled
    frame is returned unchanged (there is no frame to snap to).

    Args:
        span_seconds: ``(start, end)`` in seconds.
        frame_times: ascending times in seconds of the sampled frames.
        duration: the video's duration in seconds.

    Returns:
        The snapped ``(start, end)`` in seconds.
    """
    start, end = float(span_seconds[0]), float(span_seconds[1])
    times = np.asarray(frame_times, dtype=np.float64)
    # A tolerance keeps a frame exactly on a boundary (t == start) inside.
    eps = 1e-6
    first_in = int(np.searchsorted(times, start - eps, side='left'))
    first_after = int(np.searchsorted(times, end - eps, side='left'))
    if first_in >= first_after:
        return start, end
    snapped_end = float(times[first_after]) if first_after < len(times) else float(duration)
    return float(times[first_in]), snapped_end


@dataclass
class PromptPieces:
    """Token ids of one sample's text pieces (see the module docstring).

    Attributes:
        head_ids: text before the first of video and sentence.
        between_ids: text between the video and the sentence.
        sentence_ids: the sentence.
        tail_ids: text after the second of them, ending where the answer starts.
        frame_prefix_ids: per frame, the ids of its time stamp (empty lists
            in the ``'prompt_list'`` style).
        answer_ids: the answer followed by EOS (empty when no answer given).
        sentence_first: whether the sentence comes before the video.
    """
    head_ids: List[int]
    between_ids: List[int]
    sentence_ids: List[int]
    tail_ids: List[int]
    frame_prefix_ids: List[List[int]]
    answer_ids: List[int]
    sentence_first: bool = False


class PromptBuilder:
    """Builds the text pieces of a grounding sample for a given tokenizer.

    Args:
        tokenizer: a Hugging Face tokenizer (``eos_token`` must be set).
        time_style: ``'frame_prefix'`` or ``'prompt_list'``.
        time_format: format of one time stamp, e.g. ``'{:.1f}s'``.
        span_precision: digits of the times in the answer.
        use_chat_template: use the tokenizer's chat template when it has one.
        sentence_first: put the question with the sentence before the video
            (see the module docstring); False keeps LLaVA's video-first order.
        answer_times: ``'exact'`` (the ground-truth span as it is) or
            ``'sampled_frames'`` (snapped to the shown frame times, see
            :func:`snap_span_to_frames` and the module docstring).
        prompts: overrides of :data:`DEFAULT_PROMPTS` (same keys).
    """

    def __init__(self,
                 tokenizer,
                 time_style: str = 'frame_prefix',
                 time_format: str = '{:.1f}s',
                 span_precision: int = 1,
                 use_chat_template: bool = True,
                 sentence_first: bool = False,
                 answer_times: str = 'exact',
                 prompts: Optional[dict] = None):
        if time_style not in ('frame_prefix', 'prompt_list'):
            raise ValueError("time_style must be 'frame_prefix' or 'prompt_list', "
                             f'got {time_style!r}')
        if answer_times not in ('exact', 'sampled_frames'):
            raise ValueError("answer_times must be 'exact' or 'sampled_frames', "
                             f'got {answer_times!r}')
        if tokenizer.eos_token_id is None:
            raise ValueError('the tokenizer has no eos_token; the grounder ends '
                             'every answer with it')
        self.tokenizer = tokenizer
        self.time_style = time_style
        self.time_format = time_format
        self.span_precision = span_precision
        self.sentence_first = sentence_first
        self.answer_times = answer_times
        self.use_chat_template = bool(use_chat_template and getattr(
            tokenizer, 'chat_template', None))
        self.prompts = dict(DEFAULT_PROMPTS)
        if prompts:
            unknown = set(prompts) - set(DEFAULT_PROMPTS)
            if unknown:
                raise KeyError(f'unknown prompt keys {sorted(unknown)}; known: '
                               f'{sorted(DEFAULT_PROMPTS)}')
            self.prompts.update(prompts)
        self._cache: Dict[tuple, List[int]] = {}

    # ------------------------------------------------------------------ text
    def encode(self, text: str) -> List[int]:
        """Token ids of a text piece, without special tokens added."""
        if not text:
            return []
        return list(self.tokenizer(text, add_special_tokens=False)['input_ids'])

    def _encode_cached(self, text: str) -> List[int]:
        if text not in self._cache:
            if len(self._cache) > 4096:
                self._cache.clear()
            self._cache[text] = self.encode(text)
        return self._cache[text]

    def format_time(self, seconds: float) -> str:
        return self.time_format.format(float(seconds))

    def boundary_time_ids(self, frame_times: Sequence[float], duration: float) -> List[int]:
        """The token an answer writes for each of the ``T + 1`` frame boundaries.

        Boundary ``j < T`` is written as frame ``j``'s time, boundary ``T`` as
        the duration: exactly the times of snapped answers (see
        :func:`snap_span_to_frames`). Used by :class:`TimeStampPointer`.

        Raises:
            ValueError: a time is not one token of the tokenizer, or is not
                the same token inside an answer.
        """
        return [self._time_token_id(t) for t in [*frame_times, duration]]

    def _time_token_id(self, seconds: float) -> int:
        text = format_seconds(seconds, self.span_precision)
        key = ('time_token', text)
        if key not in self._cache:
            ids = self.encode(text)
            answer = format_span(seconds, seconds, self.span_precision)
            answer_ids = self.encode(answer)
            unknown = ids == [self.tokenizer.unk_token_id]
            if len(ids) != 1 or unknown or answer_ids.count(ids[0]) != 2:
                raise ValueError(
                    'pointing at time stamps needs each time to be one known token, '
                    f'alone and inside an answer; {type(self.tokenizer).__name__} writes '
                    f'{text!r} as {ids} (unknown-token id {self.tokenizer.unk_token_id}) '
                    f'and the answer {answer!r} as {answer_ids}. Use the toy tokenizer '
                    'or add time tokens.')
            self._cache[key] = ids
        return self._cache[key][0]

    def answer_text(self, task: str, span_seconds: Optional[Sequence[float]],
                    frame_times: Optional[Sequence[float]] = None,
                    duration: Optional[float] = None) -> str:
        """The answer the LLM is trained to write for one sample.

        Args:
            task: ``'stvg'``, ``'tvg'`` or ``'rec'``.
            span_seconds: ``(start, end)`` in seconds (ignored for REC).
            frame_times: times of the sampled frames; needed with
                ``answer_times='sampled_frames'``.
            duration: the video's duration; needed with
                ``answer_times='sampled_frames'``.
        """
        if task == 'rec':
            return REC_ANSWER
        if span_seconds is None:
            raise ValueError(f'a {task} sample needs gt_span_seconds for its answer')
        if self.answer_times == 'sampled_frames':
            if frame_times is None or duration is None:
                raise ValueError("answer_times='sampled_frames' needs the sampled "
                                 'frame_times and the duration')
            span_seconds = snap_span_to_frames(span_seconds, frame_times, duration)
        return format_span(span_seconds[0], span_seconds[1], self.span_precision)

    def _render(self, task: str, duration: float, frame_times: Sequence[float],
                question_template: Optional[str] = None) -> str:
        if question_template is None:
            if task not in self.prompts['questions']:
                raise KeyError(f'no question template for task {task!r}')
            question_template = self.prompts['questions'][task]
        elif '{sentence}' not in question_template:
            raise ValueError(f'question template {question_template!r} has no '
                             '{sentence} field')
        fields = dict(duration=self.format_time(duration).rstrip('s'),
                      num_frames=len(frame_times),
                      times=', '.join(self.format_time(t) for t in frame_times))
        intro_key = f'intro_{self.time_style}'
        intro = self.prompts[intro_key].format(**fields)
        question = question_template.format(sentence=SENTENCE_MARK)
        if self.sentence_first:
            user = f'{question}\n{intro}\n{VIDEO_MARK}'
        else:
            user = f'{intro}\n{VIDEO_MARK}\n{question}'
        if self.use_chat_template:
            messages = [dict(role='system', content=self.prompts['system']),
                        dict(role='user', content=user)]
            return self.tokenizer.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=True)
        bos = self.tokenizer.bos_token or ''
        return (f"{bos}{self.prompts['system']} {self.prompts['plain_user']} "
                f"{user} {self.prompts['plain_assistant']}")

    def build(self,
              task: str,
              sentence: str,
              duration: float,
              frame_times: Sequence[float],
              span_seconds: Optional[Sequence[float]] = None,
              with_answer: bool = True,
              answer: Optional[str] = None,
              question_template: Optional[str] = None) -> PromptPieces:
        """Token pieces of one sample.

        Args:
            task: ``'stvg'``, ``'tvg'`` or ``'rec'``.
            sentence: the query sentence.
            duration: video duration in seconds.
            frame_times: time in seconds of each sampled frame.
            span_seconds: ground-truth span for the answer (training).
            with_answer: add the answer and EOS.
            answer: the answer text, when not the default of
                :meth:`answer_text` (e.g. a span followed by boxes).
            question_template: the question with a ``{sentence}`` field, when
                not the task's default (a Uni-STG mixture draws one per
                sample and hands it over as ``prompt_template``).

        Returns:
            The :class:`PromptPieces`.
        """
        text = self._render(task, duration, frame_times, question_template)
        first, second = ((SENTENCE_MARK, VIDEO_MARK) if self.sentence_first else
                         (VIDEO_MARK, SENTENCE_MARK))
        head, rest = text.split(first)
        between, tail = rest.split(second)
        if self.time_style == 'frame_prefix':
            prefix_ids = [self._encode_cached(self.format_time(t)) for t in frame_times]
        else:
            prefix_ids = [[] for _ in frame_times]
        answer_ids = []
        if with_answer:
            if answer is None:
                answer = self.answer_text(task, span_seconds, frame_times, duration)
            answer_ids = self.encode(answer)
            answer_ids.append(self.tokenizer.eos_token_id)
        return PromptPieces(
            head_ids=self._encode_cached(head),
            between_ids=self._encode_cached(between),
            sentence_ids=self.encode(sentence),
            tail_ids=self._encode_cached(tail),
            frame_prefix_ids=prefix_ids,
            answer_ids=answer_ids,
            sentence_first=self.sentence_first)
