"""Model parts of mmstvg; importing this package registers all of them."""
from .data_preprocessors import *  # noqa: F401,F403
from .grounders import *  # noqa: F401,F403
from .language import *  # noqa: F401,F403
from .llm_backbones import *  # noqa: F401,F403
from .projectors import *  # noqa: F401,F403
from .query_interleavers import *  # noqa: F401,F403
from .space_decoders import *  # noqa: F401,F403
from .utils import *  # noqa: F401,F403
from .vision_encoders import *  # noqa: F401,F403
