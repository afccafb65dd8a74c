"""The grounder on a real batch of the synthetic set, through the data pipeline."""
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

from mmstvg.datasets.synthetic import generate_synthetic_stvg
from mmstvg.registry import DATASETS, MODELS


def test_loss_and_predict_on_a_synthetic_batch(tmp_path, grounder_cfg):
    generate_synthetic_stvg(str(tmp_path), num_train=2, num_val=0, size=32,
                            frame_range=(8, 10), write_tvg=False, write_rec=False)
    init_default_scope('mmstvg')
    pipeline = [
        dict(type='GroundingDecordInit', num_threads=1),
        dict(type='UniformSampleFrames', num_frames=4, test_mode=True),
        dict(type='GroundingDecordDecode'),
        dict(type='LoadGroundingAnnotations'),
        dict(type='GroundingResize', scale=(32, 32), keep_ratio=True),
        dict(type='GroundingPad', size=(32, 32)),
        dict(type='PackGroundingInputs'),
    ]
    dataset = DATASETS.build(dict(
        type='HCSTVGDataset', data_root=str(tmp_path),
        ann_file='annotations/hcstvg_v1_train.json', data_prefix=dict(video='videos'),
        pipeline=pipeline))
    batch = pseudo_collate([dataset[0], dataset[1]])
    torch.manual_seed(0)
    model = MODELS.build(grounder_cfg)
    data = model.data_preprocessor(batch, True)
    assert data['inputs'].shape == (2, 4, 3, 32, 32)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_lm', 'loss_bbox', 'loss_iou'}
    assert all(torch.isfinite(v) and v > 0 for v in losses.values())
    sum(losses.values()).backward()
    assert model.projector.linear_1.weight.grad.abs().sum() > 0
    model.eval()
    preds = model(**model.data_preprocessor(batch, False), mode='predict')
    for sample in preds:
        # an untrained model writes anything: parsed or counted, never a crash
        assert isinstance(sample.pred_parse_ok, bool) and isinstance(sample.pred_text, str)
        assert sample.pred_boxes.shape == (4, 4)
        assert sample.pred_box_mask.dtype == torch.bool
        sample.check()
    assert len(preds) == 2
