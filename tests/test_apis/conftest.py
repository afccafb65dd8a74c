"""A tiny grounder config, a tiny synthetic set and a checkpoint after a few steps.

The model is built the way ``tests/test_models`` builds its grounder (tiny random
SigLIP + Qwen2 from configs, the toy word-level tokenizer, appended queries and an
MLP box head); the pipeline is the synthetic set's test pipeline at 4 frames of 32 px.
"""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from mmstvg.datasets.synthetic import generate_synthetic_stvg
from mmstvg.models.llm_backbones.toy_tokenizer import build_toy_tokenizer
from mmstvg.registry import DATASETS, MODELS
from mmstvg.utils import register_all_modules

NUM_SAMPLED = 4
IMAGE_SIZE = 32


def tiny_config(tokenizer_dir: str, data_root: str = 'unused') -> Config:
    """A config dict with a tiny grounder and the synthetic test pipeline."""
    vocab = len(build_toy_tokenizer())
    model = dict(
        type='VideoGroundingLLM',
        vision_encoder=dict(
            type='HFVisionEncoder',
            vision_config=dict(model_type='siglip_vision_model', hidden_size=32,
                               intermediate_size=64, num_hidden_layers=1,
                               num_attention_heads=2, image_size=IMAGE_SIZE,
                               patch_size=8),
            select_layer=-1, pool_size=2, chunk_size=8, freeze=True),
        projector=dict(type='MLPProjector'),
        llm=dict(type='HFCausalLM',
                 llm_config=dict(model_type='qwen2', hidden_size=64, intermediate_size=128,
                                 num_hidden_layers=2, num_attention_heads=4,
                                 num_key_value_heads=2, vocab_size=vocab,
                                 max_position_embeddings=1024, tie_word_embeddings=False),
                 tokenizer=tokenizer_dir),
        query_interleaver=dict(type='AppendedQueries'),
        space_decoder=dict(type='MLPBoxHead', num_layers=2),
        max_new_tokens=8)
    test_pipeline = [
        dict(type='GroundingDecordInit', num_threads=1),
        dict(type='UniformSampleFrames', num_frames=NUM_SAMPLED, test_mode=True),
        dict(type='GroundingDecordDecode'),
        dict(type='LoadGroundingAnnotations'),
        dict(type='GroundingResize', scale=(IMAGE_SIZE, IMAGE_SIZE), keep_ratio=True),
        dict(type='GroundingPad', size=(IMAGE_SIZE, IMAGE_SIZE)),
        dict(type='PackGroundingInputs'),
    ]
    dataset = dict(type='HCSTVGDataset', data_root=data_root,
                   ann_file='annotations/hcstvg_v1_train.json',
                   data_prefix=dict(video='videos'), pipeline=test_pipeline)
    return Config(dict(
        default_scope='mmstvg', model=model,
        visualizer=dict(type='GroundingVisualizer', line_width=2),
        test_dataloader=dict(batch_size=2, collate_fn=dict(type='pseudo_collate'),
                             dataset=dataset)))


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory):
    """Three videos of 32 px, 10 to 14 frames at 8 fps (HC-STVG v1 files)."""
    root = str(tmp_path_factory.mktemp('synthetic_stvg'))
    generate_synthetic_stvg(root, num_train=3, num_val=0, size=IMAGE_SIZE,
                            frame_range=(10, 14), write_tvg=False, write_rec=True)
    return root


@pytest.fixture(scope='session')
def tiny_cfg(tmp_path_factory, synthetic_root):
    tokenizer_dir = str(tmp_path_factory.mktemp('toy_tokenizer'))
    build_toy_tokenizer().save_pretrained(tokenizer_dir)
    return tiny_config(tokenizer_dir, synthetic_root)


@pytest.fixture(scope='session')
def trained_checkpoint(tmp_path_factory, tiny_cfg):
    """The tiny model after 60 AdamW steps on the three synthetic videos (enough
    to memorise the answer format: its answers parse), saved as an MMEngine-style
    checkpoint (``{'meta', 'state_dict'}``)."""
    register_all_modules()
    torch.manual_seed(0)
    model = MODELS.build(tiny_cfg.model)
    dataset = DATASETS.build(tiny_cfg.test_dataloader.dataset)
    batch = pseudo_collate([dataset[i] for i in range(len(dataset))])
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=3e-3)
    model.train()
    for _ in range(60):
        losses = model(**model.data_preprocessor(batch, True), mode='loss')
        optimizer.zero_grad()
        sum(losses.values()).backward()
        optimizer.step()
    path = osp.join(str(tmp_path_factory.mktemp('ckpt')), 'tiny.pth')
    torch.save(dict(meta=dict(iter=60), state_dict=model.state_dict()), path)
    return path
