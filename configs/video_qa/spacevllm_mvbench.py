# SpaceVLLM-7B tested on MVBench (accuracy per task of its 20, their mean, overall).
#
#   model  configs/spacevllm_hcstvg.py's (EDIT the pretrained paths in
#          configs/_base_/models/spacevllm_7b.py); MultipleChoiceAnswer answers
#          the QA samples with an option letter (grounding samples keep the
#          paper's SpanAnswer); lmms-eval generates at most 16 tokens here.
#   data   data/mvbench/ (OpenGVLab/MVBench: json/<task>.json, video/<task folder>/)
#          (docs/en/dataset_prepare.md); prompt wording and answer reading
#          follow lmms-eval's mvbench task.
#
#   python tools/test.py configs/video_qa/spacevllm_mvbench.py CKPT
#   bash tools/dist_test.sh configs/video_qa/spacevllm_mvbench.py CKPT 8
_base_ = ['../spacevllm_hcstvg.py', '../_base_/datasets/video_qa.py']

model = dict(answer=dict(type='MultipleChoiceAnswer', grounding=dict(type='SpanAnswer')),
             max_new_tokens=16)

test_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='MVBenchDataset',
        data_root='data/mvbench/',
        ann_file='json',
        data_prefix=dict(video='video'),
        test_mode=True,
        pipeline={{_base_.qa_test_pipeline}}))
test_evaluator = dict(_delete_=True, type='VideoQAMetric')
