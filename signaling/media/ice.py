"""ICE settings: servers from configuration, the host addresses to gather on,
and parsing of trickled browser candidates.

Never let aiortc fall back to its built-in public STUN server: every peer
connection is built from :func:`rtc_configuration`, with an empty list when
none is configured.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

import aioice.ice
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCIceCandidate, RTCIceServer
from aiortc.sdp import candidate_from_sdp

_CANDIDATE_TYPES = {"host", "srflx", "prflx", "relay"}
_PROTOCOLS = {"udp", "tcp"}
# aioice's own function, kept so that `use_media_addresses(None)` can restore it.
_AIOICE_GET_HOST_ADDRESSES: Callable[[bool, bool], list[str]] = aioice.ice.get_host_addresses


def rtc_configuration(ice_servers: list[dict[str, Any]]) -> RTCConfiguration:
    """An RTCConfiguration with exactly these servers (none means none).

    Max-bundle: with aiortc's default "balanced" policy a second video
    transceiver (the screen share) is born bundled onto the camera's transport,
    which the BUNDLE answer then stops, so the screen never flows (aiortc 1.16).
    """
    servers = []
    for entry in ice_servers:
        kwargs: dict[str, Any] = {"urls": entry["urls"]}
        for key in ("username", "credential", "credentialType"):
            if entry.get(key) is not None:
                kwargs[key] = entry[key]
        servers.append(RTCIceServer(**kwargs))
    return RTCConfiguration(iceServers=servers, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)


def use_media_addresses(addresses: list[str] | None) -> None:
    """Gather host candidates on exactly `addresses` (process-wide).

    aioice's `get_host_addresses` skips 127.0.0.1 and takes every other
    interface; `Connection.gather_candidates` looks it up at run time, so
    replacing the module attribute is enough. `None` restores aioice's choice.
    """
    if addresses is None:
        aioice.ice.get_host_addresses = _AIOICE_GET_HOST_ADDRESSES
        return
    chosen = [ipaddress.ip_address(a) for a in addresses]  # ValueError on a typo

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [
            str(a)
            for a in chosen
            if (a.version == 4 and use_ipv4) or (a.version == 6 and use_ipv6)
        ]

    aioice.ice.get_host_addresses = get_host_addresses


def is_mdns_candidate(candidate: str) -> bool:
    """True for a candidate line whose address is an mDNS name (``*.local``)."""
    bits = candidate.split()
    return len(bits) > 4 and bits[4].lower().rstrip(".").endswith(".local")


def parse_candidate(payload: dict[str, Any]) -> RTCIceCandidate | None:
    """Turn a trickled `{candidate, sdpMid, sdpMLineIndex}` into an RTCIceCandidate.

    Returns None for mDNS (``.local``) candidates: a server cannot resolve
    them and aioice would stall on a multicast query, so they are dropped.
    Raises ValueError on anything malformed.
    """
    if not isinstance(payload, dict):
        raise ValueError("candidate payload must be an object")
    line = payload.get("candidate")
    if not isinstance(line, str) or not line.strip():
        raise ValueError("candidate must be a non-empty string")
    line = line.strip()
    if line.startswith("a="):
        line = line[2:]
    if line.startswith("candidate:"):
        line = line[len("candidate:"):]
    if is_mdns_candidate(line):
        return None
    try:
        candidate = candidate_from_sdp(line)
    except (AssertionError, ValueError, IndexError) as exc:
        raise ValueError(f"unparsable candidate: {line[:80]!r}") from exc
    if candidate.type not in _CANDIDATE_TYPES or candidate.protocol.lower() not in _PROTOCOLS:
        raise ValueError("unknown candidate type or protocol")
    if not 0 <= candidate.port <= 65535 or candidate.component not in (1, 2):
        raise ValueError("candidate port or component out of range")
    try:
        ipaddress.ip_address(candidate.ip)
    except ValueError as exc:
        raise ValueError("candidate address is not an IP address") from exc

    mid = payload.get("sdpMid")
    index = payload.get("sdpMLineIndex")
    if mid is not None and not isinstance(mid, str):
        raise ValueError("sdpMid must be a string")
    if index is not None and (isinstance(index, bool) or not isinstance(index, int) or index < 0):
        raise ValueError("sdpMLineIndex must be a non-negative integer")
    if mid is None and index is None:
        raise ValueError("candidate needs sdpMid or sdpMLineIndex")
    candidate.sdpMid = mid
    candidate.sdpMLineIndex = index
    return candidate
