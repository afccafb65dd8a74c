# Automatic STVG construction on the synthetic set's videos, from their
# captions only ("the red circle moves left"): the boxes and spans of
# data/synthetic_stvg are not read, so the result can be compared with them.
#
#   python tools/dataset_converters/generate_synthetic_stvg.py   # data/synthetic_stvg
#   python tools/data_construction/build_stvg.py \
#       configs/data_construction/synthetic_toy.py --limit 20
#
# Train the toy config on the result:
#   python tools/train.py configs/spacevllm_toy.py --cfg-options \
#       train_dataloader.dataset.ann_file=$PWD/work_dirs/stvg_construction_toy/annotations/synthetic_constructed_hcstvg.json
#
# The captions are a template, so the object is read by a regular expression
# (RegexObjectPicker, ours); replace object_picker with the recipe's
# TransformersObjectPicker to try an LLM on them. The detector is the
# recipe's Grounding-DINO Swin-T: put its weights and BERT where
# unistg_stvg_recipe.py says.
_base_ = ['./unistg_stvg_recipe.py']

work_dir = 'work_dirs/stvg_construction_toy'
ann_file = 'annotations/synthetic_constructed_hcstvg.json'

source = dict(
    _delete_=True,
    ann_file='data/synthetic_stvg/annotations/hcstvg_v1_train.json',
    video_root='data/synthetic_stvg/videos',
    format='hcstvg')  # the captions of an HC-STVG file; its boxes are not used

object_picker = dict(
    _delete_=True,
    type='RegexObjectPicker',
    pattern=r'^(?P<object>the \w+ \w+) moves')

# The 64 px frames are upscaled to Grounding-DINO's 800 px short side.
detector = dict(batch_size=8)

# 8 fps videos of 4-6 s: every other frame.
sampling = dict(sample_fps=4.0, max_frames=None)
