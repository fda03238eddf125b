"""Dagster resources: thin wrappers that hand the pure library its settings."""


import datetime as dt

import dagster as dg

from ..lib.http.polite import Politeness, PoliteClient
from ..lib.lakehouse import Lakehouse
from ..lib.parsing.credits import DEFAULT_PROTECTED_NAMES
from ..lib.quarantine import Thresholds
from ..settings import Settings


class LakehouseResource(dg.ConfigurableResource):
    """Where every table lives: parquet files under SONGNODES_LAKEHOUSE_ROOT, or Iceberg tables
    (SONGNODES_TABLE_FORMAT=iceberg: catalog and warehouse from SONGNODES_ICEBERG_*, S3 from SONGNODES_S3_*)."""

    root: str
    table_format: str = "parquet"
    iceberg_catalog: str = ""
    iceberg_warehouse: str = ""
    s3_endpoint: str = ""
    s3_region: str = ""
    iceberg_keep_days: float = 30.0

    def get(self) -> Lakehouse:
        from ..lib.iceberg_lakehouse import open_lake
        from ..lib.iceberg_tables import IcebergConfig

        cfg = None
        if self.table_format == "iceberg":
            cfg = IcebergConfig(self.iceberg_catalog, self.iceberg_warehouse, self.s3_endpoint or None,
                                self.s3_region or None, self.iceberg_keep_days)
        return open_lake(self.root, self.table_format, cfg)


class MixesDBResource(dg.ConfigurableResource):
    """MixesDB crawl settings and the one polite HTTP client every fetch goes through."""

    base_url: str
    start_urls: list[str]
    discovery_limit: int
    user_agent: str
    allowed_hosts: list[str]
    min_interval_s: float
    jitter_s: float
    timeout_s: float
    max_tries: int
    retry_after_cap_s: float
    refetch_after_days: float
    max_error_rate: float
    tracklists1001_urls: list[str] = []

    def client(self, log=None) -> PoliteClient:
        return PoliteClient(Politeness(
            user_agent=self.user_agent, allowed_hosts=frozenset(self.allowed_hosts),
            min_interval_s=self.min_interval_s, jitter_s=self.jitter_s, connect_timeout_s=min(10.0, self.timeout_s),
            read_timeout_s=self.timeout_s, max_tries=self.max_tries, retry_after_cap_s=self.retry_after_cap_s,
        ), log=log)

    @property
    def max_age(self) -> dt.timedelta:
        return dt.timedelta(days=self.refetch_after_days)


class ParserResource(dg.ConfigurableResource):
    """Parser options: extra group names that contain "&", "," or "x" (SONGNODES_PROTECTED_ARTISTS)."""

    extra_protected_artists: list[str] = []
    max_bad_line_share: float = 0.05
    max_bad_page_share: float = 0.25
    max_lines_per_page: int = 10000

    @property
    def thresholds(self) -> Thresholds:
        return Thresholds(self.max_bad_line_share, self.max_bad_page_share, self.max_lines_per_page)

    @property
    def protected(self) -> tuple[str, ...]:
        return DEFAULT_PROTECTED_NAMES + tuple(self.extra_protected_artists)


class EnrichmentResource(dg.ConfigurableResource):
    """Shared API-client settings: where the cache, rate-limit and health state live, retries, circuit breaker."""

    cache_dir: str
    user_agent: str
    max_failure_rate: float
    min_success_rate: float = 0.85
    retry_after_cap_s: float = 120.0
    breaker_fail_max: int
    breaker_reset_s: float
    timeout_s: float
    max_tries: int
    backoff_s: float
    state_url: str | None = None  # SONGNODES_STATE_URL (no password: refused by settings)

    def client(self, source_config, log=None, warn=None):
        """An API client for one source; ``warn`` receives state warnings (a corrupt cache moved aside, a full
        disk, the state server failing mid-run) naming the file or server. An unreachable state server
        raises here, naming it (never a fallback to local files)."""
        from ..lib.enrich.api_client import ApiClient, RetryPolicy
        from ..lib.enrich.state_backend import open_state

        state = open_state(self.state_url, self.cache_dir, log=warn)
        return ApiClient(
            source_config.name, source_config.base_url,
            limiter=state.limiter(source_config.name, source_config.min_interval_s),
            cache=state.cache(), user_agent=self.user_agent,
            policy=RetryPolicy(connect_timeout_s=min(5.0, self.timeout_s), read_timeout_s=self.timeout_s,
                               max_tries=self.max_tries, backoff_base_s=self.backoff_s,
                               retry_after_cap_s=self.retry_after_cap_s),
            breaker_fail_max=self.breaker_fail_max, breaker_reset_s=self.breaker_reset_s,
            secrets=source_config.secrets, log=log, health=state.health())


def resources_from_settings(settings: Settings) -> dict:
    """The resources, fixed from the code location's environment. Each is wrapped as a hard-coded resource
    (no config schema), so run config launched from the UI or GraphQL cannot re-point the lakehouse root,
    the allowed hosts, base URLs or credentials: such a run is refused as invalid config."""
    return {name: _fixed(value) for name, value in _resources(settings).items()}


def _fixed(value) -> dg.ResourceDefinition:
    """A resource whose config schema is empty: any run config for it is refused, nothing can change it."""
    return dg.ResourceDefinition(resource_fn=lambda _init: value, config_schema=dg.Shape({}),
                                 description=(type(value).__doc__ or "").strip() + " Fixed by the code location's "
                                 "environment (SONGNODES_*); not configurable per run.")


def _lakehouse(settings: Settings) -> LakehouseResource:
    if settings.table_format != "iceberg":
        return LakehouseResource(root=settings.lakehouse_root)
    from ..lib.iceberg_tables import IcebergConfig

    cfg = IcebergConfig.from_env(settings.lakehouse_root)  # refuses a password in the catalog URL
    return LakehouseResource(root=settings.lakehouse_root, table_format="iceberg", iceberg_catalog=cfg.catalog_uri,
                             iceberg_warehouse=cfg.warehouse, s3_endpoint=cfg.s3_endpoint or "",
                             s3_region=cfg.s3_region or "", iceberg_keep_days=cfg.keep_days)


def _resources(settings: Settings) -> dict:
    return {
        "lakehouse": _lakehouse(settings),
        "mixesdb": MixesDBResource(
            base_url=settings.mixesdb_base_url, start_urls=list(settings.mixesdb_start_urls),
            discovery_limit=settings.discovery_limit, user_agent=settings.user_agent,
            allowed_hosts=sorted(settings.allowed_hosts), min_interval_s=settings.min_interval_s,
            jitter_s=settings.jitter_s, timeout_s=settings.timeout_s, max_tries=settings.max_tries,
            retry_after_cap_s=settings.retry_after_cap_s, refetch_after_days=settings.refetch_after_days,
            max_error_rate=settings.max_error_rate, tracklists1001_urls=list(settings.tracklists1001_urls),
        ),
        "parser": ParserResource(extra_protected_artists=list(settings.protected_artists),
                                 max_bad_line_share=settings.max_bad_line_share,
                                 max_bad_page_share=settings.max_bad_page_share,
                                 max_lines_per_page=settings.max_lines_per_page),
        "enrichment": EnrichmentResource(
            cache_dir=settings.cache_dir, state_url=settings.state_url, user_agent=settings.user_agent,
            max_failure_rate=settings.enrich_max_failure_rate, min_success_rate=settings.enrich_min_success_rate,
            breaker_fail_max=settings.breaker_fail_max,
            breaker_reset_s=settings.breaker_reset_s, timeout_s=settings.api_timeout_s,
            max_tries=settings.api_max_tries, backoff_s=settings.api_backoff_s,
            retry_after_cap_s=settings.retry_after_cap_s),
    }
