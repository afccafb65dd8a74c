"""What a dumped prediction answered: per-sample query fingerprints.

A metric's dump records, per sample, a ``fingerprint``:

- ``video_id``: the video the model was shown;
- ``sentence``: :func:`text_digest` of the sentence it was asked (for a
  multiple-choice question, the question with its options);
- ``ann_file_hash``: the digest of the annotation file the sample came from
  (:func:`mmstvg.datasets.validation.file_digest`, set by the dataset).

It also records the sample's ``video_meta`` (``num_frames``, ``fps``,
``height``, ``width``), so that annotations without them are re-scored
without opening the videos.

:func:`check_fingerprints` compares a dump's fingerprints with the
annotations it is re-scored against: a dump answered for other sentences of
the same videos, or for another version of the annotation file, is refused
with the first mismatching sample and field named.
"""
import hashlib
from typing import Any, Dict, Optional, Sequence, Tuple

from mmengine.logging import MMLogger

__all__ = ['FINGERPRINT_FIELDS', 'DumpMismatchError', 'text_digest',
           'query_fingerprint', 'video_meta_of', 'check_fingerprints']

#: The fields of a fingerprint: the query's, then the annotation file's.
FINGERPRINT_FIELDS = ('video_id', 'sentence', 'ann_file_hash')
_QUERY_FIELDS = FINGERPRINT_FIELDS[:2]


class DumpMismatchError(ValueError):
    """A prediction dump whose fingerprints do not match the annotations."""


def text_digest(text: Any, length: int = 16) -> Optional[str]:
    """The first ``length`` hex digits of the SHA-1 of a UTF-8 text; None
    for no text."""
    if not isinstance(text, str):
        return None
    return hashlib.sha1(text.encode('utf-8')).hexdigest()[:length]


def query_fingerprint(meta: Dict[str, Any]) -> Dict[str, Optional[str]]:
    """The fingerprint of a sample dict or data info (see the module
    docstring); a field the sample lacks is None (not checked)."""
    video_id = meta.get('video_id')
    return dict(video_id=None if video_id is None else str(video_id),
                sentence=text_digest(meta.get('sentence')),
                ann_file_hash=meta.get('ann_file_hash'))


def video_meta_of(sample: Dict[str, Any]) -> Dict[str, Any]:
    """``num_frames``, ``fps``, ``height``, ``width`` of a sample dict (the
    size from its ``ori_shape``); None where it lacks them."""
    shape = sample.get('ori_shape')
    height, width = (shape[0], shape[1]) if shape is not None and len(
        shape) >= 2 else (None, None)
    num_frames, fps = sample.get('num_frames'), sample.get('fps')
    return dict(num_frames=None if num_frames is None else int(num_frames),
                fps=None if fps is None else float(fps),
                height=None if height is None else int(height),
                width=None if width is None else int(width))


def _first_mismatch(pairs: Sequence[Tuple[dict, dict]],
                    fields: Sequence[str]) -> Optional[Tuple[dict, dict, str]]:
    for entry, info in pairs:
        dumped = entry['fingerprint']
        expected = query_fingerprint(info)
        for field in fields:
            if dumped.get(field) is not None and expected[field] is not None \
                    and dumped[field] != expected[field]:
                return entry, info, field
    return None


def check_fingerprints(pairs: Sequence[Tuple[dict, dict]],
                       dump_file: Optional[str] = None,
                       allow_changed_ann_file: bool = False) -> None:
    """Check that each dump entry answered its data info's query.

    Args:
        pairs: ``(dump entry, data info)`` of every matched sample.
        dump_file: the dump's path, named in errors.
        allow_changed_ann_file: a changed annotation file (the same queries)
            is logged, not refused.

    Raises:
        DumpMismatchError: naming the dump, the annotation file, the first
            sample whose ``video_id`` or ``sentence`` differs (all samples
            are checked for those before the file's digest), and the field.

    Entries without a fingerprint (dumps written before they were recorded)
    are counted and logged once, not checked.
    """
    logger = MMLogger.get_current_instance()
    dump_file = dump_file or '<prediction dump>'
    unchecked = sum(not isinstance(e.get('fingerprint'), dict)
                    for e, _ in pairs)
    if unchecked:
        logger.warning(
            f'{dump_file}: {unchecked} of {len(pairs)} dumped samples carry '
            'no query fingerprint (a dump written before mmstvg recorded '
            'them): it is not checked that they answered these annotations\' '
            'sentences; re-run tools/test.py --out-prefix for a checked dump')
    pairs = [(e, i) for e, i in pairs if isinstance(e.get('fingerprint'), dict)]
    found = _first_mismatch(pairs, _QUERY_FIELDS)
    if found is None:
        found = _first_mismatch(pairs, ('ann_file_hash', ))
        if found is not None and allow_changed_ann_file:
            count = sum(_first_mismatch([p], ('ann_file_hash', )) is not None
                        for p in pairs)
            logger.warning(
                f'{dump_file}: {count} samples come from another version of '
                f'{found[1].get("ann_file")} than the dump answered (the same '
                'videos and sentences); scored against the current one')
            return
    if found is None:
        return
    entry, info, field = found
    where = (f'{dump_file}: sample {entry.get("sample_id")!r} does not match '
             f'the annotations ({info.get("ann_file")}): field {field!r}')
    if field == 'sentence':
        detail = (f'the dump answered another sentence than '
                  f'{info.get("sentence")!r}')
    elif field == 'video_id':
        detail = (f'the dump answered video {entry["fingerprint"][field]!r}, '
                  f'the annotations have {info.get("video_id")!r}')
    else:
        detail = ('the annotation file changed since the dump was written '
                  f'(digest {entry["fingerprint"][field]} then, '
                  f'{info.get("ann_file_hash")} now); eval_predictions.py '
                  '--allow-changed-ann-file scores it anyway')
    raise DumpMismatchError(
        f'{where}: {detail}. Re-score a dump against the annotations it was '
        'tested on.')
