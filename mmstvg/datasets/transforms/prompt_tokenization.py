"""Tokenize the prompt in the data pipeline (in the dataloader workers), as xtuner does.

:class:`TokenizeGroundingPrompt` runs after :class:`PackGroundingInputs`, so
after frame sampling, flipping and the annotations: it renders the sample's
prompt, tokenizes its pieces and the answer with the grounder's own text parts
(:class:`~mmstvg.models.grounders.TextParts`, the tokenizer loaded by the LLM
part's :func:`~mmstvg.models.llm_backbones.hf_causal_lm.load_tokenizer`) and
stores them in the sample's metainfo as ``prompt_pieces``; the grounder then
only places the video features and the queries. Its ``model`` is the
grounder's config, filled from ``cfg.model`` by :func:`fill_prompt_tokenization`
(:func:`~mmstvg.engine.build_runner` calls it), so a config states the prompt,
the answer and the tokenizer once, in ``model``.

Every shipped path gets its pieces here: ``tools/train.py`` and
``tools/test.py`` through :func:`fill_prompt_tokenization`; the inferencer
(so the demo), the lmms-eval model and the analysis tools that build a test
pipeline through :func:`with_prompt_tokenization`, which also adds the
transform to a pipeline that lacks it. Only samples made by hand (tests, a
user's own code) and the loaders of a config whose pipelines name no
transform (``build_runner`` only fills) reach the grounder without pieces; it
tokenizes them itself and says so once (``SequenceBuilder``).
"""
import copy
from typing import List, Optional, Sequence

from mmcv.transforms import BaseTransform

from mmstvg.registry import TRANSFORMS

__all__ = ['TokenizeGroundingPrompt', 'fill_prompt_tokenization', 'with_prompt_tokenization']

_LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


@TRANSFORMS.register_module()
class TokenizeGroundingPrompt(BaseTransform):
    """Tokenize a packed sample's prompt (and its answer) with the grounder's text parts.

    Writes the metainfo key ``prompt_pieces``, a
    :class:`~mmstvg.models.grounders.TokenizedPrompt`: the token pieces
    (:class:`~mmstvg.models.language.PromptPieces`, lists of ints), whether
    they hold the answer, and the fingerprint of the text parts, which the
    grounder checks against its own (another tokenizer, template or answer is
    an error naming ``prompt_pieces``). Place it after ``PackGroundingInputs``.

    Args:
        model: the grounder's config (``cfg.model``): its ``llm`` (tokenizer),
            ``llava_onevision_path``, ``prompt``, ``answer`` and vision
            encoder (frames a token grid) are read. None (a config built
            without :func:`fill_prompt_tokenization`): the transform passes
            samples on as they are, and the grounder tokenizes them itself.
        with_answer: tokenize the training answer (train pipelines); False
            for test pipelines (the prompt the answer is generated after).
    """

    def __init__(self, model: Optional[dict] = None, with_answer: bool = True):
        self.with_answer = bool(with_answer)
        self.model_type = None if model is None else model.get('type')
        self.parts = self.builder = None
        if model is None:
            return
        from mmstvg.models.grounders import SequenceBuilder, TextParts, grounder_text_config
        from mmstvg.models.llm_backbones.hf_causal_lm import load_tokenizer
        text = grounder_text_config(model)
        if text is None:
            raise ValueError(f'TokenizeGroundingPrompt: model type {self.model_type!r} '
                             'states no prompt (no text_config); drop the transform')
        tokenizer = load_tokenizer(text['tokenizer'], text['special_tokens'])
        parts = self.parts = TextParts(tokenizer, text['answer'], text['prompt'],
                                       text['use_chat_template'], text['frames_per_patch'])
        self.builder = SequenceBuilder(parts.prompt_builder, parts.answer,
                                       parts.frames_per_patch,
                                       fingerprint=parts.identity)

    def transform(self, results: dict) -> dict:
        if self.builder is None:
            return results
        from mmstvg.models.grounders import PROMPT_PIECES_KEY, TokenizedPrompt
        from mmstvg.structures import GroundingDataSample
        sample = results.get('data_samples')
        if not isinstance(sample, GroundingDataSample):
            raise TypeError('TokenizeGroundingPrompt tokenizes a packed sample: place it '
                            'after PackGroundingInputs')
        pieces = self.builder.pieces(sample, int(results['inputs'].shape[0]),
                                     self.with_answer)
        sample.set_metainfo({PROMPT_PIECES_KEY: TokenizedPrompt(
            pieces, self.with_answer, self.parts.fingerprint, self.parts.summary)})
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(model={self.model_type!r}, '
                f'with_answer={self.with_answer})')


def _is_step(node, name: str) -> bool:
    """Whether a transform config is of class ``name`` (a name, a scoped name
    or the class itself)."""
    kind = node.get('type')
    kind = kind if isinstance(kind, str) else getattr(kind, '__name__', '')
    return kind.split('.')[-1] == name


def _text_model(model) -> Optional[dict]:
    """``model`` as a plain dict when its type states a prompt (has
    ``text_config``), else None."""
    from mmstvg.registry import MODELS
    cls = MODELS.get(model.get('type')) if model else None
    if cls is None or not hasattr(cls, 'text_config'):
        return None
    return model.to_dict() if hasattr(model, 'to_dict') else dict(model)


def _fill(node, model: dict) -> int:
    """Fill ``model`` into every ``TokenizeGroundingPrompt`` under ``node`` that
    lacks one (pipelines of datasets, of wrapped and of mixed datasets)."""
    count = 0
    if isinstance(node, dict):
        if _is_step(node, 'TokenizeGroundingPrompt') and node.get('model') is None:
            node['model'] = copy.deepcopy(model)
            return 1
        for value in node.values():
            count += _fill(value, model)
    elif isinstance(node, (list, tuple)):
        for value in node:
            count += _fill(value, model)
    return count


def fill_prompt_tokenization(cfg) -> int:
    """Give every ``TokenizeGroundingPrompt`` of the config's loaders ``cfg.model``.

    The data configs name the transform without the model's text settings;
    they are the model's (one place). A model type without a prompt
    (no ``text_config``) leaves the transforms as they are (they pass
    samples on).

    Args:
        cfg: a full config (modified in place).

    Returns:
        The number of transforms filled.
    """
    model = _text_model(cfg.get('model'))
    if model is None:
        return 0
    return sum(_fill(cfg.get(name), model) for name in _LOADERS if cfg.get(name))


def with_prompt_tokenization(pipeline: Sequence[dict], model,
                             with_answer: bool = False) -> List[dict]:
    """A pipeline whose samples leave with the model's ``prompt_pieces``.

    For the pipelines built outside :func:`~mmstvg.engine.build_runner` (the
    inferencer's adapted test pipeline, the lmms-eval model's, the analysis
    tools'): every ``TokenizeGroundingPrompt`` without a model gets
    ``model``, as :func:`fill_prompt_tokenization` gives it; a pipeline
    without the transform (a user's own pipeline, an older config) gets one
    right after its last ``PackGroundingInputs``.

    Args:
        pipeline: transform configs (not modified).
        model: the grounder's config (``cfg.model``). A type without a prompt
            (no ``text_config``) leaves the pipeline as it is.
        with_answer: of an added transform: False (test pipelines).

    Returns:
        A new list of transform configs.
    """
    steps = [copy.deepcopy(dict(step)) for step in pipeline]
    model = _text_model(model)
    if model is None:
        return steps
    if any(_is_step(step, 'TokenizeGroundingPrompt') for step in steps):
        _fill(steps, model)
        return steps
    packs = [i for i, step in enumerate(steps) if _is_step(step, 'PackGroundingInputs')]
    if not packs:
        raise ValueError('with_prompt_tokenization: the pipeline has no PackGroundingInputs '
                         f'step to tokenize after: {[s.get("type") for s in steps]}')
    steps.insert(packs[-1] + 1, dict(type='TokenizeGroundingPrompt', model=copy.deepcopy(model),
                                     with_answer=with_answer))
    return steps
