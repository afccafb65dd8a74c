# SpaceVLLM-7B tested on MVBench (accuracy per task of its 20, their mean, overall).
#
#   model  configs/spacevllm_hcstvg.py's answering with an option letter
#          (configs/video_qa/_base_/spacevllm_video_qa.py; EDIT the pretrained
#          paths in projects/spacevllm/configs/_base_/models/spacevllm_7b.py).
#   data   data/mvbench/ (OpenGVLab/MVBench: json/<task>.json, video/<task folder>/)
#          (docs/en/dataset_prepare.md); prompt wording and answer reading
#          follow lmms-eval's mvbench task.
#
#   python tools/test.py configs/video_qa/spacevllm_mvbench.py CKPT
#   bash tools/dist_test.sh configs/video_qa/spacevllm_mvbench.py CKPT 8
_base_ = ['./_base_/spacevllm_video_qa.py']

test_dataloader = dict(
    dataset=dict(
        type='MVBenchDataset',
        data_root='data/mvbench/',
        ann_file='json',
        data_prefix=dict(video='video')))
