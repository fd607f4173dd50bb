"""Firewall, NAT and TURN settings: parsed, validated at start-up, and the pieces they build."""

from __future__ import annotations

import base64
import hashlib
import hmac

import aioice
import pytest
from aiortc import RTCIceCandidate

from signaling.config import ConfigError, Settings
from signaling.media import aiortc_hooks
from signaling.media.ice import AnnouncedAddresses
from signaling.media.turn import TurnRest


@pytest.mark.parametrize("env, message", [
    ({"VW_UDP_PORTS": "50000"}, "LOW-HIGH"),
    ({"VW_UDP_PORTS": "50200-50000"}, "LOW <= HIGH"),
    ({"VW_UDP_PORTS": "80-90"}, "1024"),
    ({"VW_ANNOUNCED_ADDRESSES": "gateway.example.org"}, "not an IP address"),
    ({"VW_ANNOUNCED_ADDRESSES": "10.0.0.5=2001:db8::7"}, "IPv4 address to an IPv6"),
    ({"VW_ANNOUNCED_ADDRESSES": "203.0.113.7,198.51.100.1"}, "two bare IPv4"),
    ({"VW_TURN_URLS": "turn:turn.example.org:3478"}, "go together"),
    ({"VW_TURN_URLS": "http://turn.example.org", "VW_TURN_SECRET": "s"}, "not a TURN URL"),
    ({"VW_ICE_TRANSPORT_POLICY": "relay"}, "needs a TURN server"),
    ({"VW_ICE_TRANSPORT_POLICY": "tcp"}, "all, relay"),
])
def test_bad_values_are_start_up_errors(monkeypatch, tmp_path, env, message):
    monkeypatch.setenv("VW_SECRET_KEY", "k")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        Settings(var_dir=tmp_path)


def test_good_values(monkeypatch):
    monkeypatch.setenv("VW_SECRET_KEY", "k")
    monkeypatch.setenv("VW_UDP_PORTS", "50000-50199")
    monkeypatch.setenv("VW_ANNOUNCED_ADDRESSES", "203.0.113.7, 10.0.0.6=198.51.100.1")
    monkeypatch.setenv("VW_TURN_URLS", "turn:turn.example.org:3478?transport=udp,turns:turn.example.org:5349")
    monkeypatch.setenv("VW_TURN_SECRET", "s3cret")
    monkeypatch.setenv("VW_ICE_TRANSPORT_POLICY", "relay")
    settings = Settings()
    assert settings.udp_ports == (50000, 50199)
    announced = settings.announced_addresses
    assert announced.public("10.0.0.5") == "203.0.113.7" and announced.public("10.0.0.6") == "198.51.100.1"
    assert announced.public("fd00::5") is None  # a bare IPv4 address maps IPv4 addresses only
    assert settings.turn().urls == ("turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349")


def test_only_host_candidates_are_announced():
    announced = AnnouncedAddresses.parse(["203.0.113.7"])
    host = RTCIceCandidate(component=1, foundation="1", ip="10.0.0.5", port=50000, priority=1, protocol="udp", type="host")
    relay = RTCIceCandidate(component=1, foundation="2", ip="192.0.2.9", port=3478, priority=1, protocol="udp", type="relay")
    assert [(c.ip, c.port) for c in announced.announce([host, relay])] == [("203.0.113.7", 50000), ("192.0.2.9", 3478)]


def test_turn_rest_credentials_are_coturns():
    server = TurnRest(("turn:127.0.0.1:3478",), "secret", 3600).server(now=1_800_000_000)
    expiry, _, user = server["username"].partition(":")
    assert expiry == "1800003600" and user.startswith("vw")
    digest = hmac.new(b"secret", server["username"].encode(), hashlib.sha1).digest()
    assert server["credential"] == base64.b64encode(digest).decode()


def test_a_changed_aioice_fails_at_start_up(monkeypatch):
    monkeypatch.setattr(aioice, "__version__", "0.14.0")
    with pytest.raises(aiortc_hooks.AiortcChanged, match="aioice 0.14.0 installed"):
        aiortc_hooks.check_aiortc()


def test_remote_candidates_a_leg_cannot_reach_are_dropped():
    from signaling.media.ice import reachable_from

    loopback_only = reachable_from(["127.0.0.1"])  # the tests: nothing may leave the machine
    assert loopback_only("127.0.0.1") and not loopback_only("192.0.2.2") and not loopback_only("fd00::2")
    interfaces = reachable_from(None)  # every non-loopback interface: never check the server's own services
    assert not interfaces("127.0.0.1") and not interfaces("::1") and interfaces("203.0.113.7")
    both = reachable_from(["10.20.0.15", "127.0.0.1"])
    assert both("127.0.0.1") and both("198.51.100.9")
