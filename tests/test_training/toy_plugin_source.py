"""Source of a plugin module that tests write *outside* the package and import via
``custom_imports``: a tiny regression model and dataset registered in mmstvg's registries."""

PLUGIN_SOURCE = '''
import torch
import torch.nn as nn
from mmengine.model import BaseModel

from mmengine.dist import get_rank
from mmengine.hooks import Hook

from mmstvg.registry import DATASETS, HOOKS, MODELS, SPACE_DECODERS


@DATASETS.register_module()
class ToyRegressionDataset(torch.utils.data.Dataset):
    """y = x @ w + 1 with a fixed w; 16 samples of 4 features."""

    def __init__(self, num_samples=16):
        generator = torch.Generator().manual_seed(0)
        self.x = torch.randn(num_samples, 4, generator=generator)
        self.y = self.x @ torch.tensor([1.0, -2.0, 0.5, 3.0]) + 1.0

    def __len__(self):
        return len(self.x)

    def __getitem__(self, index):
        return dict(inputs=self.x[index], data_samples=self.y[index])


@MODELS.register_module()
class ToyRegressor(BaseModel):

    def __init__(self, data_preprocessor=None):
        super().__init__(data_preprocessor=data_preprocessor)
        self.linear = nn.Linear(4, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        pred = self.linear(torch.stack(inputs)).squeeze(-1)
        if mode == 'loss':
            return dict(loss=((pred - torch.stack(data_samples)) ** 2).mean())
        return pred


@HOOKS.register_module()
class DumpRankStateHook(Hook):
    """Saves this rank's losses and final parameters to <work_dir>/rank<r>.pt."""

    def before_train(self, runner):
        self.losses = []
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        self.initial = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.losses.append(float(outputs['loss']))

    def after_train(self, runner):
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        torch.save(dict(losses=self.losses, state=state, initial=self.initial),
                   f'{runner.work_dir}/rank{get_rank()}.pt')


@SPACE_DECODERS.register_module()
class ToyHeadFromOutside(nn.Module):

    def __init__(self, hidden_dim=8):
        super().__init__()
        self.hidden_dim = hidden_dim
'''

CONFIG_TEMPLATE = '''
_base_ = [{runtime!r}]
custom_imports = dict(imports=['{module}'], allow_failed_imports=False)
model = dict(type='ToyRegressor')
train_dataloader = dict(
    batch_size=4, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='ToyRegressionDataset'))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=4)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=0.05))
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False, max_keep_ckpts=5),
    logger=dict(type='LoggerHook', interval=1))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
'''
