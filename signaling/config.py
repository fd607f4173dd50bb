"""Settings, read once from the environment and the command line."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .media.ice import AnnouncedAddresses
    from .media.turn import TurnRest

from limits import parse_many


class ConfigError(ValueError):
    """A setting with a value the server cannot use; `serve` prints it on one line and exits 2."""


def _static_root() -> Path:
    """Where the pages (client_web/, agent_console/, shared_web/) are: beside the package in a
    source checkout or an editable install; under `<prefix>/share/virtual-window/` when installed
    from a wheel (pyproject.toml's data-files)."""
    if os.environ.get("VW_STATIC_ROOT"):
        return Path(os.environ["VW_STATIC_ROOT"])
    source = Path(__file__).resolve().parent.parent
    if (source / "client_web" / "index.html").is_file():
        return source
    return Path(sys.prefix) / "share" / "virtual-window"


STATIC_ROOT = _static_root()
VAR_DIR = Path(os.environ.get("VW_VAR_DIR", "var"))


def default_database_url() -> str:
    return f"sqlite+aiosqlite:///{(VAR_DIR / 'virtual-window.db').as_posix()}"


def check_database_url(url: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(url)
    except ArgumentError:
        raise ConfigError(f"{url!r} is not a database URL (VW_DATABASE_URL or --database-url), "
                          "e.g. postgresql+asyncpg://user:password@host/db") from None
    return url


def _secret_key() -> str:
    """VW_SECRET_KEY, or a key generated once and kept under ./var/."""
    key = os.environ.get("VW_SECRET_KEY")
    if key:
        return key
    path = VAR_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
RELAYS = ("passthrough", "transcode")
ADAPTATIONS = ("on", "off")  # VW_ADAPTATION


def _ice_servers() -> list[dict]:
    raw = os.environ.get("VW_ICE_SERVERS", "").strip()
    if not raw:
        return []
    try:
        servers = json.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"VW_ICE_SERVERS is not valid JSON: {exc}") from None
    if not isinstance(servers, list) or not all(
        isinstance(s, dict) and "urls" in s for s in servers
    ):
        raise ConfigError("VW_ICE_SERVERS must be a JSON list of {urls, username?, credential?}")
    return servers


def _urls(server: dict) -> list:
    urls = server.get("urls")
    return urls if isinstance(urls, list) else [urls]


def _media_addresses() -> list[str] | None:
    return _list_env("VW_MEDIA_ADDRESSES") or None  # None: all non-loopback interfaces (aioice's own choice)


def _udp_ports() -> tuple[int, int] | None:
    from .media.ports import parse_port_range  # media imports aiortc: only when the server reads its settings

    raw = os.environ.get("VW_UDP_PORTS", "").strip()
    if not raw:
        return None
    try:
        return parse_port_range(raw)
    except ValueError as exc:
        raise ConfigError(f"VW_UDP_PORTS {exc}") from None


def _announced_addresses() -> AnnouncedAddresses:
    from .media.ice import AnnouncedAddresses

    try:
        return AnnouncedAddresses.parse(_list_env("VW_ANNOUNCED_ADDRESSES"))
    except ValueError as exc:
        raise ConfigError(f"VW_ANNOUNCED_ADDRESSES (public or local=public, comma-separated): {exc}") from None


def _ice_transport_policy() -> str:
    from .media.ice import ICE_TRANSPORT_POLICIES

    return _choice_env("VW_ICE_TRANSPORT_POLICY", ICE_TRANSPORT_POLICIES, "all")


def _turn_urls() -> list[str]:
    from .media.turn import check_turn_url

    try:
        return [check_turn_url(url) for url in _list_env("VW_TURN_URLS")]
    except ValueError as exc:
        raise ConfigError(f"VW_TURN_URLS: {exc}") from None


def _float_env(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None
    if not 0 <= value < float("inf"):
        raise ConfigError(f"{name} must be a number of 0 or more, not {raw!r}")
    return value


def _quality_interval() -> float:
    value = _float_env("VW_QUALITY_INTERVAL_S", 2)
    if value and not 1 <= value <= 10:  # aiortc sends receiver reports every 0.5-1.5 s
        raise ConfigError(f"VW_QUALITY_INTERVAL_S must be 0 (off) or 1-10 seconds, not {value:g}")
    return value


def _flag_env(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        raise ConfigError(f"{name} must be 1, true, yes, on or 0, false, no, off, not {raw!r}")
    return raw in ("1", "true", "yes", "on")


def _choice_env(name: str, choices: tuple[str, ...], default: str, *, upper: bool = False) -> str:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    value = raw.upper() if upper else raw.lower()
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, not {raw!r}")
    return value


def _list_env(name: str) -> list[str]:
    return [a.strip() for a in os.environ.get(name, "").split(",") if a.strip()]


def _networks_env(name: str) -> list[str]:
    networks = _list_env(name)
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ConfigError(f"{name}: {network!r} is not an IP address or network") from None
    return networks


def _limits_env(name: str, default: str) -> str:
    spec = os.environ.get(name, "").strip() or default
    try:
        parse_many(spec)
    except ValueError:
        raise ConfigError(f"{name} must be limits such as '5/minute;20/hour', not {spec!r}") from None
    return spec


def _reference_env(name: str, default: str) -> str:
    """VW_REFERENCE_PREFIX or VW_TIME_ZONE, checked as session references need them (engine/references.py)."""
    from .engine.references import ReferenceSettingError, check_prefix, time_zone  # the engine imports this module

    value = os.environ.get(name, "").strip() or default
    try:
        check_prefix(value) if name == "VW_REFERENCE_PREFIX" else time_zone(value)
    except ReferenceSettingError as exc:
        raise ConfigError(str(exc)) from None
    return value


def _url_env(name: str) -> str | None:
    raw = os.environ.get(name, "").strip().rstrip("/")
    if not raw:
        return None
    if not raw.startswith(("http://", "https://")) or len(raw) > 500:
        raise ConfigError(f"{name} must be an http:// or https:// URL, not {raw!r}")
    return raw


@dataclass
class Settings:
    database_url: str = field(default_factory=lambda: os.environ.get("VW_DATABASE_URL") or default_database_url())
    host: str = "127.0.0.1"
    port: int = 8080
    recordings_dir: Path = field(default_factory=lambda: Path(os.environ.get("VW_RECORDINGS_DIR", "recordings")))
    secret_key: str = field(default_factory=_secret_key)
    ice_servers: list[dict] = field(default_factory=_ice_servers)
    media_addresses: list[str] | None = field(default_factory=_media_addresses)
    # Firewalls and NAT (docs/operations.md): the UDP ports the legs' ICE host sockets bind in (None:
    # any port), the public addresses announced for local ones (1:1 NAT), the participants' ICE
    # transport policy ("relay": through TURN only), and TURN servers with short-term credentials made
    # from a secret shared with the TURN server (coturn's use-auth-secret), valid for turn_ttl_s.
    udp_ports: tuple[int, int] | None = field(default_factory=_udp_ports)
    announced_addresses: AnnouncedAddresses = field(default_factory=_announced_addresses)
    ice_transport_policy: str = field(default_factory=_ice_transport_policy)
    turn_urls: list[str] = field(default_factory=_turn_urls)
    turn_secret: str | None = field(default_factory=lambda: os.environ.get("VW_TURN_SECRET", "").strip() or None)
    turn_ttl_s: float = field(default_factory=lambda: _float_env("VW_TURN_TTL_S", 24 * 3600))
    # Signed tokens expire after this many seconds (a working day plus margin).
    token_ttl_s: int = field(default_factory=lambda: int(_float_env("VW_TOKEN_TTL_S", 12 * 3600)))
    # The login cookie gets the Secure flag (set it whenever the pages are served over HTTPS).
    cookie_secure: bool = field(default_factory=lambda: _flag_env("VW_COOKIE_SECURE", False))
    # When set, GET /metrics needs `Authorization: Bearer <token>`.
    metrics_token: str | None = field(default_factory=lambda: os.environ.get("VW_METRICS_TOKEN", "").strip() or None)
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Host are believed (addresses or networks).
    trusted_proxies: list[str] = field(default_factory=lambda: _networks_env("VW_TRUSTED_PROXIES"))
    # Login attempts that did not succeed, per account (a success clears them) and per client
    # address, as `limits` strings; over either, 429 (docs/security.md).
    login_account_limits: str = field(default_factory=lambda: _limits_env("VW_LOGIN_ACCOUNT_LIMITS", "5/minute;20/hour"))
    login_address_limits: str = field(default_factory=lambda: _limits_env("VW_LOGIN_ADDRESS_LIMITS", "30/minute;300/hour"))
    # How long an offer rings before it goes to the next specialist.
    offer_timeout_s: float = field(default_factory=lambda: _float_env("VW_OFFER_TIMEOUT_S", 15))
    # How long an invitation into a call (call:invite, issue 13) rings before it ends as `timeout`.
    invite_timeout_s: float = field(default_factory=lambda: _float_env("VW_INVITE_TIMEOUT_S", 30))
    # Wrap-up ends by itself after this long if the specialist does not finish it (0: at once).
    wrap_up_s: float = field(default_factory=lambda: _float_env("VW_WRAP_UP_S", 120))
    # A session answered but whose media never flows ends as `failed` after this.
    media_timeout_s: float = field(default_factory=lambda: _float_env("VW_MEDIA_TIMEOUT_S", 20))
    # A caller or specialist who drops out of a session may come back (resume) within this.
    reconnect_grace_s: float = field(default_factory=lambda: _float_env("VW_RECONNECT_GRACE_S", 15))
    # The maximum waits of a queue that sets none of its own (docs/routing.md): a session ends
    # `missed` after max_wait_s in the queue, or after max_wait_no_agent_s with nobody staffed
    # who may take it. 0 = no such limit.
    max_wait_s: float = field(default_factory=lambda: _float_env("VW_MAX_WAIT_S", 900))
    max_wait_no_agent_s: float = field(default_factory=lambda: _float_env("VW_MAX_WAIT_NO_AGENT_S", 120))
    # A caller whose answered call ended because the specialist's console did not come back may
    # wait again at the front of the queue (`call:requeue`) for this long after the end.
    requeue_window_s: float = field(default_factory=lambda: _float_env("VW_REQUEUE_WINDOW_S", 120))
    # A leg that fails during a call may be replaced (new offer) within this; then `media_failed`.
    media_grace_s: float = field(default_factory=lambda: _float_env("VW_MEDIA_GRACE_S", 10))
    # Every leg of a call with media is sampled this often for its network quality (call:quality,
    # the session log; engine/quality.py); 0 turns sampling off.
    quality_interval_s: float = field(default_factory=lambda: _quality_interval())
    # How bridges relay media: "passthrough" (encoded frames, where codecs match) or "transcode".
    relay: str = field(default_factory=lambda: _choice_env("VW_RELAY", RELAYS, "passthrough"))
    # Passthrough adapts to each receiver's network (docs/media.md § Adaptation): audio packet by
    # packet, retransmissions within budget, the receivers' estimate upstream, video paused when weak.
    adaptation: str = field(default_factory=lambda: _choice_env("VW_ADAPTATION", ADAPTATIONS, "on"))
    # Record bridged calls at all (each service item can turn recording off too).
    recording: bool = field(default_factory=lambda: _flag_env("VW_RECORDING", True))
    # Recordings older than this many days are deleted by a clean-up job; 0 keeps them forever.
    recording_retention_days: float = field(default_factory=lambda: _float_env("VW_RECORDING_RETENTION_DAYS", 0))
    # The "One Call, Two Seconds" target, reported by /api/config and used by metrics.
    # The session log may lag the calls by at most this long (a database outage), and by
    # at most this many records; beyond either, new calls are refused (store/writer.py).
    store_max_lag_s: float = field(default_factory=lambda: _float_env("VW_STORE_MAX_LAG_S", 120))
    store_max_backlog: int = field(default_factory=lambda: int(_float_env("VW_STORE_MAX_BACKLOG", 50_000)))
    # Caps per client address for anonymous callers (one leg per socket, so legs are capped too).
    max_sockets_per_address: int = field(default_factory=lambda: int(_float_env("VW_MAX_SOCKETS_PER_ADDRESS", 50)))
    max_calls_per_address: int = field(default_factory=lambda: int(_float_env("VW_MAX_CALLS_PER_ADDRESS", 20)))
    # On SIGTERM, answered calls may go on this long before they are ended with `server_shutdown`.
    drain_s: float = field(default_factory=lambda: _float_env("VW_DRAIN_S", 30))
    # Logs (signaling/logs.py): the project's loggers at log_level; libraries (aioice, aiortc, aiohttp,
    # socketio, SQLAlchemy...) at library_log_level, or their quiet defaults when it is None.
    log_level: str = field(default_factory=lambda: _choice_env("VW_LOG_LEVEL", LOG_LEVELS, "INFO", upper=True))
    library_log_level: str | None = field(
        default_factory=lambda: _choice_env("VW_LIBRARY_LOG_LEVEL", LOG_LEVELS, "", upper=True) or None)
    # "text" (one line a record) or "json" (one JSON object a line).
    log_format: str = field(default_factory=lambda: _choice_env("VW_LOG_FORMAT", LOG_FORMATS, "text"))
    # The center's time zone: the local date in session references (engine/references.py).
    time_zone: str = field(default_factory=lambda: _reference_env("VW_TIME_ZONE", "Asia/Shanghai"))
    # What every session reference starts with (`XH-20261202-0042`): 1-5 capital letters or digits.
    reference_prefix: str = field(default_factory=lambda: _reference_env("VW_REFERENCE_PREFIX", "XH"))
    # Keep my place (engine/callbacks.py): a waiting caller may leave and be alerted at its turn;
    # it then has this long to come back before the place passes on (`callback_not_taken`).
    callbacks: bool = field(default_factory=lambda: _flag_env("VW_CALLBACKS", True))
    callback_accept_s: float = field(default_factory=lambda: _float_env("VW_CALLBACK_ACCEPT_S", 120))
    # Where the links sent to callers point (resume and manage links, the webhook's); by default
    # this server's own address.
    public_url: str | None = field(default_factory=lambda: _url_env("VW_PUBLIC_URL"))
    # The notifier webhook (signaling/notify.py): POSTed JSON, signed with HMAC-SHA256 of the secret.
    notify_webhook_url: str | None = field(default_factory=lambda: _url_env("VW_NOTIFY_WEBHOOK_URL"))
    notify_webhook_secret: str | None = field(
        default_factory=lambda: os.environ.get("VW_NOTIFY_WEBHOOK_SECRET", "").strip() or None)
    # Appointments (routing/slots.py): slot length, places per slot (0: one per specialist with the
    # skill), how far ahead, how early a caller may join, the no-show grace, how long only the
    # booked specialist is offered the call, and the reminder's lead time.
    appointments: bool = field(default_factory=lambda: _flag_env("VW_APPOINTMENTS", True))
    appointment_slot_s: float = field(default_factory=lambda: _float_env("VW_APPOINTMENT_SLOT_S", 1800))
    appointment_capacity: int = field(default_factory=lambda: int(_float_env("VW_APPOINTMENT_SLOT_CAPACITY", 0)))
    appointment_days: int = field(default_factory=lambda: int(_float_env("VW_APPOINTMENT_DAYS", 30)))
    appointment_early_s: float = field(default_factory=lambda: _float_env("VW_APPOINTMENT_EARLY_S", 600))
    appointment_grace_s: float = field(default_factory=lambda: _float_env("VW_APPOINTMENT_GRACE_S", 600))
    appointment_prefer_s: float = field(default_factory=lambda: _float_env("VW_APPOINTMENT_PREFER_S", 120))
    appointment_remind_s: float = field(default_factory=lambda: _float_env("VW_APPOINTMENT_REMIND_S", 900))
    # Bookings and rebookings made per client address (anonymous callers cannot fill every slot).
    appointment_address_limits: str = field(
        default_factory=lambda: _limits_env("VW_APPOINTMENT_ADDRESS_LIMITS", "10/minute;30/day"))
    # Home of the session writer's journal (records not yet in the database survive a crash).
    var_dir: Path = VAR_DIR
    answer_target_s: float = 2.0
    demo: bool = False
    static_root: Path = STATIC_ROOT

    def __post_init__(self) -> None:
        if bool(self.turn_urls) != bool(self.turn_secret):
            raise ConfigError("VW_TURN_URLS and VW_TURN_SECRET go together (for static TURN credentials use "
                              "VW_ICE_SERVERS)")
        if self.turn_urls and self.turn_ttl_s < 60:
            raise ConfigError(f"VW_TURN_TTL_S must be at least 60 seconds, not {self.turn_ttl_s:g}")
        if self.ice_transport_policy == "relay" and not self.turn_urls and not any(
            str(url).startswith("turn") for s in self.ice_servers for url in _urls(s)
        ):
            raise ConfigError("VW_ICE_TRANSPORT_POLICY=relay needs a TURN server (VW_TURN_URLS or VW_ICE_SERVERS)")

    def turn(self) -> TurnRest | None:
        """The TURN servers with short-term credentials, if configured."""
        from .media.turn import TurnRest

        if not self.turn_urls or not self.turn_secret:
            return None
        return TurnRest(tuple(self.turn_urls), self.turn_secret, self.turn_ttl_s)

    def base_url(self) -> str:
        """The address links to this server start with (VW_PUBLIC_URL, else host and port)."""
        return self.public_url or f"http://{self.host}:{self.port}"

    def journal_path(self) -> Path:
        """One journal per database, so servers on different databases never share one."""
        digest = hashlib.sha256(self.database_url.encode()).hexdigest()[:16]
        return self.var_dir / "journal" / f"sessions-{digest}.jsonl"
