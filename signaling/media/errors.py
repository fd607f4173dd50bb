"""The one exception type the media plane lets out."""

from __future__ import annotations


class MediaError(Exception):
    """A media operation refused for a reason the caller can report.

    `code` is one of ``bad_sdp``, ``bad_candidate``, ``no_leg``, ``in_call`` (a party's leg of
    a call of several parties cannot be bridged), ``no_ports`` (every port of VW_UDP_PORTS is in
    use); adapters put it straight into a
    ``{"ok": false, "error": {code, message}}`` acknowledgement.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"MediaError({self.code!r}, {self.message!r})"
