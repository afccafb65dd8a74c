"""Object pickers: caption -> the object to ground + a referring sentence.

:class:`TransformersObjectPicker` asks a causal LM (the recipe: Qwen2.5-72B-
Instruct) with :data:`PICKER_PROMPT`; :func:`parse_picker_reply` reads its
answer, whichever of the two usual styles it takes. A reply that cannot be
read is returned as a :class:`PickedObject` with ``ok=False`` and the reason,
so the pipeline counts it instead of stopping.
"""
import json
import re
from dataclasses import asdict, dataclass
from typing import List, Optional, Sequence

from mmstvg.registry import OBJECT_PICKERS

__all__ = ['PickedObject', 'parse_picker_reply', 'PICKER_SYSTEM_PROMPT', 'PICKER_PROMPT',
           'BaseObjectPicker', 'TransformersObjectPicker', 'RegexObjectPicker']

#: The system message of the picker's chat.
PICKER_SYSTEM_PROMPT = ('You turn video captions into queries for spatio-temporal '
                        'video grounding.')

#: The user message; ``{caption}`` is replaced by the clip's caption.
PICKER_PROMPT = (
    'Caption of a video clip: "{caption}"\n'
    'Choose the one object (a person, an animal or a thing) that the caption is '
    'mainly about and that can be seen in the video. Then rewrite the caption as '
    'one sentence that refers to that object and says what it does.\n'
    'Answer with JSON only, in this form: '
    '{{"object": "<a short noun phrase naming the object, such as the man in the '
    'red shirt>", "sentence": "<the referring sentence>"}}')

_OBJECT_KEYS = ('object', 'target', 'subject', 'entity', 'phrase')
_SENTENCE_KEYS = ('sentence', 'referring_sentence', 'referring sentence',
                  'expression', 'description', 'caption')
#: Stands for the caption while the chat template renders the prompt.
_CAPTION_MARK = '\u2063CAPTION\u2063'
_FENCE = re.compile(r'```(?:json|JSON)?\s*(.*?)```', re.S)


@dataclass
class PickedObject:
    """What a picker returned for one caption.

    Attributes:
        ok: whether the reply named an object.
        object_phrase: the object to ground (``''`` when not ok).
        sentence: the referring sentence (``''`` when the reply gave none;
            the pipeline then uses the caption).
        raw: the picker's raw reply.
        error: why the reply was not usable (``''`` when ok).
    """

    ok: bool
    object_phrase: str = ''
    sentence: str = ''
    raw: str = ''
    error: str = ''

    def to_dict(self) -> dict:
        return asdict(self)


def _clean(text: str) -> str:
    text = ' '.join(str(text).split())
    return text.strip().strip('"\'`*').strip()


def _first_json_object(text: str) -> Optional[dict]:
    """The first ``{...}`` in ``text`` that parses as a JSON object."""
    starts = [m.start() for m in re.finditer(r'\{', text)]
    for start in starts:
        depth = 0
        for end in range(start, len(text)):
            if text[end] == '{':
                depth += 1
            elif text[end] == '}':
                depth -= 1
                if depth == 0:
                    try:
                        value = json.loads(text[start:end + 1])
                    except ValueError:
                        break
                    if isinstance(value, dict):
                        return value
                    break
    return None


def _lookup(mapping: dict, keys: Sequence[str]) -> Optional[str]:
    lowered = {str(k).strip().lower(): v for k, v in mapping.items()}
    for key in keys:
        value = lowered.get(key)
        if isinstance(value, str) and _clean(value):
            return _clean(value)
    return None


def _line_value(text: str, keys: Sequence[str]) -> Optional[str]:
    names = '|'.join(re.escape(k) for k in keys)
    match = re.search(rf'^[\s>*\-#]*\**\s*(?:{names})\s*\**\s*[:：=]\s*(.+?)\s*$',
                      text, re.I | re.M)
    return _clean(match.group(1)) if match and _clean(match.group(1)) else None


def parse_picker_reply(reply: str, max_object_words: int = 12) -> PickedObject:
    """Read the object and sentence out of a picker's reply.

    Accepted styles, in this order:

    1. a JSON object anywhere in the reply (also inside a code fence), with
       the object under ``object`` / ``target`` / ``subject`` / ``entity`` /
       ``phrase`` and the sentence under ``sentence`` / ``referring_sentence``
       / ``expression`` / ``description`` / ``caption`` (keys in any case);
    2. ``key: value`` lines with the same keys (``Object: the dog`` /
       ``- **sentence**: ...``).

    Quotes, markdown emphasis and a final period are stripped from the object.

    Args:
        reply: the raw reply.
        max_object_words: an object of more words is rejected (the model
            wrote a sentence where a noun phrase belongs).

    Returns:
        A :class:`PickedObject`; ``ok=False`` with ``error`` for a reply
        with no object, an empty object or one too long.
    """
    raw = reply if isinstance(reply, str) else ''
    if not raw.strip():
        return PickedObject(False, raw=raw, error='empty reply')
    text = raw
    fenced = _FENCE.search(text)
    candidates = [fenced.group(1), text] if fenced else [text]
    obj = sentence = None
    for candidate in candidates:
        mapping = _first_json_object(candidate)
        if mapping is not None:
            obj, sentence = _lookup(mapping, _OBJECT_KEYS), _lookup(mapping, _SENTENCE_KEYS)
            if obj:
                break
    if not obj:
        obj = _line_value(text, _OBJECT_KEYS)
        sentence = _line_value(text, _SENTENCE_KEYS)
    if not obj:
        return PickedObject(False, raw=raw,
                            error='no JSON object with an "object" key and no '
                            '"object: ..." line')
    obj = obj.rstrip('.').strip()
    if not obj:
        return PickedObject(False, raw=raw, error='empty object')
    if len(obj.split()) > max_object_words:
        return PickedObject(False, raw=raw,
                            error=f'object has {len(obj.split())} words, more than '
                            f'{max_object_words}')
    return PickedObject(True, object_phrase=obj, sentence=sentence or '', raw=raw)


class BaseObjectPicker:
    """Turns captions into :class:`PickedObject` s, a batch at a time.

    Attributes:
        batch_size: captions the pipeline hands over at once.
    """

    batch_size = 1

    def pick(self, captions: Sequence[str]) -> List[PickedObject]:
        """One :class:`PickedObject` per caption, in order."""
        raise NotImplementedError


@OBJECT_PICKERS.register_module()
class TransformersObjectPicker(BaseObjectPicker):
    """A ``transformers`` causal LM that picks the object and writes the sentence.

    The model and tokenizer load with ``from_pretrained`` from local paths (or
    hub names where a hub is reachable). Each caption is put into
    ``prompt`` (``{caption}``), wrapped in the tokenizer's chat template with
    ``system_prompt`` when it has one (else the two texts joined by a blank
    line), and answered greedily; a batch is left-padded and generated at
    once. Replies are read by :func:`parse_picker_reply`.

    Args:
        model_path: the causal LM's directory (Qwen2.5-72B-Instruct in the
            recipe).
        tokenizer_path: its tokenizer, when not in ``model_path``.
        batch_size: captions per ``generate`` call.
        max_new_tokens: the longest reply.
        prompt: the user message template, :data:`PICKER_PROMPT` by default.
        system_prompt: the system message, :data:`PICKER_SYSTEM_PROMPT` by
            default; ``''`` for none.
        device: ``'auto'`` (CUDA when available, else CPU), a device string,
            or ``None`` when ``device_map`` places the model.
        device_map: passed to ``from_pretrained`` (``'auto'`` spreads a 72B
            model over the visible GPUs).
        torch_dtype: ``'auto'``, ``'bfloat16'``, ``'float16'``, ``'float32'``.
        max_object_words: see :func:`parse_picker_reply`.
        trust_remote_code: passed to ``from_pretrained``.
    """

    def __init__(self, model_path: str, tokenizer_path: Optional[str] = None,
                 batch_size: int = 8, max_new_tokens: int = 96,
                 prompt: str = PICKER_PROMPT, system_prompt: str = PICKER_SYSTEM_PROMPT,
                 device: Optional[str] = 'auto', device_map=None,
                 torch_dtype: str = 'auto', max_object_words: int = 12,
                 trust_remote_code: bool = False):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        if '{caption}' not in prompt:
            raise ValueError('the picker prompt must contain "{caption}"')
        self.batch_size = int(batch_size)
        self.max_new_tokens = int(max_new_tokens)
        self.prompt = prompt
        self.system_prompt = system_prompt
        self.max_object_words = max_object_words
        self.tokenizer = AutoTokenizer.from_pretrained(
            tokenizer_path or model_path, trust_remote_code=trust_remote_code)
        self.tokenizer.padding_side = 'left'
        self._user_text = None
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        dtype = torch_dtype if torch_dtype == 'auto' else getattr(torch, torch_dtype)
        self.model = AutoModelForCausalLM.from_pretrained(
            model_path, dtype=dtype, device_map=device_map,
            trust_remote_code=trust_remote_code)
        if device_map is None and device is not None:
            if device == 'auto':
                device = 'cuda' if torch.cuda.is_available() else 'cpu'
            self.model.to(device)
        self.model.eval()

    def build_prompt(self, caption: str) -> str:
        """The full text the model reads for one caption."""
        user = self.prompt.format(caption=' '.join(str(caption).split()))
        messages = ([dict(role='system', content=self.system_prompt)]
                    if self.system_prompt else []) + [dict(role='user', content=user)]
        if getattr(self.tokenizer, 'chat_template', None):
            return self.tokenizer.apply_chat_template(messages, tokenize=False,
                                                      add_generation_prompt=True)
        return '\n\n'.join(m['content'] for m in messages) + '\n\n'

    def encode_prompt(self, caption: str) -> List[int]:
        """The ids of :meth:`build_prompt`'s text, the caption as plain text.

        A control token written in the caption (``<|im_end|>``, ...) stays
        characters; only the chat template's own are real
        (:class:`~mmstvg.models.language.user_text.UserTextEncoder`).
        """
        from mmstvg.models.language.user_text import UserTextEncoder, insert_user_text
        if self._user_text is None:
            self._user_text = UserTextEncoder(self.tokenizer)
        caption = ' '.join(str(caption).split())
        rendered = self.build_prompt(_CAPTION_MARK)
        expected = self.prompt.format(caption=_CAPTION_MARK).count(_CAPTION_MARK)
        if rendered.count(_CAPTION_MARK) != expected:
            raise ValueError(f'the chat template of {type(self.tokenizer).__name__} changed '
                             f'the caption: {rendered.count(_CAPTION_MARK)} copies in the '
                             f'prompt, {expected} in the picker prompt')
        text, spans = insert_user_text(rendered, _CAPTION_MARK, caption)
        return self._user_text.encode(text, spans, 'caption')[0]

    def generate(self, captions: Sequence[str]) -> List[str]:
        """The raw replies to a batch of captions (greedy decoding)."""
        import torch
        inputs = self.tokenizer.pad(dict(input_ids=[self.encode_prompt(c) for c in captions]),
                                    padding=True, return_tensors='pt')
        inputs = {k: v.to(self.model.device) for k, v in inputs.items()
                  if k in ('input_ids', 'attention_mask')}
        with torch.no_grad():
            output = self.model.generate(
                **inputs, max_new_tokens=self.max_new_tokens, do_sample=False,
                pad_token_id=self.tokenizer.pad_token_id)
        new_tokens = output[:, inputs['input_ids'].shape[1]:]
        return self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)

    def pick(self, captions: Sequence[str]) -> List[PickedObject]:
        replies: List[str] = []
        for start in range(0, len(captions), self.batch_size):
            replies.extend(self.generate(captions[start:start + self.batch_size]))
        return [parse_picker_reply(r, self.max_object_words) for r in replies]


@OBJECT_PICKERS.register_module()
class RegexObjectPicker(BaseObjectPicker):
    """Picks the object with a regular expression (ours, not the paper's).

    For captions written from a template (the synthetic set's "the red
    circle moves left"), where an LLM is not needed: the object is the named
    group ``object`` of the first match, the sentence is the caption.
    A caption without a match is returned not ok, like a malformed reply.

    Args:
        pattern: a regular expression with a group ``(?P<object>...)``.
        flags: ``re`` flags, e.g. ``re.I`` (2).
        batch_size: captions per call (no effect on the result).
    """

    def __init__(self, pattern: str, flags: int = 0, batch_size: int = 64):
        self.regex = re.compile(pattern, flags)
        if 'object' not in self.regex.groupindex:
            raise ValueError(f'pattern {pattern!r} has no (?P<object>...) group')
        self.batch_size = int(batch_size)

    def pick(self, captions: Sequence[str]) -> List[PickedObject]:
        picks = []
        for caption in captions:
            match = self.regex.search(caption)
            phrase = _clean(match.group('object')) if match else ''
            if phrase:
                picks.append(PickedObject(True, object_phrase=phrase,
                                          sentence=caption, raw=caption))
            else:
                picks.append(PickedObject(False, raw=caption,
                                          error=f'no match of {self.regex.pattern!r}'))
        return picks
