"""Qwen2.5-VL's and Qwen3-VL's tokenizers for tests: Qwen2's BPE, the vision
tokens and each model's chat template.

A hub snapshot of Qwen2.5-VL / Qwen3-VL holds Qwen2's BPE with the special
tokens ``<|object_ref_start|>`` (151646) ... ``<|video_pad|>`` (151656) and a
chat template (``chat_template.jinja`` / ``chat_template.json``). Nothing can
be downloaded here, so the tests rebuild them: the BPE from
:mod:`.qwen2_tokenizer`, the tokens added in their real order (so their ids
are the real ones), and the chat templates below, written to render what
the models' own templates render for the messages the tests use: a system
turn (Qwen2.5-VL adds "You are a helpful assistant." when none is given;
Qwen3-VL adds none), user turns whose content is a string or a list of
``{'type': 'video' | 'image' | 'text'}`` items (a video item renders as
``<|vision_start|><|video_pad|><|vision_end|>``), assistant turns, and the
generation prompt.
"""

__all__ = ['QWEN_VL_SPECIAL_TOKENS', 'QWEN2_5_VL_CHAT_TEMPLATE', 'QWEN3_VL_CHAT_TEMPLATE',
           'qwen_vl_tokenizer']

#: Qwen2's special tokens after ``<|im_end|>`` (151645), in id order.
QWEN_VL_SPECIAL_TOKENS = (
    '<|object_ref_start|>', '<|object_ref_end|>', '<|box_start|>', '<|box_end|>',
    '<|quad_start|>', '<|quad_end|>', '<|vision_start|>', '<|vision_end|>',
    '<|vision_pad|>', '<|image_pad|>', '<|video_pad|>')

_CONTENT = (
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for item in message['content'] %}"
    "{% if item['type'] == 'image' %}{{ '<|vision_start|><|image_pad|><|vision_end|>' }}"
    "{% elif item['type'] == 'video' %}{{ '<|vision_start|><|video_pad|><|vision_end|>' }}"
    "{% elif item['type'] == 'text' %}{{ item['text'] }}{% endif %}"
    '{% endfor %}{% endif %}')

_TURN = ("{{ '<|im_start|>' + message['role'] + '\\n' }}" + _CONTENT +
         "{{ '<|im_end|>\\n' }}")

_GENERATION = "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

#: Qwen2.5-VL-Instruct's chat template (its output for the messages above).
QWEN2_5_VL_CHAT_TEMPLATE = (
    '{% for message in messages %}'
    "{% if loop.first and message['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}" +
    _TURN + '{% endfor %}' + _GENERATION)

#: Qwen3-VL-Instruct's chat template (its output for the messages above).
QWEN3_VL_CHAT_TEMPLATE = '{% for message in messages %}' + _TURN + '{% endfor %}' + _GENERATION


def qwen_vl_tokenizer(tokenizer_dir: str, chat_template: str):
    """Qwen2's tokenizer in ``tokenizer_dir`` with the vision tokens and a chat template.

    Args:
        tokenizer_dir: a Qwen2 tokenizer (e.g.
            :func:`~.qwen2_tokenizer.cached_qwen2_tokenizer_dir`).
        chat_template: :data:`QWEN2_5_VL_CHAT_TEMPLATE` or
            :data:`QWEN3_VL_CHAT_TEMPLATE`.

    Returns:
        The tokenizer (``<|vision_start|>`` 151652 ... ``<|video_pad|>`` 151656).
    """
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    if len(tokenizer) != 151646:
        raise ValueError(f'{tokenizer_dir}: expected Qwen2\'s 151,646 tokens, got '
                         f'{len(tokenizer)}')
    tokenizer.add_special_tokens(dict(additional_special_tokens=list(QWEN_VL_SPECIAL_TOKENS)))
    tokenizer.chat_template = chat_template
    return tokenizer
