# SpaceVLLM-7B tested on TempCompass's multi-choice part (accuracy per temporal aspect and
# overall).
#
#   model  configs/spacevllm_hcstvg.py's answering with an option letter
#          (configs/video_qa/_base_/spacevllm_video_qa.py; EDIT the pretrained
#          paths in projects/spacevllm/configs/_base_/models/spacevllm_7b.py).
#   data   data/tempcompass/ (questions/multi-choice.json, videos/<video_id>.mp4)
#          (docs/en/dataset_prepare.md); prompt wording and answer reading
#          follow lmms-eval's tempcompass multi-choice task.
#
#   python tools/test.py configs/video_qa/spacevllm_tempcompass.py CKPT
#   bash tools/dist_test.sh configs/video_qa/spacevllm_tempcompass.py CKPT 8
_base_ = ['./_base_/spacevllm_video_qa.py']

test_dataloader = dict(
    dataset=dict(
        type='TempCompassDataset',
        data_root='data/tempcompass/',
        ann_file='questions/multi-choice.json',
        data_prefix=dict(video='videos')))
