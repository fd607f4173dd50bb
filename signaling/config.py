"""Settings, read once from the environment and the command line."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

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


def _ice_servers() -> list[dict]:
    raw = os.environ.get("VW_ICE_SERVERS", "").strip()
    if not raw:
        return []
    servers = json.loads(raw)
    if not isinstance(servers, list) or not all(
        isinstance(s, dict) and "urls" in s for s in servers
    ):
        raise ValueError("VW_ICE_SERVERS must be a JSON list of {urls, username?, credential?}")
    return servers


def _media_addresses() -> list[str] | None:
    return _list_env("VW_MEDIA_ADDRESSES") or None  # None: all non-loopback interfaces (aioice's own choice)


def _float_env(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _flag_env(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    return default if not raw else raw not in ("0", "false", "no", "off")


def _list_env(name: str) -> list[str]:
    return [a.strip() for a in os.environ.get(name, "").split(",") if a.strip()]


@dataclass
class Settings:
    database_url: str = field(default_factory=lambda: os.environ.get("VW_DATABASE_URL") or default_database_url())
    host: str = "127.0.0.1"
    port: int = 8080
    recordings_dir: Path = field(default_factory=lambda: Path(os.environ.get("VW_RECORDINGS_DIR", "recordings")))
    secret_key: str = field(default_factory=_secret_key)
    ice_servers: list[dict] = field(default_factory=_ice_servers)
    media_addresses: list[str] | None = field(default_factory=_media_addresses)
    # Signed tokens expire after this many seconds (a working day plus margin).
    token_ttl_s: int = field(default_factory=lambda: int(_float_env("VW_TOKEN_TTL_S", 12 * 3600)))
    # The login cookie gets the Secure flag (set it whenever the pages are served over HTTPS).
    cookie_secure: bool = field(default_factory=lambda: _flag_env("VW_COOKIE_SECURE", False))
    # When set, GET /metrics needs `Authorization: Bearer <token>`.
    metrics_token: str | None = field(default_factory=lambda: os.environ.get("VW_METRICS_TOKEN", "").strip() or None)
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Host are believed (addresses or networks).
    trusted_proxies: list[str] = field(default_factory=lambda: _list_env("VW_TRUSTED_PROXIES"))
    # Login attempts that did not succeed, per account (a success clears them) and per client
    # address, as `limits` strings; over either, 429 (docs/security.md).
    login_account_limits: str = field(default_factory=lambda: os.environ.get("VW_LOGIN_ACCOUNT_LIMITS", "5/minute;20/hour"))
    login_address_limits: str = field(default_factory=lambda: os.environ.get("VW_LOGIN_ADDRESS_LIMITS", "30/minute;300/hour"))
    # How long an offer rings before it goes to the next specialist.
    offer_timeout_s: float = field(default_factory=lambda: _float_env("VW_OFFER_TIMEOUT_S", 15))
    # Wrap-up ends by itself after this long if the specialist does not finish it.
    wrap_up_s: float = field(default_factory=lambda: _float_env("VW_WRAP_UP_S", 120))
    # A session answered but whose media never flows ends as `failed` after this.
    media_timeout_s: float = field(default_factory=lambda: _float_env("VW_MEDIA_TIMEOUT_S", 20))
    # A caller or specialist who drops out of a session may come back (resume) within this.
    reconnect_grace_s: float = field(default_factory=lambda: _float_env("VW_RECONNECT_GRACE_S", 15))
    # A leg that fails during a call may be replaced (new offer) within this; then `media_failed`.
    media_grace_s: float = field(default_factory=lambda: _float_env("VW_MEDIA_GRACE_S", 10))
    # How bridges relay media: "passthrough" (encoded frames, where codecs match) or "transcode".
    relay: str = field(default_factory=lambda: os.environ.get("VW_RELAY", "passthrough").strip() or "passthrough")
    # Record bridged calls at all (each service item can also turn recording off).
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
    # The center's time zone: the local date in session references (engine/references.py).
    time_zone: str = field(default_factory=lambda: os.environ.get("VW_TIME_ZONE", "").strip() or "Asia/Shanghai")
    # What every session reference starts with (`XH-20261202-0042`): 1-5 capital letters or digits.
    reference_prefix: str = field(default_factory=lambda: os.environ.get("VW_REFERENCE_PREFIX", "").strip() or "XH")
    # Home of the session writer's journal (records not yet in the database survive a crash).
    var_dir: Path = VAR_DIR
    answer_target_s: float = 2.0
    demo: bool = False
    static_root: Path = STATIC_ROOT

    def journal_path(self) -> Path:
        """One journal per database, so servers on different databases never share one."""
        digest = hashlib.sha256(self.database_url.encode()).hexdigest()[:16]
        return self.var_dir / "journal" / f"sessions-{digest}.jsonl"
