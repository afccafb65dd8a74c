"""Item 4 of issue 15: the inferencer and the demo check sentences as the datasets do.

Text type, UTF-8, emptiness and the word budget (an error, or a logged
truncation: the test dataset's ``max_sentence_words`` / ``long_sentence``).
"""
import pytest
from mmengine.config import Config

from demo.video_demo import main as demo_main
from mmstvg.apis import GroundingInferencer
from mmstvg.apis.inference_pipeline import build_inference_data_info


@pytest.mark.parametrize('sentence, error', [
    (['a', 'list'], "input 0 (a.mp4): field 'sentence': must be a string, got list "
                    "['a', 'list']"),
    (7, "input 0 (a.mp4): field 'sentence': must be a string, got int 7"),
    ('bad \udcff bytes', "input 0 (a.mp4): field 'sentence': is not valid UTF-8 text "
                         '(position 4)'),
    ('  ', "input 0 (a.mp4): field 'sentence': is empty"),
    ('one two three four', "input 0 (a.mp4): field 'sentence': has 4 words, more than "
                           'the budget of 3'),
])
def test_bad_sentences_are_the_datasets_errors(sentence, error):
    with pytest.raises(ValueError) as info:
        build_inference_data_info('a.mp4', sentence, max_sentence_words=3)
    assert str(info.value).startswith(error)


def test_a_long_sentence_is_truncated_and_logged_when_asked(capsys):
    from mmengine.logging import MMLogger
    MMLogger.get_instance('test_inference_sentences')
    info = build_inference_data_info('a.mp4', 'one two three four', max_sentence_words=3,
                                     long_sentence='truncate')
    assert info['sentence'] == 'one two three'
    out = capsys.readouterr()
    assert 'input 0 (a.mp4): the sentence was cut to max_sentence_words=3 words' in \
        out.out + out.err


def test_the_inferencer_takes_the_test_datasets_budget(tiny_cfg):
    assert GroundingInferencer.sentence_rules(Config(dict(test_dataloader=dict(
        dataset=dict(type='ConcatDataset', datasets=[
            dict(max_sentence_words=5, long_sentence='truncate')]))))) == dict(
        max_sentence_words=5, long_sentence='truncate')
    assert GroundingInferencer.sentence_rules(Config({})) == dict(
        max_sentence_words=256, long_sentence='error')
    cfg = tiny_cfg.copy()
    cfg.test_dataloader = dict(cfg.test_dataloader, dataset=dict(
        cfg.test_dataloader.dataset, max_sentence_words=2))
    inferencer = GroundingInferencer(cfg, device='cpu')
    with pytest.raises(ValueError, match="field 'sentence': has 3 words, more than the "
                                         'budget of 2'):
        inferencer('a.mp4', 'the red circle')


def test_the_demo_refuses_a_non_utf8_sentence_before_building_the_model(tmp_path):
    with pytest.raises(ValueError, match="demo: field 'sentence': is not valid UTF-8"):
        demo_main(['a.mp4', 'caf\udce9', 'no_such_config.py', '--out',
                   str(tmp_path / 'out.mp4')])
    with pytest.raises(ValueError, match="demo: field 'sentence': is empty"):
        demo_main(['a.mp4', ' ', 'no_such_config.py', '--out', str(tmp_path / 'out.mp4')])
