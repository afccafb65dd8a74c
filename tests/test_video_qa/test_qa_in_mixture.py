"""A Uni-STG mixture draws QA samples with its own 'mcqa' prompts and their ratio."""
from mmstvg.datasets import UniSTGDataset
from mmstvg.models.language.questions import QUESTION_TEMPLATES


def test_mixture_draws_qa_with_its_prompt_and_ratio(tmp_path, qa_writers):
    qa_writers['video'](tmp_path / 'v.mp4')
    rows = [dict(video_id='1', duration=d, domain='Knowledge', sub_category='Astronomy',
                 url='u', videoID='v', question_id=f'1-{i}', task_type='Counting Problem',
                 question='How many?', options=['A. 1', 'B. 2', 'C. 3', 'D. 4'], answer='B')
            for i, d in enumerate(['short', 'long'])]
    videomme = qa_writers['json'](tmp_path / 'videomme.json', rows)
    tempcompass = qa_writers['json'](tmp_path / 'mc.json', {'v': {'speed': [
        {'question': 'How fast?\nA. slowly\nB. quickly', 'answer': 'A. slowly'},
        {'question': 'How fast now?\nA. slowly\nB. quickly', 'answer': 'B. quickly'}]}})
    pipeline = [dict(type='GroundingDecordInit'),
                dict(type='UniformSampleFrames', num_frames=2, test_mode=True),
                dict(type='GroundingDecordDecode'), dict(type='ChooseQuestionTemplate'),
                dict(type='PackGroundingInputs')]
    mixture = UniSTGDataset(
        datasets=[dict(type='VideoMMEDataset', ann_file=videomme,
                       data_prefix=dict(video=str(tmp_path)), pipeline=pipeline),
                  dict(type='TempCompassDataset', ann_file=tempcompass,
                       data_prefix=dict(video=str(tmp_path)), pipeline=pipeline)],
        ratios=[1.5, 0.5], test_mode=True)
    # 2 x 1.5 + 2 x 0.5 samples: Video-MME's twice over plus one, one TempCompass.
    assert [mixture.locate(i)[0] for i in range(len(mixture))] == [0, 0, 0, 1]
    infos = [mixture.get_data_info(i) for i in range(4)]
    assert {i['task'] for i in infos} == {'mcqa'}
    assert all(i['question_templates'] == QUESTION_TEMPLATES['mcqa'] for i in infos)
    chosen = [mixture[i]['data_samples'].metainfo['prompt_template'] for i in range(4)]
    assert all(t in QUESTION_TEMPLATES['mcqa'] for t in chosen)
    assert chosen[0] != chosen[1]   # sample_idx % 2 at test time
    sample = mixture[3]['data_samples']
    assert sample.gt_choice in (0, 1) and sample.qa_benchmark == 'tempcompass'

    own = UniSTGDataset(
        datasets=[dict(type='VideoMMEDataset', ann_file=videomme, check_video_exists=False)],
        prompt_templates=dict(mcqa=['Q: {sentence} Letter:']), test_mode=True)
    assert own.get_data_info(0)['question_templates'] == ['Q: {sentence} Letter:']
