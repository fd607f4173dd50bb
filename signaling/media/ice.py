"""ICE settings: servers from configuration, the host addresses to gather on,
the addresses announced for them (1:1 NAT), and parsing of trickled browser
candidates.

Never let aiortc fall back to its built-in public STUN server: every peer
connection is built from :func:`rtc_configuration`, with an empty list when
none is configured.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Callable
from typing import Any

import aioice.ice
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCIceCandidate, RTCIceServer, RTCIceTransportPolicy
from aiortc.sdp import candidate_from_sdp

from .turn import TurnRest

_CANDIDATE_TYPES = {"host", "srflx", "prflx", "relay"}
_PROTOCOLS = {"udp", "tcp"}
# aioice's own function, kept so that `use_media_addresses(None)` can restore it.
_AIOICE_GET_HOST_ADDRESSES: Callable[[bool, bool], list[str]] = aioice.ice.get_host_addresses


ICE_TRANSPORT_POLICIES = ("all", "relay")


def rtc_configuration(ice_servers: list[dict[str, Any]], transport_policy: str = "all") -> RTCConfiguration:
    """An RTCConfiguration with exactly these servers (none means none).

    `transport_policy` ``"relay"`` gathers relay candidates only (a TURN
    server is then needed), as a browser's ``iceTransportPolicy``.

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
    if transport_policy not in ICE_TRANSPORT_POLICIES:
        raise ValueError(f"ICE transport policy must be one of {ICE_TRANSPORT_POLICIES}, not {transport_policy!r}")
    return RTCConfiguration(iceServers=servers, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
                            iceTransportPolicy=RTCIceTransportPolicy(transport_policy))


def participant_ice(ice_servers: list[dict[str, Any]], turn: TurnRest | None, transport_policy: str) -> dict[str, Any]:
    """The ICE part of `GET /api/config`: what a participant's peer connection is built with.

    TURN servers with short-term credentials get fresh ones on every call;
    `ice_expires_at` (unix seconds, None when nothing expires) tells a page
    kept open longer to fetch them again.
    """
    servers = list(ice_servers) + ([turn.server()] if turn else [])
    return {
        "ice_servers": servers,
        "ice_transport_policy": transport_policy,
        "ice_expires_at": turn.expiry() if turn else None,
    }


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


@dataclasses.dataclass(frozen=True)
class AnnouncedAddresses:
    """`VW_ANNOUNCED_ADDRESSES`: the public address announced for each local host address (1:1 NAT).

    Entries are ``local=public`` pairs, or a bare ``public`` that stands for
    every local address of its IP family not paired explicitly. Only host
    candidates are rewritten (server-reflexive and relay candidates already
    carry an outside address), and the local one is not announced beside it:
    as Janus (`nat_1_1_mapping`, unless `keep_private_host`), Pion/LiveKit
    (`NAT1To1IPs` for host candidates) and Kurento (`externalIPv4`) do. A
    private address is unreachable for the callers outside, would only add
    failing checks, and tells the world the inside addressing plan.
    """

    pairs: dict[str, str] = dataclasses.field(default_factory=dict)  # local -> public
    every: dict[int, str] = dataclasses.field(default_factory=dict)  # IP version -> public

    @classmethod
    def parse(cls, entries: list[str]) -> AnnouncedAddresses:
        """From the comma-separated entries; ValueError saying which one is wrong."""
        pairs: dict[str, str] = {}
        every: dict[int, str] = {}
        for entry in entries:
            local_text, equals, public_text = entry.partition("=")
            public = _ip(public_text if equals else local_text, entry)
            if not equals:
                if public.version in every:
                    raise ValueError(f"two bare IPv{public.version} addresses ({every[public.version]}, {public})")
                every[public.version] = str(public)
                continue
            local = _ip(local_text, entry)
            if local.version != public.version:
                raise ValueError(f"{entry!r} maps an IPv{local.version} address to an IPv{public.version} one")
            if str(local) in pairs:
                raise ValueError(f"{local} is mapped twice")
            pairs[str(local)] = str(public)
        return cls(pairs, every)

    def __bool__(self) -> bool:
        return bool(self.pairs or self.every)

    def __str__(self) -> str:
        every = [f"*={public}" for public in self.every.values()]
        return ", ".join([f"{local}={public}" for local, public in self.pairs.items()] + every)

    def public(self, local: str) -> str | None:
        """The address announced for host address `local`, or None to announce it as it is."""
        try:
            address = ipaddress.ip_address(local)
        except ValueError:
            return None
        return self.pairs.get(str(address)) or self.every.get(address.version)

    def announce(self, candidates: list[RTCIceCandidate]) -> list[RTCIceCandidate]:
        """The candidates as they are announced: mapped host addresses replaced, the rest as they are."""
        announced = []
        for candidate in candidates:
            public = self.public(candidate.ip) if candidate.type == "host" else None
            announced.append(dataclasses.replace(candidate, ip=public) if public else candidate)
        return announced


def _ip(text: str, entry: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        raise ValueError(f"{entry.strip()!r}: {text.strip()!r} is not an IP address") from None


def reachable_from(media_addresses: list[str] | None) -> Callable[[str], bool]:
    """Which remote candidate addresses the legs can reach from the addresses they gather on.

    Loopback reaches only loopback: a server gathering on other addresses
    (VW_MEDIA_ADDRESSES unset takes every non-loopback interface) drops a
    remote 127.0.0.1 candidate, which would make it send checks to its own
    local services; one gathering on loopback only (tests) drops every other
    address a browser offers, so nothing is sent beyond the machine.
    """
    local = [ipaddress.ip_address(a) for a in media_addresses] if media_addresses else []
    loopback = any(a.is_loopback for a in local)
    only_loopback = bool(local) and all(a.is_loopback for a in local)

    def reachable(ip: str) -> bool:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return True  # a name: mDNS ones are dropped on their own (is_mdns_candidate)
        return loopback if address.is_loopback else not only_loopback

    return reachable


def candidate_address(candidate: str) -> str | None:
    """The address field of a candidate line (``foundation component transport priority address ...``)."""
    bits = candidate.split()
    return bits[4] if len(bits) > 4 else None


def is_mdns_candidate(candidate: str) -> bool:
    """True for a candidate line whose address is an mDNS name (``*.local``)."""
    address = candidate_address(candidate)
    return address is not None and address.lower().rstrip(".").endswith(".local")


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
