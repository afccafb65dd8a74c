"""Converters from the files users download to the formats the datasets read.

One module per dataset; ``tools/dataset_converters/<name>.py`` is the command
line of each. Every converter returns a :class:`ConversionReport` (what it
kept and what it dropped, per reason) and shows a progress bar. A conversion
that keeps no entry raises (naming the input file) and writes nothing.
"""
from .charades_sta import convert_charades_sta
from .didemo import convert_didemo
from .hcstvg import convert_hcstvg
from .refcoco import convert_refcoco
from .report import ConversionReport, write_json
from .tacos import convert_tacos
from .vidstg import convert_vidstg

__all__ = [
    'ConversionReport', 'write_json', 'convert_vidstg', 'convert_hcstvg',
    'convert_charades_sta', 'convert_refcoco', 'convert_didemo',
    'convert_tacos'
]
