# SpaceVLLM-7B tested on the EgoSchema subset (the 500 questions with public answers).
#
#   model  configs/spacevllm_hcstvg.py's answering with an option letter
#          (configs/video_qa/_base_/spacevllm_video_qa.py; EDIT the pretrained
#          paths in projects/spacevllm/configs/_base_/models/spacevllm_7b.py).
#   data   data/egoschema/ (questions.json, subset_answers.json, videos/<q_uid>.mp4)
#          (docs/en/dataset_prepare.md); prompt wording and answer reading
#          follow lmms-eval's egoschema_subset task.
#
#   python tools/test.py configs/video_qa/spacevllm_egoschema.py CKPT
#   bash tools/dist_test.sh configs/video_qa/spacevllm_egoschema.py CKPT 8
_base_ = ['./_base_/spacevllm_video_qa.py']

test_dataloader = dict(
    dataset=dict(
        type='EgoSchemaDataset',
        data_root='data/egoschema/',
        ann_file='questions.json',
        answer_file='subset_answers.json',
        data_prefix=dict(video='videos')))
