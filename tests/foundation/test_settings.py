"""Settings: every spec variable maps to a field, bad values stop start-up naming the variable, secrets stay secret."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from cluster.settings import Settings, load_settings
from contracts.errors import ConfigError

SECRET = "s3cr3t-Pa55-Zq9"
AGENTCLUSTER = Path(sys.executable).with_name("agentcluster")

#: The spec's Python .env, verbatim, with the Node.js side's RABBITMQ_VHOST the design adds.
SPEC_ENV = {
    "RABBITMQ_HOST": "localhost",
    "RABBITMQ_PORT": "5672",
    "RABBITMQ_USER": "admin",
    "RABBITMQ_PASS": "wasp_rabbit_2024",
    "AGENT_QUEUE": "ag_queue",
    "WEBHOOK_QUEUE": "wb_queue",
    "MAX_PROCESSING_TIME": "300",
    "CONCURRENT_TASKS": "5",
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No inherited setting and no .env file: each test sets exactly what it means."""
    for name in list(os.environ):
        if name.upper() in {field.upper() for field in Settings.model_fields}:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def config_error(**env: str) -> str:
    mp = pytest.MonkeyPatch()
    try:
        for name, value in env.items():
            mp.setenv(name, value)
        with pytest.raises(ConfigError) as caught:
            load_settings()
    finally:
        mp.undo()
    text = str(caught.value)
    assert "\n" not in text
    return text


def test_given_the_spec_env_when_loaded_then_every_variable_maps_to_a_field(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SPEC_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("RABBITMQ_VHOST", "/agents")
    settings = load_settings()
    assert settings.rabbitmq_host == "localhost"
    assert settings.rabbitmq_port == 5672
    assert settings.rabbitmq_user == "admin"
    assert settings.rabbitmq_pass is not None and settings.rabbitmq_pass.get_secret_value() == "wasp_rabbit_2024"
    assert settings.rabbitmq_vhost == "/agents"
    assert settings.agent_queue == "ag_queue"
    assert settings.webhook_queue == "wb_queue"
    assert settings.max_processing_time == 300.0
    assert settings.concurrent_tasks == 5
    assert settings.amqp_url() == "amqp://admin:wasp_rabbit_2024@localhost:5672/%2Fagents?heartbeat=30"


def test_given_no_env_when_loaded_then_the_defaults_match_the_spec_and_design() -> None:
    settings = load_settings()
    topology = settings.topology()
    assert (settings.agent_queue, settings.webhook_queue) == ("ag_queue", "wb_queue")
    assert (settings.dlx_agent, settings.dlx_webhook) == ("dlx_agent", "dlx_webhook")
    assert (topology.agent_ttl_ms, topology.webhook_ttl_ms) == (300_000, 60_000)
    assert topology.agent_retry_delays == (30.0, 60.0, 120.0)
    assert settings.max_processing_time == 300.0
    assert settings.max_body_bytes == 256 * 1024
    assert settings.amqp_url() == "amqp://guest:guest@localhost:5672/%2F?heartbeat=30"


def test_given_a_dotenv_file_when_loaded_then_its_values_are_used(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("AGENT_QUEUE=from_dotenv\nCONCURRENT_TASKS=7\n")
    settings = load_settings()
    assert (settings.agent_queue, settings.concurrent_tasks) == ("from_dotenv", 7)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"RABBITMQ_PORT": "abc"}, "RABBITMQ_PORT"),
        ({"RABBITMQ_PORT": "70000"}, "RABBITMQ_PORT"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
        ({"MODEL": ""}, "MODEL"),
        ({"CONCURRENT_TASKS": "0"}, "CONCURRENT_TASKS"),
        ({"MAX_PROCESSING_TIME": "-1"}, "MAX_PROCESSING_TIME"),
        ({"AGENT_QUEUE": ""}, "AGENT_QUEUE"),
        ({"MAX_BODY_BYTES": "10"}, "MAX_BODY_BYTES"),
        ({"RETRY_BACKOFF": "0.5"}, "RETRY_BACKOFF"),
        ({"POOL_MIN_REPLICAS": "5", "POOL_MAX_REPLICAS": "2"}, "POOL_MIN_REPLICAS"),
        ({"POOL_MIN_REPLICAS": "0"}, "POOL_MIN_REPLICAS"),
        ({"DISPATCH": "ray"}, "DISPATCH"),
        ({"DISPATCH_PORT": "70000"}, "DISPATCH_PORT"),
        ({"RABBITMQ_URL": "http://guest:guest@localhost/"}, "RABBITMQ_URL"),
        ({"RABBITMQ_CA_FILE": "/nonexistent/ca.pem"}, "RABBITMQ_CA_FILE"),
    ],
)
def test_given_an_invalid_value_when_loaded_then_one_line_names_the_variable(
    env: dict[str, str], variable: str
) -> None:
    text = config_error(**env)
    assert text.startswith(f"invalid setting {variable}:"), text


def test_given_a_lowercase_log_level_when_loaded_then_it_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "debug")
    assert load_settings().log_level == "DEBUG"


def test_given_a_remote_host_without_password_when_loaded_then_it_refuses_the_guest_default() -> None:
    text = config_error(RABBITMQ_HOST="rabbit.example.com")
    assert "RABBITMQ_PASS" in text


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "::1"])
def test_given_a_local_host_without_password_when_loaded_then_guest_is_the_default(
    monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    monkeypatch.setenv("RABBITMQ_HOST", host)
    assert ":guest@" in load_settings().amqp_url()


def test_given_a_remote_host_with_password_when_loaded_then_it_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RABBITMQ_HOST", "rabbit.example.com")
    monkeypatch.setenv("RABBITMQ_PASS", SECRET)
    assert load_settings().amqp_url().startswith(f"amqp://guest:{SECRET}@rabbit.example.com:5672/")


def test_given_a_password_when_the_settings_are_shown_then_it_never_appears(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RABBITMQ_HOST", "rabbit.example.com")
    monkeypatch.setenv("RABBITMQ_PASS", SECRET)
    settings = load_settings()
    for shown in (repr(settings), str(settings), settings.amqp_url_safe(), str(settings.model_dump())):
        assert SECRET not in shown
    assert settings.amqp_url_safe() == "amqp://guest:***@rabbit.example.com:5672/%2F"


def test_given_a_secret_url_when_the_settings_are_shown_then_the_password_never_appears(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RABBITMQ_URL", f"amqps://agent:{SECRET}@mq.example.com:5671/prod")
    settings = load_settings()
    for shown in (repr(settings), str(settings), settings.amqp_url_safe()):
        assert SECRET not in shown
    assert settings.amqp_url_safe() == "amqps://agent:***@mq.example.com:5671/prod"


@pytest.mark.parametrize(
    "env",
    [
        {"RABBITMQ_PORT": "abc"},
        {"LOG_LEVEL": "LOUD"},
        {"RABBITMQ_URL": f"http://agent:{SECRET}@mq.example.com/"},
        {"RABBITMQ_URL": f"amqp://agent:{SECRET}@mq.example.com/", "RABBITMQ_CA_FILE": "/nonexistent.pem"},
    ],
)
def test_given_a_secret_password_and_a_bad_setting_when_loading_fails_then_the_error_hides_the_password(
    env: dict[str, str],
) -> None:
    assert SECRET not in config_error(RABBITMQ_PASS=SECRET, **env)


def test_given_a_secret_password_and_a_bad_setting_when_the_cli_runs_then_stderr_is_one_line_without_it(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if k.upper() not in {f.upper() for f in Settings.model_fields}}
    env.update(RABBITMQ_PASS=SECRET, RABBITMQ_HOST="rabbit.example.com", RABBITMQ_PORT="abc")
    done = subprocess.run(
        [str(AGENTCLUSTER), "topology", "verify"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "RABBITMQ_PORT" in done.stderr
    assert SECRET not in done.stdout + done.stderr


def test_given_a_secret_password_and_an_unreachable_broker_when_the_cli_runs_then_the_error_hides_it(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if k.upper() not in {f.upper() for f in Settings.model_fields}}
    env.update(RABBITMQ_PASS=SECRET, RABBITMQ_HOST="127.0.0.1", RABBITMQ_PORT="1")
    done = subprocess.run(
        [str(AGENTCLUSTER), "topology", "verify"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "cannot reach RabbitMQ at amqp://guest:***@127.0.0.1:1/" in done.stderr
    assert SECRET not in done.stdout + done.stderr


def test_given_a_rabbitmq_url_when_loaded_then_it_overrides_host_port_user_and_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RABBITMQ_HOST", "ignored.example.com")
    monkeypatch.setenv("RABBITMQ_PORT", "1234")
    monkeypatch.setenv("RABBITMQ_URL", f"amqp://agent:{SECRET}@mq.example.com:5673/vh")
    settings = load_settings()
    assert settings.amqp_url() == f"amqp://agent:{SECRET}@mq.example.com:5673/vh"
    assert settings.ssl_context() is None


def test_given_a_remote_rabbitmq_url_without_rabbitmq_pass_when_loaded_then_it_is_accepted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RABBITMQ_HOST", "rabbit.example.com")
    monkeypatch.setenv("RABBITMQ_URL", "amqp://agent:pw@rabbit.example.com/")
    assert load_settings().amqp_url() == "amqp://agent:pw@rabbit.example.com/"


def ca_bundle(tmp_path: Path) -> Path:
    system = Path(ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt")
    if not system.is_file():
        pytest.skip("no system CA bundle to use as a CA file")
    target = tmp_path / "ca.pem"
    shutil.copyfile(system, target)
    return target


def test_given_amqps_url_and_a_ca_file_when_loaded_then_an_ssl_context_trusts_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ca = ca_bundle(tmp_path)
    monkeypatch.setenv("RABBITMQ_URL", "amqps://agent:pw@mq.example.com:5671/")
    monkeypatch.setenv("RABBITMQ_CA_FILE", str(ca))
    context = load_settings().ssl_context()
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0


def test_given_tls_flag_and_a_ca_file_when_loaded_then_the_url_is_amqps_with_an_ssl_context(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RABBITMQ_TLS", "true")
    monkeypatch.setenv("RABBITMQ_PORT", "5671")
    monkeypatch.setenv("RABBITMQ_CA_FILE", str(ca_bundle(tmp_path)))
    settings = load_settings()
    assert settings.amqp_url().startswith("amqps://guest:guest@localhost:5671/")
    assert isinstance(settings.ssl_context(), ssl.SSLContext)


def test_given_retry_settings_when_building_the_topology_then_the_ladder_follows_delay_and_backoff() -> None:
    settings = load_settings(retry_delay=0.2, retry_backoff=2.0, max_retries=3, max_body_bytes=4096, max_history=7)
    assert settings.topology().agent_retry_delays == (0.2, 0.4, 0.8)
    assert [q.name for q in settings.topology().retry_queues][:3] == [
        "ag_queue.retry.200ms",
        "ag_queue.retry.400ms",
        "ag_queue.retry.800ms",
    ]
    limits = settings.decode_limits()
    assert (limits.max_body_bytes, limits.max_history) == (4096, 7)


def test_given_settings_when_assigning_then_the_frozen_object_refuses() -> None:
    settings = load_settings()
    with pytest.raises(Exception, match="frozen"):
        settings.agent_queue = "other"  # type: ignore[misc]


def test_given_serve_dispatch_when_min_replicas_is_zero_then_it_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPATCH", "serve")
    monkeypatch.setenv("POOL_MIN_REPLICAS", "0")
    assert load_settings().pool_min_replicas == 0
