"""All configuration, parsed once in the driver and passed into actors.

Every field is one environment variable (its name upper-cased); the README's configuration
table lists them. Nothing else in the project reads the environment. :func:`load_settings`
turns any invalid value into a :class:`~contracts.errors.ConfigError` with one line that
names the variable and says what is allowed.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Literal
from urllib.parse import quote, urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.codec import DecodeLimits
from contracts.dispatch import dispatch_token
from contracts.errors import ConfigError
from contracts.topology import Topology, retry_delays

__all__ = ["Settings", "load_settings"]

_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


class Settings(BaseSettings):
    """Every setting of the cluster and the webhook side, read from the environment."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        hide_input_in_errors=True,
    )

    # --- RabbitMQ (the spec's Python .env, plus a full URL and TLS) ---
    rabbitmq_url: SecretStr | None = Field(
        default=None, description="Full amqp:// or amqps:// URL; overrides HOST/PORT/USER/PASS/VHOST."
    )
    rabbitmq_host: str = "localhost"
    rabbitmq_port: int = Field(default=5672, ge=1, le=65535)
    rabbitmq_user: str = "guest"
    rabbitmq_pass: SecretStr | None = Field(
        default=None, description="Defaults to 'guest' only when the host is local."
    )
    rabbitmq_vhost: str = "/"
    rabbitmq_tls: bool = False
    rabbitmq_ca_file: Path | None = None
    rabbitmq_heartbeat: int = Field(default=30, ge=0, le=600)

    # --- queues ---
    agent_queue: str = Field(default="ag_queue", min_length=1, max_length=200)
    webhook_queue: str = Field(default="wb_queue", min_length=1, max_length=200)
    dlx_agent: str = Field(default="dlx_agent", min_length=1, max_length=200)
    dlx_webhook: str = Field(default="dlx_webhook", min_length=1, max_length=200)
    agent_queue_ttl_ms: int = Field(default=300_000, ge=1)
    webhook_queue_ttl_ms: int = Field(default=60_000, ge=1)

    # --- processing ---
    max_processing_time: float = Field(default=300.0, gt=0, description="Deadline of one agent run, seconds.")
    concurrent_tasks: int = Field(default=5, ge=1, le=1000, description="Runs at once per pool replica.")
    pool_min_replicas: int = Field(default=1, ge=0, le=1000)
    pool_max_replicas: int = Field(default=2, ge=1, le=1000)
    pool_replica_cpus: float = Field(default=0.5, gt=0, le=64)
    prefetch: int = Field(
        default=0, ge=0, le=65535, description="0 means pool capacity (max replicas x CONCURRENT_TASKS)."
    )
    retry_delay: float = Field(default=30.0, gt=0, description="First retry delay, seconds.")
    retry_backoff: float = Field(default=2.0, ge=1)
    max_retries: int = Field(default=3, ge=0, le=20, description="Retry levels (wait queues) declared.")
    drain_timeout: float = Field(default=30.0, ge=0)
    dispatch: Literal["direct", "serve"] = Field(
        default="direct",
        description="How the ingress reaches the pool and the publisher: 'direct' (workers attach to the "
        "ingress over one TCP connection each) or 'serve' (a Ray Serve handle call per message).",
    )
    dispatch_port: int = Field(default=0, ge=0, le=65535, description="Port of the ingress's dispatch server; 0 = any.")
    serve_throughput_optimized: bool = Field(
        default=False, description="Ray Serve throughput-optimized mode in every replica (for DISPATCH=serve)."
    )
    breaker_threshold: int = Field(default=5, ge=1)
    breaker_cooldown: float = Field(default=30.0, gt=0)
    max_body_bytes: int = Field(default=256 * 1024, ge=1024, le=64 * 1024 * 1024)
    max_history: int = Field(default=50, ge=0, le=1000)

    # --- agents ---
    model: str = Field(
        default="offline", min_length=1, description="'offline', a gemini-* id, or litellm/<provider>/<model>."
    )
    google_api_key: SecretStr | None = None
    litellm_api_base: str | None = None
    litellm_api_key: SecretStr | None = None
    model_timeout: float = Field(default=60.0, gt=0)
    database_url: str = "sqlite+aiosqlite:///var/business.db"
    web_search_url: str | None = None
    web_search_timeout: float = Field(default=10.0, gt=0)
    business_timezone: str = "Africa/Kampala"

    # --- webhook side ---
    webhook_host: str = "127.0.0.1"
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    webhook_secret: SecretStr | None = None
    webhook_database_url: str = "sqlite+aiosqlite:///var/webhook.db"
    wasender_api_url: str = "http://127.0.0.1:8081"
    wasender_api_key: SecretStr | None = None
    wasender_send_rate: float = Field(default=5.0, gt=0, description="Messages per second to the Wasender API.")
    admin_alert_url: str | None = None
    admin_phone: str | None = None
    sandbox_port: int = Field(default=8081, ge=1, le=65535)

    # --- observability ---
    metrics_port: int = Field(default=9464, ge=0, le=65535)
    webhook_metrics_port: int = Field(default=9465, ge=0, le=65535)
    rabbitmq_management_url: SecretStr | None = Field(
        default=None, description="http(s)://user:pass@host:15672 of the management API; adds unacked counts."
    )
    broker_metrics_interval: float = Field(default=15.0, gt=0, description="Seconds between queue-depth polls.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] = "json"

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("rabbitmq_url")
    @classmethod
    def _check_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            scheme = urlsplit(value.get_secret_value()).scheme
            if scheme not in {"amqp", "amqps"}:
                raise ValueError("must start with amqp:// or amqps://")
        return value

    @field_validator("rabbitmq_ca_file")
    @classmethod
    def _check_ca(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @model_validator(mode="after")
    def _check_password(self) -> Settings:
        if self.rabbitmq_url is None and self.rabbitmq_pass is None and self.rabbitmq_host not in _LOCAL_HOSTS:
            raise ValueError(
                "RABBITMQ_PASS: required when RABBITMQ_HOST is not local (the 'guest' default only works on localhost)"
            )
        if self.pool_min_replicas > self.pool_max_replicas:
            raise ValueError("POOL_MIN_REPLICAS: must not exceed POOL_MAX_REPLICAS")
        if self.dispatch == "direct" and self.pool_min_replicas < 1:
            raise ValueError(
                "POOL_MIN_REPLICAS: must be at least 1 with DISPATCH=direct (scaling up from zero replicas "
                "needs Serve's request queue: use DISPATCH=serve)"
            )
        return self

    # --- derived values ---

    def amqp_url(self) -> str:
        """The connection URL, password included: pass it to the client, never log it."""
        if self.rabbitmq_url is not None:
            return self.rabbitmq_url.get_secret_value()
        password = self.rabbitmq_pass.get_secret_value() if self.rabbitmq_pass else "guest"
        scheme = "amqps" if self.rabbitmq_tls else "amqp"
        vhost = quote(self.rabbitmq_vhost, safe="")
        return (
            f"{scheme}://{quote(self.rabbitmq_user, safe='')}:{quote(password, safe='')}"
            f"@{self.rabbitmq_host}:{self.rabbitmq_port}/{vhost}?heartbeat={self.rabbitmq_heartbeat}"
        )

    def amqp_url_safe(self) -> str:
        """The connection URL with the password masked, for logs and status output."""
        parts = urlsplit(self.amqp_url())
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        user = f"{parts.username}:***@" if parts.username else ""
        return f"{parts.scheme}://{user}{host}{port}{parts.path}"

    def ssl_context(self) -> ssl.SSLContext | None:
        """TLS context for amqps, trusting RABBITMQ_CA_FILE when set."""
        if not self.amqp_url().startswith("amqps"):
            return None
        return ssl.create_default_context(cafile=str(self.rabbitmq_ca_file) if self.rabbitmq_ca_file else None)

    def topology(self) -> Topology:
        """The queue topology these settings describe."""
        delays = retry_delays(self.retry_delay, self.retry_backoff, self.max_retries)
        return Topology(
            agent_queue=self.agent_queue,
            webhook_queue=self.webhook_queue,
            dlx_agent=self.dlx_agent,
            dlx_webhook=self.dlx_webhook,
            agent_ttl_ms=self.agent_queue_ttl_ms,
            webhook_ttl_ms=self.webhook_queue_ttl_ms,
            agent_retry_delays=delays,
            webhook_retry_delays=delays,
        )

    def decode_limits(self) -> DecodeLimits:
        """Body limits for :func:`contracts.codec.decode_request`."""
        return DecodeLimits(max_body_bytes=self.max_body_bytes, max_history=self.max_history)

    def pool_capacity(self) -> int:
        """Requests the pool can run at once at its largest."""
        return self.pool_max_replicas * self.concurrent_tasks

    def dispatch_token(self) -> str:
        """The token pool replicas and the publisher show the ingress (derived from the broker URL)."""
        return dispatch_token(self.amqp_url(), self.agent_queue)

    def effective_prefetch(self) -> int:
        """The ag_queue prefetch: PREFETCH, or the pool's capacity when it is 0."""
        return self.prefetch or self.pool_capacity()


def load_settings(**overrides: object) -> Settings:
    """Read the settings, or raise :class:`ConfigError` with one line naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        loc = ".".join(str(part) for part in first["loc"]).upper()
        msg = str(first["msg"]).removeprefix("Value error, ")
        text = msg if not loc else f"{loc}: {msg}"
        raise ConfigError(f"invalid setting {text}") from None
