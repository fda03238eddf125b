"""Configuration from ``SONGNODES_*`` environment variables (every one has a sane default; see README)."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit

DEFAULT_BASE_URL = "https://www.mixesdb.com"
DEFAULT_CONTACT = "https://github.com/songnodes/songnodes_assets"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return default if value is None or not value.strip() else value.strip()


env_str = _env  # a text setting, stripped; unset or blank = the default (for settings read at run start)


def env_float(name: str, default: float) -> float:
    """A non-negative number from the environment; a clear error names the variable."""
    raw = _env(name, str(default))
    try:
        value = float(raw)
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not a number") from exc
    if not math.isfinite(value):
        raise ValueError(f"{name}={raw!r} must be a finite number")
    if value < 0:
        raise ValueError(f"{name}={raw!r} must not be negative")
    return value


def env_share(name: str, default: float) -> float:
    """A share between 0 and 1 from the environment."""
    value = env_float(name, default)
    if value > 1:
        raise ValueError(f"{name}={value!r} must be a share between 0 and 1")
    return value


def _int(name: str, default: int) -> int:
    raw = _env(name, str(default))
    try:
        value = int(raw)
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not an integer") from exc
    if value < 0:
        raise ValueError(f"{name}={raw!r} must not be negative")
    return value


def _allow_entry(parts) -> str:
    """An allow-list entry for a configured URL: its host, with its port when the URL names one."""
    host = parts.hostname.lower()
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{parts.port}" if parts.port is not None else host


STATE_URL_FORM = "postgresql://user@host:port/db"


def state_url(raw: str | None, name: str = "SONGNODES_STATE_URL") -> str | None:
    """Where the enrichment API state lives: ``None`` (unset) = SQLite files under SONGNODES_CACHE_DIR;
    a ``postgresql://user@host[:port]/db`` URL = that PostgreSQL database (shared by many hosts). Anything
    else is an error naming the variable. A password in the URL is refused (it would be shown wherever the
    setting is): libpq reads it from PGPASSWORD or ~/.pgpass."""
    raw = (raw or "").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("postgresql", "postgres"):
        shown = f"{parts.scheme}://…" if parts.scheme else "this value"
        raise ValueError(f"{name}: {shown} is not supported; leave it unset (SQLite files under SONGNODES_CACHE_DIR) "
                         f"or give {STATE_URL_FORM}")
    if parts.password is not None or "password=" in parts.query.lower():
        raise ValueError(f"{name} must not contain a password (it would show wherever the setting is shown); "
                         "set PGPASSWORD or use ~/.pgpass, which libpq reads")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if not parts.hostname or port == -1 or not parts.path.strip("/") or "/" in parts.path.strip("/"):
        raise ValueError(f"{name}={raw!r} must look like {STATE_URL_FORM} (a host, an optional numeric port "
                         "and one database name)")
    return raw


def _list(raw: str) -> list[str]:
    return [p for p in (x.strip() for x in raw.replace("\n", ",").replace(" ", ",").split(",")) if p]


def _table_format() -> str:
    from .lib.iceberg_lakehouse import table_format_from_env

    return table_format_from_env()


@dataclass(frozen=True)
class Settings:
    lakehouse_root: str
    mixesdb_base_url: str
    mixesdb_start_urls: tuple[str, ...]
    discovery_limit: int
    user_agent: str
    allowed_hosts: frozenset[str]
    min_interval_s: float
    jitter_s: float
    timeout_s: float
    max_tries: int
    retry_after_cap_s: float
    refetch_after_days: float
    max_error_rate: float
    protected_artists: tuple[str, ...] = field(default_factory=tuple)
    tracklists1001_urls: tuple[str, ...] = ()
    cache_dir: str = ".songnodes/cache"
    enrich_max_failure_rate: float = 0.5
    enrich_min_success_rate: float = 0.85
    breaker_fail_max: int = 5
    breaker_reset_s: float = 30.0
    api_timeout_s: float = 20.0
    api_max_tries: int = 3
    api_backoff_s: float = 1.0
    max_bad_line_share: float = 0.05
    max_bad_page_share: float = 0.25
    max_lines_per_page: int = 10000
    state_url: str | None = None
    table_format: str = "parquet"  # SONGNODES_TABLE_FORMAT: parquet | iceberg

    @classmethod
    def from_env(cls) -> "Settings":
        base = _env("SONGNODES_MIXESDB_BASE_URL", DEFAULT_BASE_URL).rstrip("/")
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"SONGNODES_MIXESDB_BASE_URL={base!r} must be an http(s) URL")
        start = _list(_env("SONGNODES_MIXESDB_START_URLS", f"{base}/w/Special:RecentChanges"))
        hosts = {_allow_entry(parts)}
        if parts.hostname.lower().endswith("mixesdb.com"):
            hosts |= {"www.mixesdb.com", "mixesdb.com"}
        hosts |= {h.lower() for h in _list(_env("SONGNODES_ALLOWED_HOSTS", ""))}
        tl_urls = _list(_env("SONGNODES_1001TL_URLS", ""))
        for u in tl_urls:
            p = urlsplit(u)
            if p.scheme not in ("http", "https") or not p.hostname:
                raise ValueError(f"SONGNODES_1001TL_URLS: {u!r} is not an http(s) URL")
            hosts.add(_allow_entry(p))  # configured by the operator: trusted
        contact = _env("SONGNODES_CONTACT", DEFAULT_CONTACT)
        return cls(
            lakehouse_root=_env("SONGNODES_LAKEHOUSE_ROOT", os.path.join(os.getcwd(), ".songnodes", "lakehouse")),
            mixesdb_base_url=base,
            mixesdb_start_urls=tuple(start),
            discovery_limit=_int("SONGNODES_DISCOVERY_LIMIT", 50),
            user_agent=_env("SONGNODES_USER_AGENT", f"SongNodesBot/0.1 (+{contact})"),
            allowed_hosts=frozenset(hosts),
            min_interval_s=env_float("SONGNODES_MIN_INTERVAL_S", 4.0),
            jitter_s=env_float("SONGNODES_JITTER_S", 1.0),
            timeout_s=env_float("SONGNODES_TIMEOUT_S", 30.0),
            max_tries=max(1, _int("SONGNODES_MAX_TRIES", 3)),
            retry_after_cap_s=env_float("SONGNODES_RETRY_AFTER_CAP_S", 120.0),
            refetch_after_days=env_float("SONGNODES_REFETCH_AFTER_DAYS", 30.0),
            max_error_rate=env_float("SONGNODES_MAX_ERROR_RATE", 0.2),
            protected_artists=tuple(p.strip() for p in _env("SONGNODES_PROTECTED_ARTISTS", "").split("|") if p.strip()),
            tracklists1001_urls=tuple(tl_urls),
            cache_dir=_env("SONGNODES_CACHE_DIR", os.path.join(os.getcwd(), ".songnodes", "cache")),
            enrich_max_failure_rate=env_float("SONGNODES_ENRICH_MAX_FAILURE_RATE", 0.5),
            enrich_min_success_rate=env_share("SONGNODES_ENRICH_MIN_SUCCESS_RATE", 0.85),
            breaker_fail_max=max(1, _int("SONGNODES_BREAKER_FAIL_MAX", 5)),
            breaker_reset_s=env_float("SONGNODES_BREAKER_RESET_S", 30.0),
            api_timeout_s=env_float("SONGNODES_API_TIMEOUT_S", 20.0),
            api_max_tries=max(1, _int("SONGNODES_API_MAX_TRIES", 3)),
            api_backoff_s=env_float("SONGNODES_API_BACKOFF_S", 1.0),
            max_bad_line_share=env_share("SONGNODES_MAX_BAD_LINE_SHARE", 0.05),
            max_bad_page_share=env_share("SONGNODES_MAX_BAD_PAGE_SHARE", 0.25),
            max_lines_per_page=max(1, _int("SONGNODES_MAX_LINES_PER_PAGE", 10000)),
            state_url=state_url(os.environ.get("SONGNODES_STATE_URL")),
            table_format=_table_format(),
        )
