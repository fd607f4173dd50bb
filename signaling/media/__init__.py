"""The media plane: legs (one peer connection per participant), bridges
between them, and the relay that forwards media (see ARCHITECTURE.md).

Everything that touches aiortc internals lives in this package.
"""

from .bridge import Bridge
from .errors import MediaError
from .ice import parse_candidate, rtc_configuration, use_media_addresses
from .leg import Leg
from .plane import MediaPlane

__all__ = [
    "Bridge",
    "Leg",
    "MediaError",
    "MediaPlane",
    "parse_candidate",
    "rtc_configuration",
    "use_media_addresses",
]
