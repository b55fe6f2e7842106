"""The Grafana dashboard, the alert rules and the scrape config only name metrics that exist.

Names are read from :mod:`cluster.metrics` itself (built on a fresh registry) and turned into
what Prometheus exposes: counters as ``<name>_total``, histograms as ``<name>_bucket`` (with
``le``), ``_sum`` and ``_count``, gauges as they are. Every PromQL expression is tokenised and
each metric, label matcher and ``by (...)`` label is checked against that list, so renaming a
metric without updating the dashboards fails here instead of leaving an empty panel.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry
from prometheus_client.metrics import MetricWrapperBase

from cluster.metrics import BrokerMetrics, ClusterMetrics, WebhookMetrics

CLUSTER = Path(__file__).resolve().parents[2] / "cluster"

#: PromQL functions and aggregations the files may use; anything else followed by "(" is a typo.
FUNCTIONS = {
    "abs", "absent", "avg", "avg_over_time", "ceil", "clamp_max", "clamp_min", "count", "delta", "deriv",
    "histogram_quantile", "increase", "irate", "max", "max_over_time", "min", "min_over_time", "quantile",
    "rate", "round", "sort", "sort_desc", "sum", "sum_over_time", "topk", "bottomk", "vector", "time",
}  # fmt: skip
GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
OPERATORS = {"and", "or", "unless", "bool", "offset"}
#: Labels Prometheus adds to every series.
TARGET_LABELS = {"job", "instance"}

_TOKEN = re.compile(
    r"""(?P<string>"(?:[^"\\]|\\.)*")|(?P<matchers>\{[^}]*\})|(?P<range>\[[^\]]*\])|(?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)"""
    r"""|(?P<number>\d+(?:\.\d+)?(?:e[+-]?\d+)?)|(?P<other>\S)"""
)
_MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"\s*,?')


@dataclass(frozen=True)
class Family:
    """One metric as Prometheus exposes it: its series names and label names."""

    name: str
    series: frozenset[str]
    labels: frozenset[str]


def _families() -> dict[str, Family]:
    registry = CollectorRegistry()
    families: dict[str, Family] = {}
    for owner in (ClusterMetrics(registry), WebhookMetrics(registry), BrokerMetrics(registry)):
        for metric in vars(owner).values():
            if not isinstance(metric, MetricWrapperBase):
                continue
            name, kind = metric._name, metric._type
            labels = frozenset(metric._labelnames)
            if kind == "counter":
                series = {f"{name}_total"}
            elif kind == "histogram":
                series = {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
            else:
                series = {name}
            families[name] = Family(name, frozenset(series), labels)
    return families


FAMILIES = _families()
SERIES = {series: family for family in FAMILIES.values() for series in family.series}


@dataclass
class Parsed:
    """What one PromQL expression refers to."""

    metrics: list[tuple[str, set[str]]]
    grouping_labels: set[str]
    functions: set[str]


def parse_promql(expr: str) -> Parsed:
    """Tokenise ``expr`` into metric selectors (with matcher labels), grouping labels and functions."""
    tokens = [(m.lastgroup, m.group()) for m in _TOKEN.finditer(expr)]
    parsed = Parsed([], set(), set())
    index = 0
    while index < len(tokens):
        kind, text = tokens[index]
        following = tokens[index + 1] if index + 1 < len(tokens) else (None, "")
        if kind == "ident" and text in GROUPING:
            if following[1] == "(":
                index += 2
                while index < len(tokens) and tokens[index][1] != ")":
                    if tokens[index][0] == "ident":
                        parsed.grouping_labels.add(tokens[index][1])
                    index += 1
        elif kind == "ident" and (following[1] == "(" or following[1] in GROUPING):
            # A call, or an aggregation written ``sum by (...) (...)``.
            parsed.functions.add(text)
        elif kind == "ident" and text not in OPERATORS:
            labels: set[str] = set()
            if following[0] == "matchers":
                body = following[1][1:-1]
                labels = {m.group(1) for m in _MATCHER.finditer(body)}
                assert _MATCHER.sub("", body).strip() == "", f"unparsed matchers {body!r} in {expr!r}"
                index += 1
            parsed.metrics.append((text, labels))
        index += 1
    return parsed


def _dashboard() -> dict[str, Any]:
    data = json.loads((CLUSTER / "grafana-dashboard.json").read_text())
    assert isinstance(data, dict)
    return data


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def _dashboard_exprs() -> list[str]:
    return [t["expr"] for p in _panels(_dashboard()["panels"]) for t in p.get("targets", [])]


def _rules() -> list[dict[str, Any]]:
    data = yaml.safe_load((CLUSTER / "alerts.yml").read_text())
    return [rule for group in data["groups"] for rule in group["rules"]]


def _all_exprs() -> list[str]:
    return _dashboard_exprs() + [rule["expr"] for rule in _rules()]


def _check(expr: str) -> set[str]:
    parsed = parse_promql(expr)
    assert parsed.metrics, f"no metric in {expr!r}"
    assert parsed.functions <= FUNCTIONS, f"unknown function {parsed.functions - FUNCTIONS} in {expr!r}"
    available: set[str] = set(TARGET_LABELS)
    for series, matcher_labels in parsed.metrics:
        assert series in SERIES, f"{series!r} is not exposed by cluster/metrics.py (in {expr!r})"
        labels = SERIES[series].labels | TARGET_LABELS | ({"le"} if series.endswith("_bucket") else set())
        assert matcher_labels <= labels, f"{series} has no label {matcher_labels - labels} (in {expr!r})"
        available |= labels
    assert parsed.grouping_labels <= available, f"grouping by unknown {parsed.grouping_labels - available}: {expr!r}"
    return {SERIES[series].name for series, _ in parsed.metrics}


# --- the parser itself ----------------------------------------------------------------------


def test_given_promql_then_parser_separates_metrics_labels_and_functions() -> None:
    parsed = parse_promql(
        'histogram_quantile(0.95, sum by (le, task_type) (rate(agentcluster_processing_seconds_bucket{task_type!=""}'
        "[$__rate_interval]))) / clamp_min(sum(agentcluster_in_flight), 1)"
    )
    assert parsed.metrics == [
        ("agentcluster_processing_seconds_bucket", {"task_type"}),
        ("agentcluster_in_flight", set()),
    ]
    assert parsed.grouping_labels == {"le", "task_type"}
    assert parsed.functions == {"histogram_quantile", "sum", "rate", "clamp_min"}


def test_given_a_misnamed_metric_then_the_check_fails() -> None:
    with pytest.raises(AssertionError, match="not exposed"):
        _check("rate(agentcluster_messages_consumed[5m])")  # counters are exposed with _total
    with pytest.raises(AssertionError, match="no label"):
        _check('agentcluster_queue_depth{queue_name="ag_queue"}')


# --- dashboard ------------------------------------------------------------------------------


def test_given_dashboard_then_every_expression_names_existing_metrics_and_labels() -> None:
    exprs = _dashboard_exprs()
    assert len(exprs) >= 20
    for expr in exprs:
        _check(expr)


def test_given_dashboard_then_every_metric_of_cluster_metrics_is_shown() -> None:
    used = set().union(*(_check(expr) for expr in _dashboard_exprs()))
    assert used == set(FAMILIES), f"not on the dashboard: {set(FAMILIES) - used}"


def test_given_dashboard_then_percentiles_come_from_histogram_quantile() -> None:
    exprs = _dashboard_exprs()
    for metric in ("agentcluster_processing_seconds_bucket", "webhook_queue_latency_seconds_bucket"):
        quantiles = {
            re.search(r"histogram_quantile\((0\.\d+)", e).group(1)  # type: ignore[union-attr]
            for e in exprs
            if metric in e and "histogram_quantile" in e and "by (le)" in e
        }
        assert {"0.5", "0.95", "0.99"} <= quantiles, metric


def test_given_dashboard_then_grafana_structure_is_importable() -> None:
    dashboard = _dashboard()
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 30
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    panels = list(_panels(dashboard["panels"]))
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    for panel in panels:
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"])
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}"
            assert panel["targets"] and all(t["refId"] for t in panel["targets"])


# --- alerts ---------------------------------------------------------------------------------


def test_given_alert_rules_then_each_has_the_required_keys() -> None:
    rules = _rules()
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names))
    for rule in rules:
        assert {"alert", "expr", "for", "labels", "annotations"} <= set(rule), rule.get("alert")
        assert re.fullmatch(r"\d+[smh]", rule["for"])
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        _check(rule["expr"])


def test_given_alert_rules_then_the_specs_concerns_are_covered() -> None:
    exprs = {rule["alert"]: rule["expr"] for rule in _rules()}
    assert any("dlx_agent" in e and "agentcluster_queue_depth" in e for e in exprs.values())
    assert any('agentcluster_queue_consumers{queue="ag_queue"}' in e for e in exprs.values())
    assert any("histogram_quantile(0.95" in e and "agentcluster_processing_seconds_bucket" in e for e in exprs.values())
    assert any("agentcluster_breaker_open" in e for e in exprs.values())
    assert any("publish" in e for e in exprs.values())


def test_given_alerts_documented_then_operations_guide_names_each_alert() -> None:
    guide = (CLUSTER.parent / "docs" / "operations.md").read_text()
    for rule in _rules():
        assert rule["alert"] in guide, f"docs/operations.md does not explain {rule['alert']}"


# --- scrape config --------------------------------------------------------------------------


def test_given_prometheus_config_then_it_scrapes_cluster_ray_and_webhook() -> None:
    config = yaml.safe_load((CLUSTER / "prometheus.yml").read_text())
    assert "alerts.yml" in config["rule_files"]
    assert all((CLUSTER / path).is_file() for path in config["rule_files"])
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    discovery = "/tmp/ray/prom_metrics_service_discovery.json"
    for name in ("agentcluster", "ray"):
        assert jobs[name]["file_sd_configs"][0]["files"] == [discovery]
    relabels = jobs["agentcluster"]["relabel_configs"]
    assert any(r.get("target_label") == "__address__" and r["replacement"].endswith(":9464") for r in relabels)
    assert any(r.get("target_label") == "job" and r["replacement"] == "agentcluster" for r in relabels)
    webhook_targets = [t for c in jobs["agentcluster-webhook"]["static_configs"] for t in c["targets"]]
    assert webhook_targets and all(t.endswith(":9465") for t in webhook_targets)


def test_given_relabel_regex_then_it_rewrites_ray_targets_to_the_app_port() -> None:
    config = yaml.safe_load((CLUSTER / "prometheus.yml").read_text())
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "agentcluster")
    rule = next(r for r in job["relabel_configs"] if r.get("target_label") == "__address__")
    pattern = re.compile(f"^(?:{rule['regex']})$")  # Prometheus anchors relabel regexes
    replacement = rule["replacement"].replace("${1}", r"\1")
    assert pattern.sub(replacement, "10.0.1.7:8080") == "10.0.1.7:9464"
    assert pattern.sub(replacement, "[fd00::7]:44217") == "[fd00::7]:9464"
