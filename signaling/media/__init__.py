"""The media plane: legs (one peer connection per participant), bridges
between them, and the relay that forwards media (see ARCHITECTURE.md).

Every aiortc internal it touches lives in aiortc_hooks.py.
"""

from .aiortc_hooks import AiortcChanged, check_aiortc
from .bridge import PASSTHROUGH, RELAY_MODES, TRANSCODE, Bridge
from .call import Call
from .errors import MediaError
from .ice import parse_candidate, rtc_configuration, use_media_addresses
from .leg import Leg
from .monitor import Monitor
from .plane import MediaPlane
from .recorder import Recorder, RecordingResult

__all__ = [
    "PASSTHROUGH",
    "RELAY_MODES",
    "TRANSCODE",
    "AiortcChanged",
    "Bridge",
    "Call",
    "Recorder",
    "RecordingResult",
    "check_aiortc",
    "Leg",
    "MediaError",
    "MediaPlane",
    "Monitor",
    "parse_candidate",
    "rtc_configuration",
    "use_media_addresses",
]
