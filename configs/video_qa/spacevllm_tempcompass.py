# SpaceVLLM-7B tested on TempCompass's multi-choice part (accuracy per temporal aspect and
# overall).
#
#   model  configs/spacevllm_hcstvg.py's (EDIT the pretrained paths in
#          configs/_base_/models/spacevllm_7b.py); MultipleChoiceAnswer answers
#          the QA samples with an option letter (grounding samples keep the
#          paper's SpanAnswer); lmms-eval generates at most 16 tokens here.
#   data   data/tempcompass/ (questions/multi-choice.json, videos/<video_id>.mp4)
#          (docs/en/dataset_prepare.md); prompt wording and answer reading
#          follow lmms-eval's tempcompass multi-choice task.
#
#   python tools/test.py configs/video_qa/spacevllm_tempcompass.py CKPT
#   bash tools/dist_test.sh configs/video_qa/spacevllm_tempcompass.py CKPT 8
_base_ = ['../spacevllm_hcstvg.py', '../_base_/datasets/video_qa.py']

model = dict(answer=dict(type='MultipleChoiceAnswer', grounding=dict(type='SpanAnswer')),
             max_new_tokens=16)

test_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='TempCompassDataset',
        data_root='data/tempcompass/',
        ann_file='questions/multi-choice.json',
        data_prefix=dict(video='videos'),
        test_mode=True,
        pipeline={{_base_.qa_test_pipeline}}))
test_evaluator = dict(_delete_=True, type='VideoQAMetric')
