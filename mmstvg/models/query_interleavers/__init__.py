from .appended_queries import AppendedQueries, NoQueries, lay_out_frames
from .base import BaseQueryInterleaver, InterleavedVideo, places_queries

__all__ = ['AppendedQueries', 'NoQueries', 'lay_out_frames', 'BaseQueryInterleaver',
           'InterleavedVideo', 'places_queries']
