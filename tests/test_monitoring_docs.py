"""docs/monitoring: the sample Grafana dashboard and the Prometheus alert rules parse, and every metric
they name is one /metrics exports (so a renamed metric cannot leave a silent alert behind)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from conftest import app_env, make_app
from prometheus_client.parser import text_string_to_metric_families

from invite.adapters.metrics import exported_series

DOCS = Path(__file__).resolve().parents[1] / "docs" / "monitoring"
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: what is left once strings, label matchers, grouping
    clauses and ranges are taken out, and functions (a name followed by "(") are skipped."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", "{}", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\[[^\]]*\]", "[]", text)
    names = re.findall(r"(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", text)
    return {name for name in names if name.lower() not in _KEYWORDS}


def dashboard_exprs() -> list[str]:
    dashboard = json.loads((DOCS / "grafana-dashboard.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    for var in dashboard["templating"]["list"]:
        if var["type"] == "query":  # Grafana's label_values(<series>, <label>): the series is PromQL
            exprs.append(re.fullmatch(r"label_values\((.*),\s*\w+\)", var["query"])[1])
    assert dashboard["title"] and len(dashboard["panels"]) >= 6
    return exprs


def alert_rules() -> list[dict]:
    document = yaml.safe_load((DOCS / "alerts.yml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_dashboard_names_only_exported_metrics():
    exprs = dashboard_exprs()
    named = set().union(*(metric_names(e) for e in exprs))
    assert named and named <= exported_series(), named - exported_series()


def test_alert_rules_parse_and_name_only_exported_metrics():
    rules = alert_rules()
    assert {rule["alert"] for rule in rules} >= {"JunctionErrorRateHigh", "JunctionUnknownOutcomes",
                                                 "DashboardPagesSlow"}
    for rule in rules:
        assert rule["expr"].strip() and rule["annotations"]["summary"], rule
        assert rule["expr"].count("(") == rule["expr"].count(")"), rule["alert"]
        named = metric_names(rule["expr"])
        assert named and named <= exported_series(), (rule["alert"], named - exported_series())


def test_the_checker_catches_a_metric_the_app_does_not_export():
    assert metric_names('sum by (outcome) (rate(invite_junction_calls_total{outcome="unknown"}[5m]))') == {
        "invite_junction_calls_total"}
    assert not metric_names("rate(invite_junction_requests_total[5m])") <= exported_series()
    assert not metric_names("sum(rate(http_requests_total[5m]))") <= exported_series()


def test_an_alert_fires_when_the_dashboards_own_series_are_missing(sandbox, tmp_path):
    """A silent /metrics (or none scraped) must not pass for a quiet one: some alert is absent(...) of a
    series the app always exports once it is scraped."""
    absent = [rule for rule in alert_rules() if re.fullmatch(r"\s*absent\(.*\)\s*", rule["expr"])]
    assert absent, "no alert on the dashboard's series being absent"
    app = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'a.db'}"))
    try:
        client = app.test_client()
        client.get("/metrics")  # a fresh app, and the scraper's first visit
        text = client.get("/metrics").get_data(as_text=True)
    finally:
        app.extensions["upstream"].client.close()
    scraped = {(sample.name, frozenset(sample.labels.items())) for family in text_string_to_metric_families(text)
               for sample in family.samples}
    for rule in absent:
        selector = re.fullmatch(r"\s*absent\((\w+)(?:\{(.*)\})?\)\s*", rule["expr"])
        assert selector, rule["expr"]
        name, matchers = selector[1], dict(re.findall(r'(\w+)="([^"]*)"', selector[2] or ""))
        assert name in exported_series()
        # Present in a healthy app's second scrape, so the alert stays quiet until samples go missing.
        assert any(found == name and set(matchers.items()) <= labels for found, labels in scraped), rule["expr"]
