"""Tiny configs and hand-made data samples for the model tests (imported by them)."""
import numpy as np
import torch

from mmstvg.models.space_decoders.head_structures import HeadInputs
from mmstvg.structures import GroundingDataSample

IMAGE_SIZE = 32
TINY_VISION = dict(model_type='siglip_vision_model', hidden_size=32, intermediate_size=64,
                   num_hidden_layers=2, num_attention_heads=2, image_size=IMAGE_SIZE,
                   patch_size=8)


def tiny_llm_config(vocab_size):
    return dict(model_type='qwen2', hidden_size=64, intermediate_size=128,
                num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                vocab_size=vocab_size, max_position_embeddings=1024,
                tie_word_embeddings=False)


def make_sample(task='stvg', num_sampled=4, num_frames=20, fps=5.0, span=(5, 15),
                sentence='the red circle moves left', ori_shape=(40, 60), seed=0):
    """A GroundingDataSample built by hand, with boxes on frames inside ``span``."""
    rng = np.random.default_rng(seed)
    if task == 'rec':
        num_sampled, num_frames, fps, span = 1, 1, 1.0, (0, 1)
    frame_inds = np.linspace(0, num_frames - 1, num_sampled).round().astype(np.int64)
    sample = GroundingDataSample()
    sample.set_metainfo(dict(
        task=task, sentence=sentence, video_id=f'vid{seed}', video_path='',
        num_frames=num_frames, fps=fps, duration=num_frames / fps,
        ori_shape=ori_shape, img_shape=(IMAGE_SIZE, IMAGE_SIZE),
        frame_inds=frame_inds, frame_times=frame_inds / fps))
    sample.gt_span_frames = torch.tensor(span)
    sample.gt_span_seconds = torch.tensor([span[0] / fps, span[1] / fps])
    if task != 'tvg':
        inside = (frame_inds >= span[0]) & (frame_inds < span[1])
        height, width = ori_shape
        x1 = rng.uniform(0, width / 2, num_sampled)
        y1 = rng.uniform(0, height / 2, num_sampled)
        boxes = np.stack([x1, y1, x1 + width / 3, y1 + height / 3], axis=1)
        boxes[~inside] = 0
        sample.gt_boxes = torch.tensor(boxes, dtype=torch.float32)
        sample.gt_box_mask = torch.from_numpy(inside)
    return sample


def query_inputs(query):
    """:class:`HeadInputs` of ``query`` ``(B, T, D)`` with one zero visual token
    per frame and one real zero sentence token: for a head that reads ``query``."""
    batch, frames, dim = query.shape
    return HeadInputs(query, query.new_zeros(batch, frames, 1, dim),
                      query.new_zeros(batch, 1, dim),
                      torch.ones(batch, 1, dtype=torch.bool, device=query.device))


def make_batch(samples, seed=0):
    """Random uint8 frames for each sample: the data preprocessor's input."""
    gen = torch.Generator().manual_seed(seed)
    inputs = [torch.randint(0, 256, (s.num_sampled_frames, 3, IMAGE_SIZE, IMAGE_SIZE),
                            generator=gen, dtype=torch.uint8) for s in samples]
    return dict(inputs=inputs, data_samples=samples)
