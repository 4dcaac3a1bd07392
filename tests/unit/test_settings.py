"""Settings read from ASSESS_* variables: every kind of value, and a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]

from entrypoints.settings import from_env


def test_every_kind_of_setting_is_read() -> None:
    settings = from_env(
        environ={
            "ASSESS_DATA_DIR": "/tmp/assess-data",
            "ASSESS_OUTBOX_DIR": "/tmp/assess-outbox",
            "ASSESS_HEARTBEAT_FILE": "/tmp/assess-heartbeat",
            "ASSESS_WEBHOOK_ALLOW_PRIVATE": "true",
            "ASSESS_QUESTIONS_PER_ATTEMPT": "5",
            "ASSESS_KAFKA_TOPIC": "events",
        }
    )
    assert settings.data_dir == Path("/tmp/assess-data")
    assert settings.outbox == Path("/tmp/assess-outbox")
    assert settings.heartbeat_file == Path("/tmp/assess-heartbeat")
    assert settings.webhook_allow_private is True
    assert (settings.questions_per_attempt, settings.kafka_topic) == (5, "events")
    assert settings.store_url == "sqlite:////tmp/assess-data/assess.sqlite3"


def test_defaults_and_the_data_option() -> None:
    settings = from_env(Path("elsewhere"), environ={})
    assert settings.store_url == "sqlite:///elsewhere/assess.sqlite3"
    assert settings.outbox == Path("elsewhere/outbox")
    assert (settings.questions_per_attempt, settings.kafka_topic) == (10, "assessment.events")


@pytest.mark.parametrize(
    ("variable", "value"),
    [("ASSESS_QUESTIONS_PER_ATTEMPT", "ten"), ("ASSESS_QUESTIONS_PER_ATTEMPT", "0")],
)
def test_a_bad_setting_names_itself(variable: str, value: str) -> None:
    with pytest.raises(SystemExit, match="questions_per_attempt"):
        from_env(environ={variable: value})


def test_failed_authentications_per_address_default_to_60_a_minute() -> None:
    assert from_env(environ={}).auth_failures_per_minute == 60
    given = from_env(environ={"ASSESS_AUTH_FAILURES_PER_MINUTE": "7"})
    assert given.auth_failures_per_minute == 7


def test_compose_gives_the_api_and_the_email_consumer_one_master_key() -> None:
    """Reviewer links are derived under the master key by the API and checked against it; the
    email consumer derives them again for the email. In compose's separate containers (no
    shared data dir, /app not writable) each would make its own key, and every emailed link
    would be refused: the key must come from the operator, the same for both."""
    compose = yaml.safe_load((Path(__file__).parents[2] / "compose.yaml").read_text())
    services = compose["services"]
    keys = {
        name: services[name]["environment"].get("ASSESS_MASTER_KEY") for name in ("api", "emails")
    }
    assert keys["api"] == keys["emails"]
    assert str(keys["api"]).startswith("${ASSESS_MASTER_KEY:?")  # required, never a default


@pytest.mark.parametrize(
    ("environ", "on"),
    [
        ({}, False),
        ({"ASSESS_TRACING": "true"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "ASSESS_TRACING": "0"}, False),
    ],
)
def test_tracing_is_off_unless_asked_for_or_given_an_endpoint(
    environ: dict[str, str], on: bool
) -> None:
    assert from_env(environ=environ).tracing_on is on


def test_a_bad_tracing_setting_names_itself() -> None:
    with pytest.raises(SystemExit, match="tracing"):
        from_env(environ={"ASSESS_TRACING": "maybe"})
