# SpaceVLLM-7B tested on Video-MME without subtitles (accuracy per duration: short / medium /
# long, and overall).
#
#   model  configs/spacevllm_hcstvg.py's (EDIT the pretrained paths in
#          configs/_base_/models/spacevllm_7b.py); MultipleChoiceAnswer answers
#          the QA samples with an option letter (grounding samples keep the
#          paper's SpanAnswer); lmms-eval generates at most 16 tokens here.
#   data   data/videomme/ (lmms-lab/Video-MME: videomme/test-00000-of-00001.parquet,
#          data/<videoID>.mp4; parquet needs pyarrow, or give the rows as json)
#          (docs/en/dataset_prepare.md); prompt wording and answer reading
#          follow lmms-eval's videomme task.
#
#   python tools/test.py configs/video_qa/spacevllm_videomme.py CKPT
#   bash tools/dist_test.sh configs/video_qa/spacevllm_videomme.py CKPT 8
_base_ = ['../spacevllm_hcstvg.py', '../_base_/datasets/video_qa.py']

model = dict(answer=dict(type='MultipleChoiceAnswer', grounding=dict(type='SpanAnswer')),
             max_new_tokens=16)

test_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='VideoMMEDataset',
        data_root='data/videomme/',
        ann_file='videomme/test-00000-of-00001.parquet',
        data_prefix=dict(video='data'),
        test_mode=True,
        pipeline={{_base_.qa_test_pipeline}}))
test_evaluator = dict(_delete_=True, type='VideoQAMetric')
