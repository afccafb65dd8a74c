from .mlp_projector import LinearProjector, MLPProjector
from .identity_projector import IdentityProjector

__all__ = ['IdentityProjector', 'LinearProjector', 'MLPProjector']
