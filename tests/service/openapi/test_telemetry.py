"""Operators' view: JSON log lines with request id, route and principal and nothing personal;
the request id in every response and error body; latency histograms per route on /metrics."""

from __future__ import annotations

import io
import json

import pytest

from service import telemetry


@pytest.fixture
def log_lines(app):
    stream = io.StringIO()
    telemetry.configure_logging(stream=stream)

    def lines():
        return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]

    yield lines
    telemetry.configure_logging()


def test_every_response_carries_a_request_id_and_a_given_one_is_kept(client):
    answer = client.get("/healthz")
    assert len(answer.headers["X-Request-Id"]) >= 8
    assert client.get("/healthz").headers["X-Request-Id"] != answer.headers["X-Request-Id"]
    given = "till-7f3a9c1e-0001"
    assert client.get("/healthz", headers={"X-Request-Id": given}).headers["X-Request-Id"] == given
    # not an id (spaces, a line break, too short): replaced, so nothing odd reaches the logs
    for odd in ("a b c d e f g h", "x\u2028y-12345678", "short"):
        assert client.get("/healthz", headers={"X-Request-Id": odd}).headers["X-Request-Id"] != odd


def test_an_error_body_quotes_the_request_id(client):
    answer = client.get("/api/v1/members/1", headers={"X-Request-Id": "support-case-00042"})
    assert answer.status_code == 401
    assert answer.get_json()["error"]["request_id"] == "support-case-00042"
    assert client.get("/api/v1/no-such-thing").get_json()["error"]["request_id"]


def test_a_log_line_is_json_with_route_and_principal_and_nothing_personal(world, log_lines):
    community = world.community()
    shop = world.supermarket(community)
    cashier = world.staff("cashier", community=community, supermarket=shop)
    member = world.member(community, name="欧阳娜娜", phone="13912345678")
    answer = cashier.post(  # a POST: the phone stays out of the URL (issue #9 §3)
        f"/api/v1/supermarkets/{shop.id}/lookup", {"phone": "13912345678"}, headers={"X-Request-Id": "lookup-0000001"}
    )
    assert answer.status_code == 200, answer.get_json()
    line = next(entry for entry in log_lines() if entry.get("request_id") == "lookup-0000001")
    assert line["event"] == "request" and line["level"] == "info" and line["status"] == 200
    assert line["route"] == "/api/v1/supermarkets/<int:supermarket_id>/lookup"
    assert line["principal"] == f"staff:{cashier.id}" and line["role"] == "cashier"
    assert line["timestamp"].endswith("Z") and line["duration_ms"] >= 0
    text = json.dumps(log_lines(), ensure_ascii=False)
    for personal in ("13912345678", "欧阳娜娜", member.card_code):
        assert personal not in text


def test_standard_library_loggers_write_the_same_json_with_the_request_id(app, log_lines):
    import logging

    with app.test_request_context("/api/v1/anything", headers={"X-Request-Id": "inside-0000001"}):
        app.preprocess_request()
        logging.getLogger("service.example").warning("something to look at")
    entry = next(e for e in log_lines() if e["event"] == "something to look at")
    assert entry["request_id"] == "inside-0000001" and entry["level"] == "warning"
    assert entry["logger"] == "service.example"


def test_metrics_have_a_latency_histogram_per_route(world, client):
    community = world.community()
    admin = world.admin(community)
    member = world.member(community)
    assert admin.get(f"/api/v1/members/{member.id}/balance").status_code == 200
    metrics = client.get("/metrics").get_data(as_text=True)
    assert (
        'greencoin_http_request_seconds_bucket{le="0.25",method="GET",route="/api/v1/members/<int:member_id>/balance"}'
        in metrics
    )
    assert 'greencoin_http_requests_total{method="GET",route="/api/v1/members/<int:member_id>/balance",status="200"}' in metrics
