"""The real Qwen2 tokenizer, rebuilt offline from the ``dashscope`` wheel.

Qwen2's byte-level BPE vocabulary is published as a tiktoken rank file,
``qwen.tiktoken`` (151,643 ranks), inside the ``dashscope`` package on PyPI.
:func:`build_qwen2_tokenizer` turns it into a ``Qwen2TokenizerFast`` laid out
as Qwen2-7B-Instruct's ``tokenizer.json`` / ``tokenizer_config.json``: NFC
normaliser, Qwen's split regex (single digits), byte-level pre-tokeniser and
decoder, one BPE merge per multi-byte token (the two parts that byte-level
BPE restricted to lower ranks ends with), the special tokens
``<|endoftext|>`` (151643), ``<|im_start|>`` (151644), ``<|im_end|>``
(151645) and the Instruct model's ChatML chat template.

The tests and benchmarks use it so that prompts, training and generation run
through the tokenizer a full-size user has, at no download. The file is found
with ``importlib`` without importing ``dashscope`` (an API client).
"""
import base64
import hashlib
import importlib.util
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

__all__ = ['QWEN2_SPECIAL_TOKENS', 'QWEN2_CHAT_TEMPLATE', 'QWEN2_PATTERN',
           'special_token_ids', 'find_qwen_tiktoken', 'load_tiktoken_ranks', 'derive_merges',
           'build_qwen2_tokenizer', 'cached_qwen2_tokenizer_dir']

#: Qwen2's pre-tokenisation regex (as its tokenizer.json; digits one by one).
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
                 r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

#: Qwen2's special tokens and their ids (right after the 151,643 BPE ranks).
QWEN2_SPECIAL_TOKENS = {'<|endoftext|>': 151643, '<|im_start|>': 151644,
                        '<|im_end|>': 151645}

#: Qwen2-7B-Instruct's chat template (ChatML with a default system turn).
QWEN2_CHAT_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")

NUM_RANKS = 151643
#: sha256 of dashscope 2.0.2's qwen.tiktoken (the cache is keyed by it).
QWEN_TIKTOKEN_SHA256 = None


def special_token_ids(num_ranks: int = NUM_RANKS) -> Dict[str, int]:
    """The ChatML special tokens' ids after ``num_ranks`` BPE ranks."""
    return {token: num_ranks + index - NUM_RANKS
            for token, index in QWEN2_SPECIAL_TOKENS.items()}


def find_qwen_tiktoken() -> str:
    """Path of ``qwen.tiktoken`` in the installed ``dashscope`` package."""
    spec = importlib.util.find_spec('dashscope')
    if spec is None or not spec.submodule_search_locations:
        raise ImportError('the real Qwen2 tokenizer is built from the dashscope wheel: '
                          'pip install dashscope (see requirements/tests.txt)')
    for root in spec.submodule_search_locations:
        path = osp.join(root, 'resources', 'qwen.tiktoken')
        if osp.isfile(path):
            return path
    raise FileNotFoundError(f'dashscope at {list(spec.submodule_search_locations)} '
                            'has no resources/qwen.tiktoken')


def load_tiktoken_ranks(path: str) -> Dict[bytes, int]:
    """Read a tiktoken rank file (``base64 rank`` per line)."""
    ranks = {}
    with open(path, 'rb') as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                token, rank = line.split()
                ranks[base64.b64decode(token)] = int(rank)
            except ValueError as err:
                raise ValueError(f'{path}:{line_no}: not "<base64> <rank>": {line!r}') from err
    if sorted(ranks.values()) != list(range(len(ranks))):
        raise ValueError(f'{path}: ranks are not 0..{len(ranks) - 1}')
    return ranks


def _split_in_two(token: bytes, ranks: Dict[bytes, int]) -> Tuple[bytes, bytes]:
    """The two parts byte-level BPE ends with on ``token`` using lower ranks only."""
    limit = ranks[token]
    parts = [token[i:i + 1] for i in range(len(token))]
    while len(parts) > 2:
        best, best_rank = None, limit
        for i in range(len(parts) - 1):
            rank = ranks.get(parts[i] + parts[i + 1])
            if rank is not None and rank < best_rank:
                best, best_rank = i, rank
        if best is None:
            break
        parts[best:best + 2] = [parts[best] + parts[best + 1]]
    if len(parts) != 2:
        raise ValueError(f'token {token!r} (rank {limit}) is not a merge of two '
                         'lower-ranked tokens')
    return parts[0], parts[1]


def derive_merges(ranks: Dict[bytes, int]) -> List[Tuple[bytes, bytes]]:
    """One merge per multi-byte token, in rank order (tiktoken's own recipe)."""
    ordered = sorted(ranks, key=ranks.get)
    return [_split_in_two(token, ranks) for token in ordered if len(token) > 1]


def _byte_encoder() -> Dict[int, str]:
    """GPT-2's byte -> printable character map used by byte-level BPE."""
    keep = (list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1))
            + list(range(ord('®'), ord('ÿ') + 1)))
    chars = list(keep)
    extra = 0
    for byte in range(256):
        if byte not in keep:
            keep.append(byte)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(keep, map(chr, chars)))


def build_qwen2_tokenizer(tiktoken_path: Optional[str] = None,
                          num_ranks: Optional[int] = None):
    """Build Qwen2-7B-Instruct's ``Qwen2TokenizerFast`` from ``qwen.tiktoken``.

    Args:
        tiktoken_path: the rank file; default: the one in ``dashscope``.
        num_ranks: keep only the first ``num_ranks`` BPE ranks (all of
            Qwen2's 151,643 when None). Byte-level BPE learns its ranks in
            merge order, so the first N ranks are themselves a complete
            byte-level BPE: the same merges, the same ids, every text still
            encodable, words past rank N spelt in lower-ranked pieces. The
            special tokens then follow at N, N + 1, N + 2. Small models use
            it to keep the LM head from dominating their compute.

    Returns:
        A ``transformers.Qwen2TokenizerFast`` (eos ``<|im_end|>``, pad
        ``<|endoftext|>``, no bos, the Instruct chat template).
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers
    from tokenizers import pre_tokenizers
    from transformers import Qwen2TokenizerFast

    path = tiktoken_path or find_qwen_tiktoken()
    ranks = load_tiktoken_ranks(path)
    if len(ranks) != NUM_RANKS:
        raise ValueError(f'{path}: {len(ranks)} ranks, Qwen2 has {NUM_RANKS}')
    if num_ranks is not None:
        if not 256 <= num_ranks <= NUM_RANKS:
            raise ValueError(f'num_ranks must be in [256, {NUM_RANKS}] (every byte '
                             f'needs its rank), got {num_ranks}')
        ranks = {token: rank for token, rank in ranks.items() if rank < num_ranks}
    special_ids = special_token_ids(len(ranks))
    encoder = _byte_encoder()

    def to_str(token: bytes) -> str:
        return ''.join(encoder[b] for b in token)

    vocab = {to_str(token): rank for token, rank in ranks.items()}
    merges = [(to_str(a), to_str(b)) for a, b in derive_merges(ranks)]
    backend = Tokenizer(models.BPE(vocab=vocab, merges=merges, dropout=None,
                                   unk_token=None, fuse_unk=False, byte_fallback=False))
    backend.normalizer = normalizers.NFC()
    backend.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior='isolated', invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    backend.decoder = decoders.ByteLevel(add_prefix_space=False, use_regex=False)
    specials = sorted(special_ids, key=special_ids.get)
    backend.add_special_tokens([AddedToken(tok, normalized=False, special=True)
                                for tok in specials])
    for token, index in special_ids.items():
        if backend.token_to_id(token) != index:
            raise RuntimeError(f'{token} got id {backend.token_to_id(token)}, not {index}')
    tokenizer = Qwen2TokenizerFast(
        tokenizer_object=backend, bos_token=None, eos_token='<|im_end|>',
        pad_token='<|endoftext|>', unk_token=None, errors='replace',
        clean_up_tokenization_spaces=False, model_max_length=131072,
        split_special_tokens=False)
    tokenizer.chat_template = QWEN2_CHAT_TEMPLATE
    return tokenizer


def _file_digest(path: str) -> str:
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()[:16]


def cached_qwen2_tokenizer_dir(cache_root: Optional[str] = None) -> str:
    """A ``save_pretrained`` directory of :func:`build_qwen2_tokenizer`, built once.

    Args:
        cache_root: where to keep it; default ``$MMSTVG_CACHE`` or
            ``~/.cache/mmstvg``. The directory name holds the rank file's
            digest, so another vocabulary never reuses a stale cache.

    Returns:
        The directory (``AutoTokenizer.from_pretrained`` loads it).
    """
    path = find_qwen_tiktoken()
    root = cache_root or os.environ.get('MMSTVG_CACHE') or osp.expanduser('~/.cache/mmstvg')
    target = osp.join(root, f'qwen2_tokenizer_{_file_digest(path)}')
    if osp.isfile(osp.join(target, 'tokenizer.json')):
        return target
    tmp = f'{target}.tmp{os.getpid()}'
    build_qwen2_tokenizer(path).save_pretrained(tmp)
    os.makedirs(root, exist_ok=True)
    try:
        os.rename(tmp, target)  # atomic: concurrent builders never see half a cache
    except OSError:
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)  # another process won the race
    return target
