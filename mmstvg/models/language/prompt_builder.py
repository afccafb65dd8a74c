"""The text around the video: system/user prompt, per-frame time stamps, the answer's tokens.

:class:`PromptBuilder` renders the prompt once with markers for the video and
the sentence in one of :data:`PROMPT_TEMPLATES` (LLaVA-Video's ``qwen_1_5``
by default), and tokenises each text run between media (the video segment,
the frames' time stamps) as one string, so a BPE tokenizer merges across the
sentence's edges as it would in the whole text; the sentence's tokens are
found by their character offsets. The answer's text comes from the
grounder's answer part. Text that comes from data (the sentence, questions,
answers) never produces a control token: ``<|im_end|>`` written in a question
stays plain text, only the template's own special tokens are real
(:mod:`.user_text`). A
conversation (captions, open QA) adds further user/assistant rounds after the
first answer (:class:`ConversationRound`). Layouts, templates and time styles:
``docs/en/model_core.md``.
"""
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Set, Tuple

from .questions import DEFAULT_QUESTIONS
from .span_text import REC_ANSWER, format_span
from .user_text import UserTextEncoder

__all__ = ['PromptBuilder', 'PromptPieces', 'ConversationRound', 'PROMPT_TEMPLATES',
           'TIME_STYLES']

VIDEO_MARK = '\u2063VIDEO\u2063'
SENTENCE_MARK = '\u2063SENTENCE\u2063'
ANSWER_MARK = '\u2063ANSWER\u2063'

#: The named prompt templates; ``{...}`` fields are filled per sample.
#:
#: - ``qwen_1_5``: LLaVA-Video's (LLaVA-NeXT's ``conv_qwen``, ChatML with the
#:   system "You are a helpful assistant.", and its time instruction after the
#:   video: times at 0.01 s, comma-joined), what the base model was trained on.
#: - ``mmstvg``: ours, not the base model's (the toy's): an own system prompt,
#:   the tokenizer's chat template when it has one (else ``USER:`` /
#:   ``ASSISTANT:``), the intro before the video, times at 0.1 s.
#: - ``qwen_vl``: Qwen2.5-VL's and Qwen3-VL's own: the checkpoint tokenizer's
#:   chat template with the video as a content item (its vision markers), the
#:   template's own system turn (none given), no intro. Time is the base
#:   model's: Qwen2.5-VL's lives in the positions (``time_style='none'``),
#:   Qwen3-VL's is a ``<t seconds>`` stamp before each temporal patch
#:   (``time_style='frame_prefix'``, ``time_format='<{:.1f} seconds>'``,
#:   ``vision_markers='patch'``). An image (a REC sample) is the template's
#:   image item, ``vision_start`` + its tokens + ``vision_end``, with no time
#:   stamp, as Qwen's processors write it. Rationale: ``docs/en/backbones.md``.
#:
#: ``conversation``: ``'chatml'`` (rendered here, ``<|im_start|>`` /
#: ``<|im_end|>`` turns), ``'chat_template'`` (the tokenizer's, when it has
#: one and ``use_chat_template``) or ``'vision_chat_template'`` (the
#: tokenizer's, which must have one, with the video as a ``{'type':
#: 'video'}`` content item it renders as ``vision_start`` + ``video_pad`` +
#: ``vision_end``). ``vision_markers`` (``vision_chat_template`` only):
#: ``'video'`` keeps the template's markers around the whole video
#: (Qwen2.5-VL); ``'patch'`` puts them around every temporal patch, after its
#: time stamp (Qwen3-VL's processor). ``user``: the user turn's layout with
#: ``{intro}``, ``{video}`` and ``{question}``. ``stop_tokens``: tokens that end
#: the assistant's turn besides the tokenizer's EOS (when the tokenizer has them).
PROMPT_TEMPLATES = dict(
    qwen_1_5=dict(
        conversation='chatml',
        system='You are a helpful assistant.',
        intro_prompt_list=('The video lasts for {duration} seconds, and {num_frames} frames '
                           'are uniformly sampled from it. These frames are located at '
                           '{times}.Please answer the following questions related to '
                           'this video.'),
        intro_frame_prefix=('The video lasts for {duration} seconds, and {num_frames} '
                            'frames are uniformly sampled from it. These frames are '
                            'located at {times}.Please answer the following questions '
                            'related to this video.'),
        user='{video}\n{intro}\n{question}',
        user_sentence_first='{question}\n{intro}\n{video}',
        time_style='prompt_list',
        time_format='{:.2f}s',
        times_separator=',',
        questions=DEFAULT_QUESTIONS,
        stop_tokens=('<|im_end|>', '<|endoftext|>'),
        plain_user='USER:',
        plain_assistant='ASSISTANT:'),
    mmstvg=dict(
        conversation='chat_template',
        system='You are a helpful assistant that grounds sentences in videos.',
        intro_frame_prefix=('The video lasts {duration} seconds. {num_frames} frames '
                            'are shown, each after its time.'),
        intro_prompt_list=('The video lasts {duration} seconds. {num_frames} frames '
                           'are sampled at {times}.'),
        user='{intro}\n{video}\n{question}',
        user_sentence_first='{question}\n{intro}\n{video}',
        time_style='frame_prefix',
        time_format='{:.1f}s',
        times_separator=', ',
        questions=DEFAULT_QUESTIONS,
        stop_tokens=(),
        plain_user='USER:',
        plain_assistant='ASSISTANT:'),
    qwen_vl=dict(
        conversation='vision_chat_template',
        system=None,
        intro_frame_prefix='',
        intro_prompt_list='',
        intro_none='',
        # the user turn's content items: the video, then the (intro and)
        # question; sentence_first reverses them
        time_style='none',
        time_format='<{:.1f} seconds>',
        times_separator=', ',
        questions=DEFAULT_QUESTIONS,
        stop_tokens=('<|im_end|>', '<|endoftext|>'),
        vision_markers='video',
        vision_start='<|vision_start|>',
        vision_end='<|vision_end|>',
        video_pad='<|video_pad|>',
        image_pad='<|image_pad|>',
        turn_end='<|im_end|>'),
)

#: Time styles: ``'frame_prefix'`` (a stamp before each frame or temporal
#: patch), ``'prompt_list'`` (all times in the intro), ``'none'`` (no times in
#: the text: Qwen2.5-VL's are in its positions).
TIME_STYLES = ('frame_prefix', 'prompt_list', 'none')

#: Keys of a template that may be given as ``prompts`` overrides.
_TEXT_KEYS = ('system', 'intro_frame_prefix', 'intro_prompt_list', 'intro_none',
              'questions', 'plain_user', 'plain_assistant', 'user', 'user_sentence_first',
              'times_separator', 'stop_tokens', 'vision_markers')


def prompt_words(prompts: Optional[dict] = None) -> List[str]:
    """Every word and punctuation mark of a template's texts (for toy vocabularies).

    Args:
        prompts: a template of :data:`PROMPT_TEMPLATES`; default ``mmstvg``
            (the toy's).
    """
    prompts = prompts or PROMPT_TEMPLATES['mmstvg']
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
class ConversationRound:
    """A user/assistant round after a conversation's first answer.

    Attributes:
        user_ids: the text from the previous answer's end token (excluded)
            through the question to where the answer starts (ChatML:
            ``\\n<|im_start|>user\\n{question}<|im_end|>\\n<|im_start|>assistant\\n``).
        answer_ids: the answer followed by the turn's end token (empty: the
            answer is to be generated).
    """
    user_ids: List[int]
    answer_ids: List[int]


@dataclass
class PromptPieces:
    """Token ids of one sample's text pieces (see the module docstring).

    Attributes:
        head_ids: text before the first of video and sentence.
        between_ids: text between the video and the sentence.
        sentence_ids: the sentence.
        tail_ids: text after the second of them, ending where the answer starts.
        frame_prefix_ids: per frame (or temporal patch), the ids of its time
            stamp (empty lists in the ``'prompt_list'`` style), and Qwen3-VL's
            ``<|vision_start|>``.
        frame_suffix_ids: per frame (or temporal patch), the ids right after
            its visual tokens (Qwen3-VL's ``<|vision_end|>``); empty: none.
        answer_ids: the answer followed by the turn's end token (EOS, or
            ``<|im_end|>`` in ChatML; empty when no answer given).
        sentence_first: whether the sentence comes before the video.
        rounds: a conversation's further rounds, after ``answer_ids``.
    """
    head_ids: List[int]
    between_ids: List[int]
    sentence_ids: List[int]
    tail_ids: List[int]
    frame_prefix_ids: List[List[int]]
    answer_ids: List[int]
    sentence_first: bool = False
    rounds: List[ConversationRound] = field(default_factory=list)
    frame_suffix_ids: List[List[int]] = field(default_factory=list)


class PromptBuilder:
    """Builds the text pieces of a grounding sample for a given tokenizer.

    Args:
        tokenizer: a Hugging Face fast tokenizer (``eos_token`` must be set;
            character offsets locate the sentence).
        template: a name of :data:`PROMPT_TEMPLATES`: ``'qwen_1_5'``
            (LLaVA-Video's, the default), ``'qwen_vl'`` (Qwen2.5-VL's and
            Qwen3-VL's own) or ``'mmstvg'`` (ours, the toy's).
        time_style: ``'frame_prefix'`` (each frame's time stamp before its
            visual tokens), ``'prompt_list'`` (all times in the intro) or
            ``'none'`` (no times in the text); None: the template's.
        time_format: format of one time stamp, e.g. ``'{:.1f}s'``, or
            Qwen3-VL's ``'<{:.1f} seconds>'`` stamps; None: the template's. The
            duration is written as the bare number of the format's field.
        use_chat_template: with a ``'chat_template'`` template, use the
            tokenizer's chat template when it has one.
        sentence_first: put the question with the sentence before the video;
            False keeps LLaVA's video-first order.
        prompts: overrides of the template's texts (``system``, ``questions``,
            ``intro_*``, ...).
    """

    def __init__(self,
                 tokenizer,
                 template: str = 'qwen_1_5',
                 time_style: Optional[str] = None,
                 time_format: Optional[str] = None,
                 use_chat_template: bool = True,
                 sentence_first: bool = False,
                 prompts: Optional[dict] = None):
        if template not in PROMPT_TEMPLATES:
            raise ValueError(f'unknown prompt template {template!r}; known: '
                             f'{sorted(PROMPT_TEMPLATES)}')
        self.template = template
        self.prompts = dict(PROMPT_TEMPLATES[template])
        if prompts:
            unknown = set(prompts) - set(_TEXT_KEYS)
            if unknown:
                raise KeyError(f'unknown prompt keys {sorted(unknown)}; known: '
                               f'{sorted(_TEXT_KEYS)}')
            self.prompts.update(prompts)
        time_style = time_style or self.prompts['time_style']
        if time_style not in TIME_STYLES:
            raise ValueError(f'time_style must be one of {TIME_STYLES}, got {time_style!r}')
        self.prompts.setdefault('intro_none', '')
        if tokenizer.eos_token_id is None:
            raise ValueError('the tokenizer has no eos_token; the grounder ends '
                             'every answer with it')
        if not getattr(tokenizer, 'is_fast', False):
            raise TypeError(f'PromptBuilder needs a fast tokenizer (character offsets '
                            f'locate the sentence), got {type(tokenizer).__name__}')
        self.tokenizer = tokenizer
        self.time_style = time_style
        self.time_format = time_format or self.prompts['time_format']
        self.sentence_first = sentence_first
        self.conversation = self.prompts['conversation']
        if self.conversation == 'chatml':
            self._check_single_tokens(('<|im_start|>', '<|im_end|>'))
        self.vision_markers = self.prompts.get('vision_markers')
        if self.conversation == 'vision_chat_template':
            if self.vision_markers not in ('video', 'patch'):
                raise ValueError("vision_markers must be 'video' (around the whole video) "
                                 f"or 'patch' (around each temporal patch), got "
                                 f'{self.vision_markers!r}')
            if not getattr(tokenizer, 'chat_template', None):
                raise ValueError(
                    f'prompt template {template!r} renders the checkpoint tokenizer\'s own '
                    f'chat template, and {type(tokenizer).__name__} has none; give the '
                    'tokenizer of the Qwen-VL checkpoint (its chat_template.jinja / '
                    'tokenizer_config.json)')
            self._check_single_tokens((self.prompts['vision_start'], self.prompts['vision_end'],
                                       self.prompts['video_pad'], self.prompts['image_pad'],
                                       self.prompts['turn_end']))
        self.use_chat_template = bool(
            self.conversation == 'chat_template' and use_chat_template
            and getattr(tokenizer, 'chat_template', None))
        self._cache: Dict[str, List[int]] = {}
        # Template text's added tokens are real, data text's never.
        self.user_text = UserTextEncoder(tokenizer)

    def _check_single_tokens(self, tokens: Sequence[str]) -> None:
        for token in tokens:
            ids = self.encode(token)
            if len(ids) != 1 or ids == [self.tokenizer.unk_token_id]:
                raise ValueError(
                    f'prompt template {self.template!r} writes {token!r}, which '
                    f'{type(self.tokenizer).__name__} does not have as one token '
                    f'(got ids {ids}); use a ChatML tokenizer (Qwen2) or '
                    "template='mmstvg'")

    @property
    def turn_end_id(self) -> int:
        """The token that ends an assistant turn (and is trained as its last):
        ``<|im_end|>`` in ChatML, else the tokenizer's EOS."""
        if self.conversation == 'chatml':
            return self.encode('<|im_end|>')[0]
        if self.conversation == 'vision_chat_template':
            return self.encode(self.prompts['turn_end'])[0]
        return int(self.tokenizer.eos_token_id)

    @property
    def stop_token_ids(self) -> Set[int]:
        """Tokens that end the assistant's turn: EOS and the template's ``stop_tokens``
        that the tokenizer has as one token (Qwen2-Instruct ends with
        ``<|im_end|>`` or ``<|endoftext|>``)."""
        cached = getattr(self, '_stop_token_ids', None)
        if cached is None:  # get_vocab() builds a dict of the whole vocabulary: once
            ids = {int(self.tokenizer.eos_token_id)}
            vocab = self.tokenizer.get_vocab()
            ids.update(int(vocab[token]) for token in self.prompts['stop_tokens']
                       if token in vocab)
            cached = self._stop_token_ids = frozenset(ids)
        return set(cached)

    # ------------------------------------------------------------------ text
    def encode(self, text: str) -> List[int]:
        """Token ids of a text piece, without special tokens added."""
        if not text:
            return []
        return list(self.tokenizer(text, add_special_tokens=False)['input_ids'])

    def encode_text(self, text: str, field: str = 'answer') -> List[int]:
        """Token ids of data text (an answer): control tokens written in it stay
        plain text (:class:`.UserTextEncoder`); ``field`` names it in errors."""
        if not text:
            return []
        return self.user_text.encode_user_text(text, field)

    def encode_with_user_text(self, text: str, start: int, end: int,
                              field: str = 'sentence'
                              ) -> Tuple[List[int], List[Tuple[int, int]]]:
        """Tokenise template text holding user text at characters ``[start, end)``.

        The template's added tokens (``<|im_start|>`` ...) are real tokens;
        any control token written in the user text stays plain text. Text
        without such strings gets exactly the ids of one plain call (see
        :meth:`.UserTextEncoder.encode`).

        Returns:
            ``(ids, offsets)``, the offsets as ``(first, last)`` characters of
            ``text``.

        Raises:
            UnsafeUserTextError: the tokenizer writes a control token from the
                user text even as plain text (``field`` names it).
        """
        return self.user_text.encode(text, [(start, end)], field)

    def _encode_cached(self, text: str) -> List[int]:
        if text not in self._cache:
            if len(self._cache) > 4096:
                self._cache.clear()
            self._cache[text] = self.encode(text)
        return self._cache[text]

    def format_time(self, seconds: float) -> str:
        return self.time_format.format(float(seconds))

    def format_duration(self, seconds: float) -> str:
        """The duration as a bare number in the time format's precision
        (``'{:.2f}s'`` -> ``'20.00'``; Qwen3-VL's ``'<{:.1f} seconds>'`` -> ``'20.0'``)."""
        field = re.search(r'\{[^{}]*\}', self.time_format)
        return (field.group(0) if field else '{}').format(float(seconds))

    def _render(self, task: str, duration: float, frame_times: Sequence[float],
                question_template: Optional[str] = None, image: bool = False) -> str:
        if question_template is None:
            if task not in self.prompts['questions']:
                raise KeyError(f'no question template for task {task!r}')
            question_template = self.prompts['questions'][task]
        elif '{sentence}' not in question_template:
            raise ValueError(f'question template {question_template!r} has no '
                             '{sentence} field')
        separator = self.prompts['times_separator']
        fields = dict(duration=self.format_duration(duration),
                      num_frames=len(frame_times),
                      times=separator.join(self.format_time(t) for t in frame_times))
        intro = self.prompts[f'intro_{self.time_style}'].format(**fields)
        question = question_template.format(sentence=SENTENCE_MARK)
        if self.conversation == 'vision_chat_template':
            return self._render_vision_chat(intro, question, image)
        layout = self.prompts['user_sentence_first' if self.sentence_first else 'user']
        user = layout.format(intro=intro, video=VIDEO_MARK, question=question)
        system = self.prompts['system']
        if self.conversation == 'chatml':  # LLaVA-NeXT's conv_qwen (SeparatorStyle.CHATML)
            return (f'<|im_start|>system\n{system}<|im_end|>\n'
                    f'<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n')
        if self.use_chat_template:
            messages = [dict(role='system', content=system), dict(role='user', content=user)]
            return self.tokenizer.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=True)
        bos = self.tokenizer.bos_token or ''
        return (f"{bos}{system} {self.prompts['plain_user']} "
                f"{user} {self.prompts['plain_assistant']}")

    def _chat_messages(self, user_content) -> List[dict]:
        """The system turn (when the template gives one) and the user turn."""
        system = self.prompts['system']
        messages = [] if system is None else [dict(role='system', content=system)]
        return messages + [dict(role='user', content=user_content)]

    def _render_vision_chat(self, intro: str, question: str, image: bool = False) -> str:
        """The tokenizer's own chat template with the video (or image) as a content item.

        The video item renders as the template's ``vision_start`` +
        ``video_pad`` + ``vision_end``; the video mark replaces the pad
        (markers around the whole video) or all three (markers around each
        temporal patch, written with the frames' prefixes and suffixes). An
        image item renders as ``vision_start`` + ``image_pad`` +
        ``vision_end``, and the mark replaces the pad (one grid, no stamp).
        """
        text = f'{intro}\n{question}' if intro else question
        items = [dict(type='image' if image else 'video'), dict(type='text', text=text)]
        if self.sentence_first:
            items.reverse()
        rendered = self.tokenizer.apply_chat_template(
            self._chat_messages(items), tokenize=False, add_generation_prompt=True)
        pad = self.prompts['image_pad' if image else 'video_pad']
        wrapped = self.prompts['vision_start'] + pad + self.prompts['vision_end']
        if rendered.count(wrapped) != 1:
            raise ValueError(f"the tokenizer's chat template rendered an "
                             f"{'image' if image else 'video'} item without "
                             f'{wrapped!r} (once): is it a Qwen-VL chat template?')
        target = wrapped if self.vision_markers == 'patch' and not image else pad
        return rendered.replace(target, VIDEO_MARK)

    def _split_run(self, run: str, sentence: str,
                   field: str = 'sentence') -> Tuple[List[int], List[int], List[int]]:
        """Tokenise a text run holding the sentence mark as one string.

        Returns the ids before the sentence, of the sentence (every token
        that overlaps its characters, e.g. Qwen2's ``'ĠThe'`` whose space
        comes from the text before) and after it.
        """
        before, after = run.split(SENTENCE_MARK)
        text = before + sentence + after
        start, end = len(before), len(before) + len(sentence)
        ids, offsets = self.encode_with_user_text(text, start, end, field)
        parts: Tuple[List[int], List[int], List[int]] = ([], [], [])
        for token, (first, last) in zip(ids, offsets):
            if first < end and last > start:
                parts[1].append(token)
            elif last <= start:
                parts[0].append(token)
            else:
                parts[2].append(token)
        return parts

    def build(self,
              task: str,
              sentence: str,
              duration: float,
              frame_times: Sequence[float],
              answer: Optional[str] = None,
              question_template: Optional[str] = None,
              rounds: Sequence[Tuple[str, Optional[str]]] = (),
              image: bool = False) -> PromptPieces:
        """Token pieces of one sample.

        The text before the video and the text after it are each tokenised as
        one string (the sentence inside its run); each frame's time stamp
        (``'frame_prefix'``) and the answer are runs of their own.

        Args:
            task: ``'stvg'``, ``'tvg'``, ``'rec'``, ``'mcqa'`` (multiple-choice
                QA), ``'caption'`` or ``'open_qa'`` (conversations).
            sentence: the query sentence (a conversation's first question).
            duration: video duration in seconds.
            frame_times: time in seconds of each sampled frame.
            answer: the answer text (training; the grounder's answer part
                writes it), followed by the turn's end token; None: no answer.
            question_template: the question with a ``{sentence}`` field, when
                not the task's default (a Uni-STG mixture draws one per
                sample and hands it over as ``prompt_template``).
            rounds: a conversation's further ``(question, answer)`` rounds,
                after ``answer`` (which they need); the last answer may be
                None (to be generated).
            image: the sample is an image (REC), one token grid: with
                ``template='qwen_vl'`` it is the chat template's image item
                (``<|vision_start|>`` + its tokens + ``<|vision_end|>``, no
                time stamp, as Qwen's image processor writes it); the other
                templates write it as a one-frame video.

        Returns:
            The :class:`PromptPieces`.

        Raises:
            UnsafeUserTextError: the tokenizer writes a control token from the
                sentence, a question or an answer even as plain text.
        """
        image_item = image and self.conversation == 'vision_chat_template'
        if image_item and len(frame_times) != 1:
            raise ValueError(f'an image is one token grid, got {len(frame_times)} frame times')
        text = self._render(task, duration, frame_times, question_template, image_item)
        before_video, after_video = text.split(VIDEO_MARK)
        if self.sentence_first:
            head, sentence_ids, between = self._split_run(before_video, sentence)
            tail = self._encode_cached(after_video)
        else:
            head = self._encode_cached(before_video)
            between, sentence_ids, tail = self._split_run(after_video, sentence)
        stamps = ([self.format_time(t) for t in frame_times]
                  if self.time_style == 'frame_prefix' and not image_item
                  else [''] * len(frame_times))
        suffix_ids: List[List[int]] = []
        if self.conversation == 'vision_chat_template' and self.vision_markers == 'patch' \
                and not image_item:
            stamps = [stamp + self.prompts['vision_start'] for stamp in stamps]
            suffix_ids = [self._encode_cached(self.prompts['vision_end'])
                          for _ in frame_times]
        prefix_ids = [self._encode_cached(stamp) for stamp in stamps]
        if rounds and answer is None:
            raise ValueError('a conversation round follows an answer: give `answer` '
                             'with `rounds`')
        extra = []
        for k, (question, reply) in enumerate(rounds):
            if reply is None and k != len(rounds) - 1:
                raise ValueError(f'round {k + 2} of {len(rounds) + 1} has no answer; only '
                                 'the last one may be generated')
            user_ids = sum(self._split_run(self._render_round(), question,
                                           f'question of round {k + 2}'), [])
            extra.append(ConversationRound(user_ids,
                                           self._answer_ids(reply, f'answer of round {k + 2}')))
        return PromptPieces(
            head_ids=list(head),
            between_ids=between,
            sentence_ids=sentence_ids,
            tail_ids=tail,
            frame_prefix_ids=prefix_ids,
            answer_ids=self._answer_ids(answer),
            sentence_first=self.sentence_first,
            rounds=extra,
            frame_suffix_ids=suffix_ids)

    def _answer_ids(self, answer: Optional[str], field: str = 'answer') -> List[int]:
        """An answer's ids and the turn's end token; ``[]`` for None."""
        if answer is None:
            return []
        return self.encode_text(answer, field) + [self.turn_end_id]

    def _render_round(self) -> str:
        """The text of a further round, from after the previous answer's end
        token to where its answer starts, the question as the sentence mark."""
        if self.conversation == 'chatml':
            return (f'\n<|im_start|>user\n{SENTENCE_MARK}<|im_end|>\n'
                    '<|im_start|>assistant\n')
        if self.use_chat_template or self.conversation == 'vision_chat_template':
            messages = self._chat_messages('.') + [
                dict(role='assistant', content=ANSWER_MARK),
                dict(role='user', content=SENTENCE_MARK)]
            text = self.tokenizer.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=True)
            after = text.split(ANSWER_MARK, 1)[1]
            end = (self.prompts['turn_end'] if self.conversation == 'vision_chat_template'
                   else self.tokenizer.eos_token)
            return after[len(end):] if after.startswith(end) else after
        return (f" {self.prompts['plain_user']} {SENTENCE_MARK} "
                f"{self.prompts['plain_assistant']}")
