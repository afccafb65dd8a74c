"""The text around the video: system/user prompt, per-frame time stamps, the answer's tokens.

:class:`PromptBuilder` renders the prompt once with markers for the video and
the sentence (through the tokenizer's chat template when it has one), splits
it there and tokenises each piece, so the sequence builder knows where the
video goes and which tokens are the sentence. The answer's text comes from the
grounder's answer part. Layouts and time styles: ``docs/en/model_core.md``.
"""
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from .span_text import REC_ANSWER, format_span

__all__ = ['PromptBuilder', 'PromptPieces', 'DEFAULT_PROMPTS']

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
        rec='Where is this object: {sentence}',
        # A multiple-choice question: the dataset writes the question, the
        # options and the benchmark's instructions (its prompt_template).
        mcqa='{sentence}'),
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
        use_chat_template: use the tokenizer's chat template when it has one.
        sentence_first: put the question with the sentence before the video
            (see the module docstring); False keeps LLaVA's video-first order.
        prompts: overrides of :data:`DEFAULT_PROMPTS` (same keys).
    """

    def __init__(self,
                 tokenizer,
                 time_style: str = 'frame_prefix',
                 time_format: str = '{:.1f}s',
                 use_chat_template: bool = True,
                 sentence_first: bool = False,
                 prompts: Optional[dict] = None):
        if time_style not in ('frame_prefix', 'prompt_list'):
            raise ValueError("time_style must be 'frame_prefix' or 'prompt_list', "
                             f'got {time_style!r}')
        if tokenizer.eos_token_id is None:
            raise ValueError('the tokenizer has no eos_token; the grounder ends '
                             'every answer with it')
        self.tokenizer = tokenizer
        self.time_style = time_style
        self.time_format = time_format
        self.sentence_first = sentence_first
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
              answer: Optional[str] = None,
              question_template: Optional[str] = None) -> PromptPieces:
        """Token pieces of one sample.

        Args:
            task: ``'stvg'``, ``'tvg'``, ``'rec'`` or ``'mcqa'`` (multiple-choice QA).
            sentence: the query sentence.
            duration: video duration in seconds.
            frame_times: time in seconds of each sampled frame.
            answer: the answer text (training; the grounder's answer part
                writes it), followed by EOS; None: no answer.
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
        if answer is not None:
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
