"""The full-size SpaceVLLM config at reduced width, written as a config file for
``tools/train.py`` / ``tools/test.py`` subprocesses (imported by the strategy tests)."""
import os
import os.path as osp
import subprocess
import sys
from typing import List, Optional

from mmengine.config import Config

from mmstvg.datasets.synthetic import generate_synthetic_stvg
from mmstvg.models.llm_backbones.toy_tokenizer import build_toy_tokenizer
from tests.test_configs.config_overrides import (point_data_root, shrink_model,
                                                 shrink_pipelines, walk)

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO_ROOT, 'configs', 'spacevllm_hcstvg.py')
NUM_TRAIN, NUM_VAL, NUM_FRAMES, SIZE = 4, 2, 4, 32
MAX_ITERS = 3


def write_tiny_full_size_config(root: str, config: str = CONFIG) -> str:
    """Synthetic data, a chat tokenizer and the reduced-width config under ``root``.

    Only sizes and paths change (the tests' overrides): 4 frames of 32 px,
    one sample a rank, 3 iterations, a checkpoint after the last one, no
    validation during training.

    Every training sample has a boxed frame: its span covers at least half
    the video, longer than the sampler's 4 segments, each of which gives one
    frame. ZeRO-3 gathers parameters at each module call and every rank must
    make the same calls; the heads now call their loss modules (with zero
    weights) on a batch without boxes too
    (tests/test_models/test_head_losses_without_boxes.py), so boxed samples
    are no longer needed for that, but these slow tests were not rerun with
    unboxed ones.

    Returns:
        The path of the written config.
    """
    data_root = osp.join(root, 'synthetic')
    generate_synthetic_stvg(data_root, num_train=NUM_TRAIN, num_val=NUM_VAL, size=SIZE,
                            frame_range=(8, 10), span_fraction=(0.5, 0.7), write_tvg=False,
                            write_rec=False)
    tokenizer_dir = osp.join(root, 'chat_tokenizer')
    tokenizer = build_toy_tokenizer(chat_template=True)
    tokenizer.save_pretrained(tokenizer_dir)

    cfg = Config.fromfile(config)
    # 32 px frames, 8 px patches, 2x2 pooling: a 2x2 token grid.
    cfg.model = shrink_model(cfg.model, toy_dir=osp.join(root, 'unused'),
                             tokenizer_dir=tokenizer_dir, vocab_size=len(tokenizer),
                             frame_token_grid=(2, 2))
    point_data_root(cfg, data_root + '/')
    shrink_pipelines(cfg, num_frames=NUM_FRAMES, size=SIZE)
    splits = dict(train_dataloader='train', test_dataloader='val')
    for key, split in splits.items():
        cfg[key].update(batch_size=1, num_workers=0, persistent_workers=False)
        cfg[key].dataset.update(ann_file=f'annotations/hcstvg_v1_{split}.json',
                                data_prefix=dict(video='videos'))

    def threads(node):
        if node.get('type') == 'GroundingDecordInit':
            node['num_threads'] = 1

    walk(cfg.train_dataloader, threads)
    walk(cfg.test_dataloader, threads)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=MAX_ITERS, val_interval=10**6)
    cfg.param_scheduler = None
    cfg.log_processor = dict(by_epoch=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False,
                                        interval=MAX_ITERS)
    cfg.model.max_new_tokens = 8
    cfg.randomness = dict(seed=0)
    cfg.env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'),
                       mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0))
    path = osp.join(root, 'spacevllm_hcstvg_tiny.py')
    cfg.dump(path)
    return path


def run_tool(args: List[str], port: Optional[int] = None, nproc: int = 1,
             timeout: int = 300) -> subprocess.CompletedProcess:
    """Run ``tools/<script>`` in 1 process, or ``nproc`` torchrun gloo processes."""
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO_ROOT,
               TOKENIZERS_PARALLELISM='false')
    script = osp.join(REPO_ROOT, 'tools', args[0])
    if nproc > 1:
        cmd = [sys.executable, '-m', 'torch.distributed.run', f'--nproc_per_node={nproc}',
               f'--master_port={port}', script, *args[1:], '--launcher', 'pytorch']
    else:
        cmd = [sys.executable, script, *args[1:]]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout,
                          cwd=REPO_ROOT)
    assert proc.returncode == 0, (' '.join(cmd) + '\n' + proc.stdout[-4000:]
                                  + proc.stderr[-6000:])
    return proc
