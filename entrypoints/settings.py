"""The settings of a process, read once from its ASSESS_* environment variables."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from application.settings import Settings


def _paths(kind: type, value: object) -> object:
    """msgspec does not turn strings into paths by itself."""
    if kind is Path and isinstance(value, str | Path):
        return Path(value)
    raise NotImplementedError(kind)


def from_env(data_dir: Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read the settings from the environment; --data overrides ASSESS_DATA_DIR."""
    env = os.environ if environ is None else environ
    fields = {
        "database_url": env.get("ASSESS_DATABASE_URL"),
        "data_dir": data_dir or env.get("ASSESS_DATA_DIR"),
        "questions_per_attempt": env.get("ASSESS_QUESTIONS_PER_ATTEMPT"),
        "question_generator": env.get("ASSESS_QUESTION_GENERATOR"),
        "generate_wait_seconds": env.get("ASSESS_GENERATE_WAIT_SECONDS"),
        "llm_url": env.get("ASSESS_LLM_URL"),
        "llm_model": env.get("ASSESS_LLM_MODEL"),
        "llm_api_key": env.get("ASSESS_LLM_API_KEY"),
        "llm_timeout_seconds": env.get("ASSESS_LLM_TIMEOUT_SECONDS"),
        "session_ttl_seconds": env.get("ASSESS_SESSION_TTL_SECONDS"),
        "reviewer_ttl_seconds": env.get("ASSESS_REVIEWER_TTL_SECONDS"),
        "public_url": env.get("ASSESS_PUBLIC_URL"),
        "master_key": env.get("ASSESS_MASTER_KEY"),
        "max_body_bytes": env.get("ASSESS_MAX_BODY_BYTES"),
        "rate_limit_per_minute": env.get("ASSESS_RATE_LIMIT_PER_MINUTE"),
        "auth_failures_per_minute": env.get("ASSESS_AUTH_FAILURES_PER_MINUTE"),
        "trusted_proxies": env.get("ASSESS_TRUSTED_PROXIES"),
        "db_pool_size": env.get("ASSESS_DB_POOL_SIZE"),
        "db_idle_seconds": env.get("ASSESS_DB_IDLE_SECONDS"),
        "db_connect_timeout": env.get("ASSESS_DB_CONNECT_TIMEOUT"),
        "webhook_allow_private": env.get("ASSESS_WEBHOOK_ALLOW_PRIVATE"),
        "webhook_retry_schedule": env.get("ASSESS_WEBHOOK_RETRY_SCHEDULE"),
        "kafka_bootstrap": env.get("ASSESS_KAFKA_BOOTSTRAP"),
        "kafka_topic": env.get("ASSESS_KAFKA_TOPIC"),
        "kafka_session_timeout_ms": env.get("ASSESS_KAFKA_SESSION_TIMEOUT_MS"),
        "smtp_url": env.get("ASSESS_SMTP_URL"),
        "outbox_dir": env.get("ASSESS_OUTBOX_DIR"),
        "mail_from": env.get("ASSESS_MAIL_FROM"),
        "heartbeat_file": env.get("ASSESS_HEARTBEAT_FILE"),
        "audit_checkpoint_events": env.get("ASSESS_AUDIT_CHECKPOINT_EVENTS"),
        "audit_checkpoint_seconds": env.get("ASSESS_AUDIT_CHECKPOINT_SECONDS"),
        "audit_key_file": env.get("ASSESS_AUDIT_KEY_FILE"),
        "credential_key_file": env.get("ASSESS_CREDENTIAL_KEY_FILE"),
        "issuer_name": env.get("ASSESS_ISSUER_NAME"),
        "tracing": env.get("ASSESS_TRACING"),
        # OpenTelemetry's own variables: the exporter reads them itself; here they only
        # tell whether there is somewhere to export to.
        "otlp_endpoint": env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        or env.get("OTEL_EXPORTER_OTLP_ENDPOINT"),
    }
    given = {name: value for name, value in fields.items() if value not in (None, "")}
    try:
        return msgspec.convert(given, Settings, strict=False, dec_hook=_paths)
    except msgspec.ValidationError as error:
        raise SystemExit(f"bad setting: {error}") from None
