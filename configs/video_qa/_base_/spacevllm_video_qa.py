# What configs/video_qa/*.py share: configs/spacevllm_hcstvg.py's model answering
# multiple-choice questions with an option letter (MultipleChoiceAnswer; grounding
# samples keep the paper's SpanAnswer; at most 16 new tokens, as lmms-eval), the QA
# test pipeline and VideoQAMetric. Each benchmark's config names its dataset.
_base_ = ['../../../projects/spacevllm/configs/spacevllm_hcstvg.py',
          '../../_base_/datasets/video_qa.py']

model = dict(answer=dict(type='MultipleChoiceAnswer', grounding=dict(type='SpanAnswer')),
             max_new_tokens=16)

test_dataloader = dict(
    dataset=dict(
        _delete_=True,
        test_mode=True,
        pipeline={{_base_.qa_test_pipeline}}))
test_evaluator = dict(_delete_=True, type='VideoQAMetric')
