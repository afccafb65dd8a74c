from .mlp_projector import LinearProjector, MLPProjector

__all__ = ['LinearProjector', 'MLPProjector']
