"""transformers-side helpers of the parity tests (``test_qwen_vl_parity.py``,
``test_llava_onevision_parity.py``): a processor built where torchvision does not
import, and the token ids behind an embedded sequence."""
from unittest import mock

import torch


def build_processor(processor_class, **parts):
    """``processor_class(**parts)``, also where torchvision does not import.

    ``ProcessorMixin.__init__`` checks each part against a base class that it
    looks up among transformers' top-level names; without torchvision the
    video processors' base (``VideoProcessorMixin``) is not among them and the
    lookup fails even for a real video processor. For the video processor only,
    the same ``isinstance`` check is made here with the class itself.
    """
    from transformers.processing_utils import ProcessorMixin
    from transformers.video_processing_utils import VideoProcessorMixin
    check = ProcessorMixin.check_argument_for_proper_class

    def check_video_processor_directly(self, name, argument):
        if name != 'video_processor':
            return check(self, name, argument)
        if not isinstance(argument, VideoProcessorMixin):
            raise TypeError(f'{type(argument).__name__} is no video processor')
        return VideoProcessorMixin

    with mock.patch.object(ProcessorMixin, 'check_argument_for_proper_class',
                           check_video_processor_directly):
        return processor_class(**parts)


def our_token_ids(embeds: torch.Tensor, embedding: torch.Tensor,
                  visual: torch.Tensor, video_pad: int) -> torch.Tensor:
    """The ids behind an embedded sequence: each text embedding's row of the
    (random, so distinct) embedding table; ``video_pad`` at visual tokens."""
    ids = torch.full((embeds.shape[0], ), video_pad, dtype=torch.long)
    for position in (~visual).nonzero().flatten().tolist():
        rows = (embedding == embeds[position]).all(-1).nonzero().flatten()
        assert rows.numel() == 1, position
        ids[position] = rows[0]
    return ids
