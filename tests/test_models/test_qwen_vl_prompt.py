"""template='qwen_vl': the checkpoint's chat template, its vision markers, its times."""
import pytest

from mmstvg.models.language.prompt_builder import PromptBuilder
from mmstvg.testing.qwen_vl_tokenizers import (QWEN2_5_VL_CHAT_TEMPLATE,
                                               QWEN3_VL_CHAT_TEMPLATE, qwen_vl_tokenizer)

PAD = '<|video_pad|>'


def _sequence(tokenizer, pieces, tokens_per_grid):
    """The pieces' ids in sequence order, ``<|video_pad|>`` for each visual token."""
    pad = tokenizer.convert_tokens_to_ids(PAD)
    video = []
    suffixes = pieces.frame_suffix_ids or [[] for _ in pieces.frame_prefix_ids]
    for prefix, suffix in zip(pieces.frame_prefix_ids, suffixes):
        video += prefix + [pad] * tokens_per_grid + suffix
    return (pieces.head_ids + video + pieces.between_ids + pieces.sentence_ids +
            pieces.tail_ids + pieces.answer_ids)


def test_qwen2_5_vl_markers_around_the_video_and_no_times(qwen2_tokenizer_dir):
    tokenizer = qwen_vl_tokenizer(qwen2_tokenizer_dir, QWEN2_5_VL_CHAT_TEMPLATE)
    builder = PromptBuilder(tokenizer, template='qwen_vl')
    pieces = builder.build('stvg', 'a man runs', 2.0, [0.25, 1.0], answer='ok')
    text = ('<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n'
            f'<|vision_start|>{PAD * 6}<|vision_end|>Find when and where this happens: '
            'a man runs<|im_end|>\n<|im_start|>assistant\nok<|im_end|>')
    assert _sequence(tokenizer, pieces, 3) == tokenizer(text).input_ids
    assert tokenizer.decode(pieces.sentence_ids) == ' a man runs'
    assert builder.turn_end_id == tokenizer.convert_tokens_to_ids('<|im_end|>')


def test_qwen3_vl_stamp_and_markers_around_each_temporal_patch(qwen2_tokenizer_dir):
    tokenizer = qwen_vl_tokenizer(qwen2_tokenizer_dir, QWEN3_VL_CHAT_TEMPLATE)
    builder = PromptBuilder(tokenizer, template='qwen_vl', time_style='frame_prefix',
                            time_format='<{:.1f} seconds>',
                            prompts=dict(vision_markers='patch'))
    pieces = builder.build('tvg', 'a man runs', 2.0, [0.18, 0.94])
    grid = f'<|vision_start|>{PAD * 2}<|vision_end|>'
    text = (f'<|im_start|>user\n<0.2 seconds>{grid}<0.9 seconds>{grid}'
            'When does this happen: a man runs<|im_end|>\n<|im_start|>assistant\n')
    assert _sequence(tokenizer, pieces, 2) == tokenizer(text).input_ids
    # a conversation's further round, in the same template
    rounds = builder.build('caption', 'Describe it.', 2.0, [0.18], answer='A man.',
                           rounds=[('And then?', None)]).rounds
    assert tokenizer.decode(rounds[0].user_ids) == (
        '\n<|im_start|>user\nAnd then?<|im_end|>\n<|im_start|>assistant\n')


def test_qwen_vl_needs_the_checkpoints_chat_template(qwen2_tokenizer_dir):
    from transformers import AutoTokenizer
    tokenizer = qwen_vl_tokenizer(qwen2_tokenizer_dir, QWEN2_5_VL_CHAT_TEMPLATE)
    with pytest.raises(ValueError, match="vision_markers must be 'video'"):
        PromptBuilder(tokenizer, template='qwen_vl', prompts=dict(vision_markers='frame'))
    plain = AutoTokenizer.from_pretrained(qwen2_tokenizer_dir)  # no vision tokens
    plain.chat_template = QWEN2_5_VL_CHAT_TEMPLATE
    with pytest.raises(ValueError, match="does not have as one token"):
        PromptBuilder(plain, template='qwen_vl')


@pytest.mark.parametrize('chat_template, style', [
    (QWEN2_5_VL_CHAT_TEMPLATE, dict(time_style='none')),
    (QWEN3_VL_CHAT_TEMPLATE, dict(time_style='frame_prefix', time_format='<{:.1f} seconds>',
                                  prompts=dict(vision_markers='patch')))])
def test_an_image_is_the_chat_templates_image_item(qwen2_tokenizer_dir, chat_template, style):
    """A REC image: the template's own image item, its pad for each visual
    token, no time stamp and no per-patch markers (Qwen's image processor)."""
    tokenizer = qwen_vl_tokenizer(qwen2_tokenizer_dir, chat_template)
    builder = PromptBuilder(tokenizer, template='qwen_vl', **style)
    pieces = builder.build('rec', 'the red cup', 1.0, [0.0], answer='ok', image=True)
    assert pieces.frame_suffix_ids == [] and pieces.frame_prefix_ids == [[]]
    image_pad = tokenizer.convert_tokens_to_ids('<|image_pad|>')
    sequence = (pieces.head_ids + [image_pad] * 4 + pieces.between_ids +
                pieces.sentence_ids + pieces.tail_ids + pieces.answer_ids)
    messages = [dict(role='user', content=[dict(type='image'),
                                           dict(type='text',
                                                text='Where is this object: the red cup')]),
                dict(role='assistant', content='ok')]
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    text = text.replace('<|image_pad|>', '<|image_pad|>' * 4)  # the processor's expansion
    assert sequence == tokenizer(text).input_ids[:len(sequence)]
    assert tokenizer.decode(tokenizer(text).input_ids[len(sequence):]) == '\n'
    assert '<|vision_start|><|image_pad|><|image_pad|>' in tokenizer.decode(sequence)
    with pytest.raises(ValueError, match='one token grid, got 2'):
        builder.build('rec', 'the red cup', 1.0, [0.0, 0.5], image=True)


def test_a_rec_sample_goes_to_the_image_item(qwen2_tokenizer_dir):
    """The sequence builder writes a REC sample (an image) as the image item."""
    from mmstvg.models.grounders.multimodal_sequence import SequenceBuilder
    from mmstvg.structures import GroundingDataSample
    tokenizer = qwen_vl_tokenizer(qwen2_tokenizer_dir, QWEN3_VL_CHAT_TEMPLATE)
    builder = PromptBuilder(tokenizer, template='qwen_vl', time_style='frame_prefix',
                            time_format='<{:.1f} seconds>', prompts=dict(vision_markers='patch'))
    sequences = SequenceBuilder(builder, answer=None, frames_per_patch=2)
    decode = tokenizer.decode
    for task, prefix, suffix in (('rec', '', []), ('stvg', '<0.0 seconds><|vision_start|>',
                                                   ['<|vision_end|>'])):
        sample = GroundingDataSample(metainfo=dict(task=task, sentence='the red cup',
                                                   fps=1.0, num_frames=1, duration=1.0,
                                                   frame_times=[0.0]))
        pieces = sequences.pieces(sample, 1, with_answer=False)
        assert [decode(ids) for ids in pieces.frame_prefix_ids] == [prefix]
        assert [decode(ids) for ids in pieces.frame_suffix_ids] == suffix
        assert decode(pieces.head_ids).endswith('user\n<|vision_start|>' if task == 'rec'
                                                 else 'user\n')
