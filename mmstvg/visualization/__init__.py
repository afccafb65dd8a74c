"""Visualisation: drawing ground-truth and predicted tubes on video frames."""
from .grounding_visualizer import GroundingVisualizer

__all__ = ['GroundingVisualizer']
