# SpaceVLLM-7B tested on Video-MME without subtitles (accuracy per duration: short / medium /
# long, and overall).
#
#   model  configs/spacevllm_hcstvg.py's answering with an option letter
#          (configs/video_qa/_base_/spacevllm_video_qa.py; EDIT the pretrained
#          paths in projects/spacevllm/configs/_base_/models/spacevllm_7b.py).
#   data   data/videomme/ (lmms-lab/Video-MME: videomme/test-00000-of-00001.parquet,
#          data/<videoID>.mp4; parquet needs pyarrow, or give the rows as json)
#          (docs/en/dataset_prepare.md); prompt wording and answer reading
#          follow lmms-eval's videomme task.
#
#   python tools/test.py configs/video_qa/spacevllm_videomme.py CKPT
#   bash tools/dist_test.sh configs/video_qa/spacevllm_videomme.py CKPT 8
_base_ = ['./_base_/spacevllm_video_qa.py']

test_dataloader = dict(
    dataset=dict(
        type='VideoMMEDataset',
        data_root='data/videomme/',
        ann_file='videomme/test-00000-of-00001.parquet',
        data_prefix=dict(video='data')))
