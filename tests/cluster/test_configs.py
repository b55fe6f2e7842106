"""The deployment files in cluster/ are valid for the Ray that runs them, and safe by default.

Nothing here starts Ray or talks to a cloud: the launcher YAMLs go through the same
``prepare_config`` + ``validate_config`` pair ``ray up`` runs (jsonschema against Ray's own
``ray/autoscaler/ray-schema.json``), and both Serve configs through ``ServeDeploySchema``, the
model ``serve deploy`` and KubeRay's ``serveConfigV2`` are parsed with.
"""

from __future__ import annotations

import copy
import json
import re
import shlex
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import ray.autoscaler
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config
from ray.serve.config import AutoscalingConfig
from ray.serve.schema import DeploymentSchema, ServeApplicationSchema, ServeDeploySchema

CLUSTER = Path(__file__).resolve().parents[2] / "cluster"
LAUNCHER_CONFIGS = ("config.yaml", "onprem.yaml")
SECRET_NAMES = re.compile(r"(URL|KEY|PASS|PASSWORD|SECRET|TOKEN)$")


def _load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((CLUSTER / name).read_text())
    assert isinstance(data, dict)
    return data


def _rayservice() -> dict[str, Any]:
    return _load("rayservice.yaml")


def _serve_config_v2() -> dict[str, Any]:
    data = yaml.safe_load(_rayservice()["spec"]["serveConfigV2"])
    assert isinstance(data, dict)
    return data


def _ray_start(commands: list[str], head: bool) -> str:
    """The one ``ray start`` command of a start-command list (``ray stop`` excluded)."""
    starts = [c for c in commands if re.search(r"\bray start\b", c)]
    assert len(starts) == 1, starts
    assert ("--head" in shlex.split(starts[0].replace(";", " ; "))) is head
    return starts[0]


# --- launcher configs -----------------------------------------------------------------------


@pytest.mark.parametrize("name", LAUNCHER_CONFIGS)
def test_given_launcher_yaml_then_it_matches_rays_cluster_schema_as_written(name: str) -> None:
    schema = json.loads((Path(ray.autoscaler.__file__).parent / "ray-schema.json").read_text())
    jsonschema.validate(_load(name), schema)


@pytest.mark.parametrize("name", LAUNCHER_CONFIGS)
def test_given_launcher_yaml_when_prepared_like_ray_up_then_validate_config_accepts_it(name: str) -> None:
    prepared = prepare_config(copy.deepcopy(_load(name)))
    validate_config(prepared)
    assert prepared["head_node_type"] in prepared["available_node_types"]


def test_given_aws_config_then_one_provider_with_bounded_head_and_worker_types() -> None:
    config = _load("config.yaml")
    assert config["provider"]["type"] == "aws"
    types = config["available_node_types"]
    head = config["head_node_type"]
    workers = [name for name in types if name != head]
    assert head in types and workers
    for name in workers:
        assert 0 <= types[name]["min_workers"] <= types[name]["max_workers"] <= config["max_workers"]
    assert "docker" in config and config["docker"]["image"].startswith("rayproject/ray:2.60.")


def test_given_onprem_config_then_it_lists_existing_machines() -> None:
    config = _load("onprem.yaml")
    assert config["provider"]["type"] == "local"
    assert config["provider"]["head_ip"] and config["provider"]["worker_ips"]


@pytest.mark.parametrize("name", LAUNCHER_CONFIGS)
def test_given_launcher_yaml_then_setup_installs_this_project(name: str) -> None:
    config = _load(name)
    assert config["file_mounts"]["~/agentcluster"] == "."
    assert any(re.search(r"pip install .*-e ~/agentcluster\b", c) for c in config["setup_commands"])


@pytest.mark.parametrize("name", LAUNCHER_CONFIGS)
def test_given_head_start_then_dashboard_binds_loopback_and_token_auth_is_on(name: str) -> None:
    config = _load(name)
    head = _ray_start(config["head_start_ray_commands"], head=True)
    assert "--dashboard-host=127.0.0.1" in head
    assert "export RAY_AUTH_MODE=token" in head
    assert "RAY_AUTH_TOKEN_PATH=" in head
    assert "0.0.0.0" not in json.dumps(config)
    assert "RAY_AUTH_MODE=disabled" not in json.dumps(config)


@pytest.mark.parametrize("name", LAUNCHER_CONFIGS)
def test_given_worker_start_then_it_joins_with_the_same_token(name: str) -> None:
    config = _load(name)
    worker = _ray_start(config["worker_start_ray_commands"], head=False)
    assert "--address=$RAY_HEAD_IP:6379" in worker
    assert "export RAY_AUTH_MODE=token" in worker
    head = _ray_start(config["head_start_ray_commands"], head=True)
    token_path = re.search(r"RAY_AUTH_TOKEN_PATH=(\S+)", head)
    assert token_path and token_path.group(0) in worker


@pytest.mark.parametrize("name", LAUNCHER_CONFIGS)
def test_given_head_start_then_the_application_is_started_after_ray(name: str) -> None:
    commands = _load(name)["head_start_ray_commands"]
    ray_index = next(i for i, c in enumerate(commands) if "ray start --head" in c)
    later = " ".join(commands[ray_index + 1 :])
    assert "agentcluster run --address auto" in later or "serve deploy cluster/serve_config.yaml" in later


@pytest.mark.parametrize("name", LAUNCHER_CONFIGS)
def test_given_launcher_yaml_then_no_secret_is_inline(name: str) -> None:
    text = (CLUSTER / name).read_text()
    assert not re.search(r"amqps?://[^$\s]*:[^$\s@]+@", text)
    assert "RAY_AUTH_TOKEN=" not in text


# --- Serve configs --------------------------------------------------------------------------


def _application(config: dict[str, Any]) -> dict[str, Any]:
    apps = config["applications"]
    assert [app["name"] for app in apps] == ["agentcluster"]
    app: dict[str, Any] = apps[0]
    return app


def _deployments(app: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["name"]: d for d in app["deployments"]}


SERVE_CONFIGS = {
    "serve_config.yaml": lambda: _load("serve_config.yaml"),
    "rayservice.yaml:serveConfigV2": _serve_config_v2,
}


@pytest.mark.parametrize("source", SERVE_CONFIGS)
def test_given_serve_config_then_serve_deploy_schema_accepts_it(source: str) -> None:
    config = SERVE_CONFIGS[source]()
    schema = ServeDeploySchema.model_validate(config)
    assert schema.applications[0].import_path == "cluster.app:app_builder"
    # The schema ignores unknown keys, so a misspelt option would silently do nothing: check names too.
    assert set(config) <= set(ServeDeploySchema.model_fields)
    for app in config["applications"]:
        assert set(app) <= set(ServeApplicationSchema.model_fields)
        for deployment in app["deployments"]:
            assert set(deployment) <= set(DeploymentSchema.model_fields), deployment["name"]


@pytest.mark.parametrize("source", SERVE_CONFIGS)
def test_given_serve_config_then_it_shapes_the_three_deployments(source: str) -> None:
    app = _application(SERVE_CONFIGS[source]())
    deployments = _deployments(app)
    assert set(deployments) == {"Ingress", "AgentPool", "Publisher"}
    assert deployments["Ingress"]["num_replicas"] == 1
    assert deployments["Publisher"]["num_replicas"] == 1
    pool = deployments["AgentPool"]
    AutoscalingConfig(**pool["autoscaling_config"])
    assert "num_replicas" not in pool
    for deployment in deployments.values():
        assert 0 < deployment["ray_actor_options"]["num_cpus"] < 1


@pytest.mark.parametrize("source", SERVE_CONFIGS)
def test_given_serve_config_then_pool_options_equal_the_settings_it_passes(source: str) -> None:
    """The ingress sizes its prefetch from the settings; the deployment must agree with them."""
    app = _application(SERVE_CONFIGS[source]())
    env = app["runtime_env"]["env_vars"]
    pool = _deployments(app)["AgentPool"]
    assert pool["autoscaling_config"]["min_replicas"] == int(env["POOL_MIN_REPLICAS"])
    assert pool["autoscaling_config"]["max_replicas"] == int(env["POOL_MAX_REPLICAS"])
    assert pool["max_ongoing_requests"] == int(env["CONCURRENT_TASKS"])
    assert pool["ray_actor_options"]["num_cpus"] == float(env["POOL_REPLICA_CPUS"])
    autoscaling = pool["autoscaling_config"]
    assert autoscaling["target_ongoing_requests"] == max(1.0, int(env["CONCURRENT_TASKS"]) * 0.8)


@pytest.mark.parametrize("source", SERVE_CONFIGS)
def _code_deployments(env: dict[str, str]) -> dict[str, Any]:
    """The deployments ``cluster.app.build_app`` makes from these env vars (nothing is started)."""
    from ray.serve import Application

    from cluster.app import build_app
    from cluster.settings import load_settings

    settings = load_settings(**{k.lower(): v for k, v in env.items() if not v.startswith("${")})
    found: dict[str, Any] = {}

    def walk(app: Application) -> None:
        deployment = app._bound_deployment
        found[deployment.name] = deployment
        for arg in deployment.init_args:
            if isinstance(arg, Application):
                walk(arg)

    walk(build_app(settings))
    return found


def code_dispatch(app: dict[str, Any]) -> str:
    """The DISPATCH a Serve config's application runs with (the settings' default when unset)."""
    from cluster.settings import Settings

    return str(app["runtime_env"]["env_vars"].get("DISPATCH", Settings.model_fields["dispatch"].default))


@pytest.mark.parametrize("source", SERVE_CONFIGS)
def test_given_serve_config_then_every_option_it_sets_equals_what_the_code_derives(source: str) -> None:
    """Options in a Serve config replace the code's: they must not quietly disagree with cluster/app.py."""
    app = _application(SERVE_CONFIGS[source]())
    code = _code_deployments(app["runtime_env"]["env_vars"])
    for name, options in _deployments(app).items():
        deployment = code[name]
        config = deployment._deployment_config
        for key, value in options.items():
            if key == "name":
                continue
            if key == "ray_actor_options":
                for option, wanted in value.items():
                    assert deployment.ray_actor_options[option] == wanted, (name, option)
            elif key == "autoscaling_config":
                for option, wanted in value.items():
                    actual = getattr(config.autoscaling_config, option)
                    if option == "policy":  # the code builds an AutoscalingPolicy, the file a mapping
                        actual = {"policy_function": actual.policy_function}
                    assert actual == wanted, (name, option)
                if name == "AgentPool" and code_dispatch(app) == "direct":
                    assert "policy" in value, "a config that replaces autoscaling_config must keep the pool's policy"
            else:
                assert getattr(config, key) == value, (name, key)


@pytest.mark.parametrize("source", SERVE_CONFIGS)
def test_given_serve_config_then_env_vars_are_strings_and_secrets_are_placeholders(source: str) -> None:
    env = _application(SERVE_CONFIGS[source]())["runtime_env"]["env_vars"]
    assert all(isinstance(value, str) for value in env.values())
    for name, value in env.items():
        if SECRET_NAMES.search(name):
            assert re.fullmatch(r"\$\{[A-Z_]+\}", value), f"{name} must be a ${{PLACEHOLDER}}, not a value"


def test_given_serve_config_then_no_http_proxy_and_no_route() -> None:
    config = _load("serve_config.yaml")
    assert config["proxy_location"] == "Disabled"
    assert "http_options" not in config
    assert _application(config)["route_prefix"] is None
    assert _application(_serve_config_v2())["route_prefix"] is None


def test_given_both_serve_configs_then_they_deploy_the_same_application() -> None:
    plain = _application(_load("serve_config.yaml"))
    kube = _application(_serve_config_v2())
    assert plain["import_path"] == kube["import_path"]
    assert set(_deployments(plain)) == set(_deployments(kube))
    plain_env = plain["runtime_env"]["env_vars"]
    kube_env = kube["runtime_env"]["env_vars"]
    # Same non-secret settings (pool bounds may differ per platform); the secrets only in the plain file.
    shared = {k for k in plain_env if not SECRET_NAMES.search(k) and k not in {"MODEL"}}
    assert shared - {"POOL_MIN_REPLICAS", "POOL_MAX_REPLICAS"} <= set(kube_env)


# --- KubeRay --------------------------------------------------------------------------------


def test_given_rayservice_then_token_auth_is_on_and_secrets_come_from_a_secret() -> None:
    doc = _rayservice()
    assert doc["apiVersion"] == "ray.io/v1" and doc["kind"] == "RayService"
    cluster = doc["spec"]["rayClusterConfig"]
    assert cluster["authOptions"]["mode"] == "token"
    assert cluster["rayVersion"].startswith("2.60.")
    pods = [cluster["headGroupSpec"]["template"]] + [group["template"] for group in cluster["workerGroupSpecs"]]
    for pod in pods:
        for container in pod["spec"]["containers"]:
            assert {"secretRef": {"name": "agentcluster-secrets"}} in container["envFrom"]
            for variable in container.get("env", []):
                assert not (SECRET_NAMES.search(variable["name"]) and "value" in variable), variable["name"]
    env = _application(_serve_config_v2())["runtime_env"]["env_vars"]
    assert not [name for name in env if SECRET_NAMES.search(name)]


def test_given_rayservice_then_worker_group_autoscales_within_bounds() -> None:
    cluster = _rayservice()["spec"]["rayClusterConfig"]
    assert cluster["enableInTreeAutoscaling"] is True
    for group in cluster["workerGroupSpecs"]:
        assert 0 <= group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]
