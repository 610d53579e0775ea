"""Rate limits of the public endpoints: token buckets, client keys, and 429 problems at the edge."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from vaxlink.ratelimit import Rate, RateLimited, TokenBuckets
from vaxlink.ratelimit.web import client_key, rate_limited
from vaxlink.settings import Settings
from vaxlink.web.app import create_app


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_the_sustained_rate() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(Rate(per_minute=60, burst=3), clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(1.0)  # one token a second
    clock.now += 0.5
    assert buckets.take("a") == pytest.approx(0.5)  # a refused request spends nothing
    clock.now += 0.5
    assert buckets.take("a") == 0.0
    assert buckets.take("a") == pytest.approx(1.0)
    clock.now += 3600  # refills up to the burst, not beyond
    assert [buckets.take("a") for _ in range(4)][-1] == pytest.approx(1.0)


def test_clients_have_their_own_buckets() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(Rate(per_minute=6, burst=1), clock=clock)
    assert buckets.take("a") == 0.0
    assert buckets.take("a") == pytest.approx(10.0)
    assert buckets.take("b") == 0.0


def test_memory_is_bounded_by_forgetting_the_least_recently_seen() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(Rate(per_minute=1, burst=1), clock=clock, max_clients=3)
    for key in "abc":
        buckets.take(key)
    buckets.take("a")  # a is seen again: b is now the oldest
    buckets.take("d")
    assert len(buckets) == 3
    assert buckets.take("a") > 0  # still remembered, still limited
    assert buckets.take("b") == 0.0  # forgotten, so a fresh bucket


def test_limits_must_allow_something() -> None:
    with pytest.raises(ValueError, match="at least one"):
        TokenBuckets(Rate(per_minute=0, burst=1))
    with pytest.raises(ValueError, match="at least one"):
        TokenBuckets(Rate(per_minute=1, burst=0))
    with pytest.raises(ValueError, match="unknown rate-limit group"):
        rate_limited("no.such.group")


def _request(host: str | None) -> Request:
    scope: dict[str, Any] = {
        "type": "http",
        "client": (host, 1234) if host is not None else None,
        "headers": [],
    }
    return Request(scope)


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::9", "2001:db8:1:2::/64"),  # same subscriber network, same bucket
        ("::ffff:198.51.100.4", "198.51.100.4"),
        ("testclient", "testclient"),
        (None, "unknown"),
    ],
)
def test_client_keys(host: str | None, key: str) -> None:
    assert client_key(_request(host)) == key


def test_the_error_is_a_429_with_retry_after() -> None:
    error = RateLimited(7)
    assert (error.http_status, error.code, error.headers) == (
        429,
        "too_many_requests",
        {"Retry-After": "7"},
    )


@pytest.fixture
def app_settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        verify_rate_per_minute=2,
        verify_rate_burst=3,
        identity_rate_per_minute=1,
        identity_rate_burst=2,
    )


@pytest.fixture
def client(app_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings), client=("203.0.113.7", 50000)) as c:
        yield c


API = "/api/v1/certificates/verify"


def _assert_problem_429(response: Any, retry_after_max: int) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 429
    assert problem["code"] == "too_many_requests"
    assert problem["type"].endswith("/too_many_requests")
    assert 1 <= int(response.headers["retry-after"]) <= retry_after_max


def test_verify_api_answers_429_past_the_burst_per_address(app_settings: Settings) -> None:
    app = create_app(app_settings)
    with TestClient(app, client=("203.0.113.7", 50000)) as first:
        for _ in range(3):
            response = first.post(API, json={"hc1": "not a certificate"})
            assert response.status_code == 200
            assert response.json()["failure"]["code"] == "prefix_invalid"
        _assert_problem_429(first.post(API, json={"hc1": "not a certificate"}), 30)
        # refused before the body is read: even an oversized upload gets the 429, not a 413
        _assert_problem_429(first.post(API, content=b"x" * (9 << 20)), 30)
    with TestClient(app, client=("198.51.100.9", 50000)) as other:
        assert other.post(API, json={"hc1": "HC1:"}).status_code == 200


def test_verifier_page_shows_a_wait_notice_in_the_visitors_language(client: TestClient) -> None:
    for _ in range(3):
        assert client.post("/verify?lang=vi", data={"hc1": "hello"}).status_code == 200
    page = client.post("/verify?lang=vi", data={"hc1": "hello"})
    assert page.status_code == 429
    assert page.headers["content-type"].startswith("text/html")
    assert 1 <= int(page.headers["retry-after"]) <= 30
    assert page.headers["cache-control"] == "no-store"
    assert "Vui lòng thử lại sau" in page.text
    assert 'id="verdict"' not in page.text  # nothing was verified
    english = client.post("/verify?lang=en", data={"hc1": "hello"})
    assert english.status_code == 429
    assert "Please try again in" in english.text
    assert client.get("/verify").status_code == 200  # the empty form is not limited


def test_page_and_api_share_one_budget(client: TestClient) -> None:
    assert client.post("/verify", data={"hc1": "hello"}).status_code == 200
    assert client.post(API, json={"hc1": "hello"}).status_code == 200
    assert client.post(API, json={"hc1": "hello"}).status_code == 200
    assert client.post("/verify", data={"hc1": "hello"}).status_code == 429


def test_identity_verify_is_limited_per_address(client: TestClient) -> None:
    url = "/api/v1/identity/verify"
    for _ in range(2):  # the store is empty: invalid or not, these are not refused by the limit
        assert client.post(url, json={"full_name": ""}).status_code != 429
    _assert_problem_429(client.post(url, json={"full_name": "Nguyễn Văn An"}), 60)


def test_a_zero_rate_turns_a_limit_off(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, verify_rate_per_minute=0, verify_rate_burst=1)
    with TestClient(create_app(settings)) as c:
        assert all(c.post(API, json={"hc1": "x"}).status_code == 200 for _ in range(5))
