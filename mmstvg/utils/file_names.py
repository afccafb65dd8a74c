"""File names made from sample ids (``'video.mp4#0'``, ``'dir/clip 1#2'``)."""
import re

__all__ = ['safe_file_stem']


def safe_file_stem(name: str) -> str:
    """A file stem from a sample id: letters, digits, ``.``, ``+``, ``=``, ``-``, ``_``.

    Every run of other characters (path separators, spaces, ``#``, ``:``)
    becomes one ``_``; leading and trailing ``.`` and ``_`` are dropped.
    ``'dir/clip 1.mp4#0'`` -> ``'dir_clip_1.mp4_0'``; an id with nothing
    left gives ``'sample'``.
    """
    return re.sub(r'[^A-Za-z0-9.+=-]+', '_', str(name)).strip('._') or 'sample'
