"""Fixtures of the construction tests: a tiny synthetic set, a tiny random
Grounding-DINO (mmdet config + saved BERT + a WordPiece vocabulary written
here) and a tiny random Qwen2 causal LM, all saved to disk and loaded back
through the library's loading paths."""
import json
import os
import os.path as osp

import pytest
import torch

from mmstvg.datasets.synthetic import COLORS, SHAPES, generate_synthetic_stvg

#: The tiny Grounding-DINO: mmdet's swin-t config with every width and depth
#: shrunk (the text position embedding of mmdet 3.3 fixes 256 channels).
TINY_GDINO_CONFIG = '''
_base_ = 'mmdet::grounding_dino/grounding_dino_swin-t_pretrain_obj365_goldg_cap4m.py'
model = dict(
    num_queries=10,
    language_model=dict(name={bert!r}),
    backbone=dict(embed_dims=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 2, 2],
                  drop_path_rate=0.0),
    neck=dict(in_channels=[32, 64, 128]),
    encoder=dict(num_layers=1,
                 layer_cfg=dict(self_attn_cfg=dict(num_heads=4),
                                ffn_cfg=dict(feedforward_channels=32)),
                 text_layer_cfg=dict(ffn_cfg=dict(feedforward_channels=32)),
                 fusion_layer_cfg=dict(embed_dim=32, num_heads=2)),
    decoder=dict(num_layers=1, layer_cfg=dict(ffn_cfg=dict(feedforward_channels=32))),
    dn_cfg=dict(group_cfg=dict(num_dn_queries=5)),
    test_cfg=dict(max_per_img=10))
'''
NUM_VIDEOS = 5


def write_tiny_bert(out_dir: str) -> str:
    """A random 1-layer BERT and a WordPiece tokenizer from a vocabulary file."""
    from transformers import BertConfig, BertModel, BertTokenizerFast
    words = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', '.', '?', ',', 'the', 'a',
             'moves', 'left', 'right', 'up', 'down', 'man', 'woman', 'person', 'dog',
             *COLORS, *SHAPES, '##s']
    os.makedirs(out_dir, exist_ok=True)
    vocab = osp.join(out_dir, 'vocab_src.txt')
    with open(vocab, 'w') as f:
        f.write('\n'.join(words) + '\n')
    tokenizer = BertTokenizerFast(vocab_file=vocab, do_lower_case=True)
    tokenizer.save_pretrained(out_dir)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(words), hidden_size=32, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=64,
                        max_position_embeddings=64)
    BertModel(config).save_pretrained(out_dir)
    return out_dir


@pytest.fixture(scope='session')
def tiny_gdino(tmp_path_factory):
    """``{'config', 'bert'}``: a tiny Grounding-DINO config file and its BERT."""
    root = tmp_path_factory.mktemp('tiny_gdino')
    bert = write_tiny_bert(str(root / 'bert'))
    config = root / 'tiny_grounding_dino.py'
    config.write_text(TINY_GDINO_CONFIG.format(bert=bert))
    return dict(config=str(config), bert=bert, root=str(root))


@pytest.fixture(scope='session')
def tiny_lm(tmp_path_factory):
    """``{'model', 'tokenizer'}``: a random 2-layer Qwen2 and the toy tokenizer."""
    from transformers import AutoConfig, AutoModelForCausalLM

    from mmstvg.models.llm_backbones.toy_tokenizer import build_toy_tokenizer
    root = tmp_path_factory.mktemp('tiny_lm')
    tokenizer = build_toy_tokenizer(chat_template=True)
    torch.manual_seed(0)
    config = AutoConfig.for_model(
        'qwen2', hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, vocab_size=len(tokenizer),
        max_position_embeddings=512, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    AutoModelForCausalLM.from_config(config).save_pretrained(str(root / 'llm'))
    tokenizer.save_pretrained(str(root / 'tokenizer'))
    return dict(model=str(root / 'llm'), tokenizer=str(root / 'tokenizer'))


@pytest.fixture(scope='session')
def synthetic_set(tmp_path_factory):
    """A few 64 px synthetic videos (16-20 frames at 8 fps) and their captions."""
    root = str(tmp_path_factory.mktemp('synthetic'))
    generate_synthetic_stvg(root, num_train=NUM_VIDEOS, num_val=0, size=64,
                            frame_range=(16, 20), object_size=(0.12, 0.16),
                            write_tvg=False, write_rec=False)
    ann_file = osp.join(root, 'annotations', 'hcstvg_v1_train.json')
    with open(ann_file) as f:
        entries = json.load(f)
    return dict(root=root, video_root=osp.join(root, 'videos'), ann_file=ann_file,
                entries=entries)
