"""The four QA benchmarks' datasets on fixtures in each release's exact format.

Formats (fields as each release writes them; looked up in lmms-eval's task
code ``lmms_eval/tasks/<benchmark>/utils.py`` and the benchmarks' releases):

- MVBench (OpenGVLab/MVBench): ``json/<task>.json``, a list of
  ``{"video", "question", "candidates", "answer"}`` with the answer a
  candidate's text; videos in ``video/<task folder>/``.
- Video-MME (lmms-lab/Video-MME ``videomme/test-*.parquet``): rows with
  ``video_id, duration, domain, sub_category, url, videoID, question_id,
  task_type, question, options ["A. ..."], answer "A"``; here as json rows.
- EgoSchema (egoschema/EgoSchema): ``questions.json`` (``q_uid,
  google_drive_id, question, option 0..4``) and ``subset_answers.json``
  (``{q_uid: index}``).
- TempCompass (llyx97/TempCompass ``questions/multi-choice.json``):
  ``{video_id: {dim: [{"question": "q\\nA. ..\\nB. ..", "answer": "B. .."}]}}``.
"""
import pytest

from mmstvg.datasets import (EgoSchemaDataset, GroundingDataError, MVBenchDataset,
                             TempCompassDataset, VideoMMEDataset)


def test_mvbench_per_task_json(tmp_path, qa_writers):
    root = tmp_path / 'mvbench'
    qa_writers['json'](root / 'json' / 'action_antonym.json', [
        dict(video='166583.webm', question='What is the action performed by the person?',
             candidates=['not sure', 'scooping something up', 'pushing something'],
             answer='scooping something up')])
    qa_writers['json'](root / 'json' / 'moving_count.json', [
        dict(video='video_10000.mp4', question='How many metal objects are moving?',
             candidates=['0', '1', '2'], answer='2', start=0.0, end=5.0)])
    (root / 'video' / 'ssv2_video_mp4').mkdir(parents=True)
    (root / 'video' / 'ssv2_video_mp4' / '166583.webm').write_bytes(b'')  # exists only
    (root / 'video' / 'clevrer' / 'video_validation').mkdir(parents=True)
    qa_writers['video'](root / 'video' / 'clevrer' / 'video_validation' / 'video_10000.mp4')
    dataset = MVBenchDataset(data_root=str(root), ann_file='json',
                             data_prefix=dict(video='video'), test_mode=True)
    assert len(dataset) == 2
    info = dataset.get_data_info(0)
    assert (info['qa_category'], info['gt_choice'], info['task']) == ('action_antonym', 1,
                                                                      'mcqa')
    assert info['sentence'] == ('Question:What is the action performed by the person?\n'
                                'Option:\n(A) not sure\n(B) scooping something up\n'
                                '(C) pushing something\n')
    assert info['prompt_template'] == '{sentence}Only give the best option.\n'
    assert info['video_path'].endswith('ssv2_video_mp4/166583.webm')
    assert dataset.get_data_info(1)['gt_choice'] == 2


def test_mvbench_bad_answer_names_the_task_file(tmp_path, qa_writers):
    qa_writers['json'](tmp_path / 'json' / 'action_count.json', [
        dict(video='a.mp4', question='How many?', candidates=['1', '2'], answer='3')])
    with pytest.raises(GroundingDataError, match=r'action_count\.json.*answer'):
        MVBenchDataset(data_root=str(tmp_path), ann_file='json', check_video_exists=False)


def videomme_row(qid='001-1', duration='short', answer='C'):
    return dict(video_id='001', duration=duration, domain='Knowledge',
                sub_category='Humanity & History', url='https://www.youtube.com/watch?v=x',
                videoID='fFjv93ACGo8', question_id=qid, task_type='Counting Problem',
                question='How many people appear?',
                options=['A. 1.', 'B. 2.', 'C. 3.', 'D. 4.'], answer=answer)


def test_videomme_rows_and_duration(tmp_path, qa_writers):
    qa_writers['video'](tmp_path / 'fFjv93ACGo8.mp4')
    ann = qa_writers['json'](tmp_path / 'videomme.json',
                             [videomme_row(), videomme_row('600-3', 'long', 'A')])
    dataset = VideoMMEDataset(ann_file=ann, data_prefix=dict(video=str(tmp_path)),
                              test_mode=True)
    info = dataset.get_data_info(0)
    assert (info['qa_category'], info['gt_choice'], info['options']) == (
        'short', 2, ['1.', '2.', '3.', '4.'])
    assert info['sentence'] == 'How many people appear?\nA. 1.\nB. 2.\nC. 3.\nD. 4.'
    assert info['prompt_template'].startswith('Select the best answer')
    assert info['prompt_template'].endswith('{sentence}\nThe best answer is:')
    assert dataset.get_data_info(1)['qa_category'] == 'long'


def test_videomme_parquet(tmp_path):
    pa = pytest.importorskip('pyarrow')
    import pyarrow.parquet as pq
    path = str(tmp_path / 'test-00000-of-00001.parquet')
    pq.write_table(pa.Table.from_pylist([videomme_row()]), path)
    dataset = VideoMMEDataset(ann_file=path, check_video_exists=False)
    assert dataset.get_data_info(0)['gt_choice'] == 2


@pytest.mark.parametrize('field,value,match', [
    ('duration', 'very long', 'duration'), ('answer', 'E', 'answer'),
    ('options', 'A. 1', 'options')])
def test_videomme_bad_rows(tmp_path, qa_writers, field, value, match):
    row = videomme_row()
    row[field] = value
    ann = qa_writers['json'](tmp_path / 'v.json', [row, videomme_row('002-1')])
    with pytest.raises(GroundingDataError, match=match):
        VideoMMEDataset(ann_file=ann, check_video_exists=False)
    skipping = VideoMMEDataset(ann_file=ann, check_video_exists=False, on_bad_sample='skip')
    assert len(skipping) == 1 and skipping.skipped[match] == 1


def test_egoschema_subset_with_answers(tmp_path, qa_writers):
    def question(uid):
        return {'q_uid': uid, 'google_drive_id': 'gd' + uid,
                'question': 'What is the overarching goal of c?',
                **{f'option {i}': f'goal {i}' for i in range(5)}}
    qa_writers['json'](tmp_path / 'questions.json', [question('u1'), question('u2')])
    qa_writers['json'](tmp_path / 'subset_answers.json', {'u2': 4})
    dataset = EgoSchemaDataset(data_root=str(tmp_path), ann_file='questions.json',
                               check_video_exists=False)
    assert len(dataset) == 1                      # only the question with an answer
    info = dataset.get_data_info(0)
    assert (info['sample_id'], info['gt_choice']) == ('u2', 4)
    assert info['sentence'].endswith('\nE. goal 4')
    assert info['prompt_template'] == ("{sentence}\nAnswer with the option's letter from "
                                       'the given choices directly.')
    assert info['video_path'].endswith('u2.mp4')


def test_tempcompass_multi_choice(tmp_path, qa_writers):
    ann = qa_writers['json'](tmp_path / 'multi-choice.json', {
        '1006142077': {
            'speed': [{'question': 'How fast does the car drive?\nA. slowly\nB. quickly\n'
                                   'C. at a constant speed',
                       'answer': 'B. quickly'}],
            'direction': [{'question': 'Which way does it turn?\nA. left\nB. right',
                           'answer': 'A. left'}]}})
    dataset = TempCompassDataset(ann_file=ann, check_video_exists=False)
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    assert [(i['qa_category'], i['gt_choice']) for i in infos] == [('speed', 1),
                                                                   ('direction', 0)]
    assert infos[0]['options'] == ['slowly', 'quickly', 'at a constant speed']
    assert infos[0]['sentence'] == ('How fast does the car drive?\nA. slowly\nB. quickly\n'
                                    'C. at a constant speed')


def test_qa_sample_through_the_pipeline(tmp_path, qa_writers):
    qa_writers['video'](tmp_path / 'fFjv93ACGo8.mp4', num_frames=12, fps=6.0)
    ann = qa_writers['json'](tmp_path / 'v.json', [videomme_row()])
    dataset = VideoMMEDataset(
        ann_file=ann, data_prefix=dict(video=str(tmp_path)), test_mode=True,
        pipeline=[dict(type='GroundingDecordInit'),
                  dict(type='UniformSampleFrames', num_frames=4, test_mode=True),
                  dict(type='GroundingDecordDecode'),
                  dict(type='PackGroundingInputs')])
    item = dataset[0]
    sample = item['data_samples']
    assert tuple(item['inputs'].shape) == (4, 3, 24, 32)
    assert sample.frame_inds.tolist() == [1, 4, 7, 10]       # segment centres of 12 / 4
    assert sample.metainfo['fps'] == pytest.approx(6.0)
    assert (sample.gt_choice, sample.qa_category, sample.options[2]) == (2, 'short', '3.')
    assert 'gt_span_frames' not in sample and 'gt_boxes' not in sample
