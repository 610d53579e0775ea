"""Issue #13, point 1: hostile HC1 texts against the verifier's three doors (JSON API, `/verify`
page, `vaxlink certificates verify`). Each answer is a typed refusal: no 500, no traceback, under a
second, under 100 MB of Python allocations, and nothing of an unsigned message's claims in it.

The attacks are built here (`hc1_attacks`): CBOR shared references (tags 28/29) that expand
exponentially, bignums past Python's 4,300-digit str limit, iat/exp outside what a `datetime`
holds in a correctly signed message, a zlib bomb, an over-long Base45 text.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.security import hc1_attacks as attack
from vaxlink.certificates.cli.app import app as certificates_cli
from vaxlink.certificates.core import hc1, shc
from vaxlink.certificates.core.issue import issue
from vaxlink.certificates.core.payload import vaccination_payload
from vaxlink.certificates.core.uvci import uvci_from_seed
from vaxlink.certificates.keys import hierarchy
from vaxlink.certificates.keys.hierarchy import KeyPair
from vaxlink.certificates.keys.store import KeyStore, Role
from vaxlink.certificates.web.deps import clock
from vaxlink.db import make_engine, upgrade
from vaxlink.settings import Settings
from vaxlink.web.app import create_app

CLOCK = datetime(2022, 1, 1, tzinfo=UTC)
CLOCK_TEXT = CLOCK.isoformat()
PKI_START = datetime(2021, 1, 1, tzinfo=UTC)
MAX_SECONDS = 1.0
MAX_BYTES = 100 * 2**20
#: Codes an answer to hostile input may carry: each a refusal of the input, none a fault.
REFUSALS = {
    "prefix_invalid", "base45_invalid", "decompression_failed", "truncated", "payload_too_large",
    "input_too_large", "cbor_invalid", "cose_malformed", "claims_invalid", "unknown_kid",
    "signature_invalid", "unsupported_algorithm", "numeric_invalid", "jws_malformed",
}  # fmt: skip


@dataclass(frozen=True)
class Pki:
    dsc: KeyPair
    keys: Path  # a key directory with the DSC published
    pem: Path  # the DSC certificate, for the CLI's --trust


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    root = tmp_path_factory.mktemp("verifier-pki")
    csca = hierarchy.create_csca(
        country="VN", organization="Bộ Y tế", now=PKI_START, validity_days=30 * 365
    )
    # valid until well after the real clock: the app's trust source lists unexpired DSCs only
    dsc = hierarchy.create_dsc(csca, now=PKI_START, common_name="DSC", validity_days=20 * 365)
    (root / "data").mkdir()
    store = KeyStore(root / "data" / "keys")
    store.save_certificate(Role.DSC, dsc.certificate)
    pem = root / "dsc.pem"
    pem.write_bytes(dsc.certificate.public_bytes(Encoding.PEM))
    return Pki(dsc, root / "data", pem)


@pytest.fixture(scope="module")
def client(pki: Pki) -> Iterator[TestClient]:
    url = f"sqlite:///{pki.keys / 'store.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    settings = Settings(data_dir=pki.keys, database_url=url, verify_rate_burst=10_000)
    web = create_app(settings)
    web.dependency_overrides[clock] = lambda: CLOCK
    with TestClient(web, raise_server_exceptions=False) as test_client:
        # warm up (trust list read, templates compiled), so the timings are of the attacks only
        test_client.post("/api/v1/certificates/verify", json={"hc1": "HC1:"})
        test_client.post("/verify", data={"hc1": "HC1:"})
        CliRunner().invoke(certificates_cli, ["verify", "HC1:", "--trust", str(pki.pem)])
        yield test_client


@dataclass(frozen=True)
class Cost:
    seconds: float
    peak_bytes: int


def _measured(call: Callable[[], Any]) -> tuple[Any, Cost]:
    """`call()`, its wall time and the peak of the Python allocations it made (every thread)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start = time.perf_counter()
        value = call()
        seconds = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return value, Cost(seconds, peak)


def _bounded(cost: Cost) -> None:
    assert cost.seconds < MAX_SECONDS, f"took {cost.seconds:.2f} s"
    assert cost.peak_bytes < MAX_BYTES, f"allocated {cost.peak_bytes / 2**20:.0f} MB"


def _api(client: TestClient, text: str) -> dict[str, Any]:
    response, cost = _measured(
        lambda: client.post("/api/v1/certificates/verify", json={"hc1": text})
    )
    _bounded(cost)
    assert response.status_code == 200, response.text[:300]
    assert len(response.content) < 4096
    assert attack.MARKER not in response.text
    result: dict[str, Any] = response.json()
    assert result["valid"] is False
    assert result["failure"]["code"] in REFUSALS
    return result


def _page(client: TestClient, text: str) -> str:
    response, cost = _measured(lambda: client.post("/verify?lang=en", data={"hc1": text}))
    _bounded(cost)
    assert response.status_code == 200, response.text[:300]
    assert len(response.content) < 16 * 1024
    assert "NOT VALID" in response.text
    assert attack.MARKER not in response.text
    assert 'id="fields"' not in response.text
    return response.text


def _cli(pki: Pki, text: str) -> str:
    runner = CliRunner()
    result, cost = _measured(
        lambda: runner.invoke(
            certificates_cli, ["verify", text, "--trust", str(pki.pem), "--clock", CLOCK_TEXT]
        )
    )
    _bounded(cost)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code == 1, result.output[-500:]
    assert "NOT VALID" in result.output
    assert "Traceback" not in result.output
    assert attack.MARKER not in result.output
    return result.output


def _everywhere(client: TestClient, pki: Pki, text: str) -> dict[str, Any]:
    result = _api(client, text)
    page = _page(client, text)
    assert result["failure"]["code"] in page
    cli = _cli(pki, text)
    assert result["failure"]["code"] in cli
    return result


def _unsigned_and_random_kid(payload: bytes) -> list[str]:
    """The same claims with no kid and no signature, and with a random kid and signature."""
    bare = hc1.encode(cbor2.dumps(cbor2.CBORTag(18, [b"", {}, payload, b""])))
    return [bare, attack.unsigned(payload)]


# --- the set-up works: a real certificate is valid at all three doors ------------------------


def test_a_signed_certificate_is_valid_at_every_door(client: TestClient, pki: Pki) -> None:
    payload = vaccination_payload(
        family_name="Trần", given_name="Thị Bích", date_of_birth="1975-11",
        product="EU/1/21/1529", manufacturer="ORG-100001699", prophylaxis="29061000087103",
        dose_number=1, total_doses=2, vaccination_date="2021-08-20",
        uvci=uvci_from_seed("dos"), issuer="Ministry of Health",
    )  # fmt: skip
    issued = issue(payload, pki.dsc, issuer="VN", issued_at=CLOCK - timedelta(days=30))
    result = client.post("/api/v1/certificates/verify", json={"hc1": issued.hc1}).json()
    assert (result["valid"], result["payload"]) == (True, payload)
    assert "VALID" in client.post("/verify?lang=en", data={"hc1": issued.hc1}).text
    cli = CliRunner().invoke(
        certificates_cli, ["verify", issued.hc1, "--trust", str(pki.pem), "--clock", CLOCK_TEXT]
    )
    assert cli.exit_code == 0, cli.output


# --- (a) shared references (tags 28/29) --------------------------------------------------------


@pytest.mark.parametrize(
    "bomb",
    [
        pytest.param(lambda: attack.shared_reference_bomb(16), id="nested"),
        pytest.param(lambda: attack.flat_shared_reference_bomb(18), id="flat"),
    ],
)
def test_shared_reference_bomb_unsigned(
    client: TestClient, pki: Pki, bomb: Callable[[], bytes]
) -> None:
    payload = bomb()
    assert len(payload) < 512  # a few hundred bytes …
    for text in _unsigned_and_random_kid(payload):
        result = _everywhere(client, pki, text)  # … refused for its kid, never decoded
        assert result["failure"]["code"] == "unknown_kid"
        assert (result["payload"], result["fields"], result["issued_at"]) == (None, [], None)


def test_shared_reference_bomb_signed_is_refused_by_the_decoder(
    client: TestClient, pki: Pki
) -> None:
    """A trusted signer's message is decoded, and the decoder refuses references outright."""
    for payload in (attack.shared_reference_bomb(30), attack.flat_shared_reference_bomb(60)):
        result = _everywhere(client, pki, attack.signed(payload, pki.dsc))
        assert (result["failure"]["code"], result["failed_step"]) == ("cbor_invalid", "claims")
        assert "tag 28" in result["failure"]["message"]
        assert result["authentic"] is True
        assert result["payload"] is None


# --- (b) bignums past 4,300 digits ---------------------------------------------------------------


@pytest.mark.parametrize("claims", [attack.bignum, attack.bignum_iat], ids=["dose", "iat"])
def test_bignum_unsigned(client: TestClient, pki: Pki, claims: Callable[[], bytes]) -> None:
    for text in _unsigned_and_random_kid(claims()):
        assert _everywhere(client, pki, text)["failure"]["code"] == "unknown_kid"


@pytest.mark.parametrize("claims", [attack.bignum, attack.bignum_iat], ids=["dose", "iat"])
def test_bignum_signed(client: TestClient, pki: Pki, claims: Callable[[], bytes]) -> None:
    result = _everywhere(client, pki, attack.signed(claims(), pki.dsc))
    assert (result["failure"]["code"], result["failed_step"]) == ("cbor_invalid", "claims")


# --- (c) iat/exp outside what a datetime holds, correctly signed -------------------------------


@pytest.mark.parametrize(
    ("iat", "exp"),
    [
        (10**18, 10**18 + 1),
        (-(10**18), 1_700_000_000),
        (1_600_000_000, 253_402_300_800),  # one second past 9999-12-31T23:59:59Z
        (2**64, 2**64),  # a bignum (tag 2) just past 64 bits
        (10**4400, 1_700_000_000),  # a bignum past the str limit
        (1e300, 1_700_000_000),
        (float("nan"), float("inf")),
        ("2021-09-02", 1_700_000_000),
    ],
    ids=["1e18", "-1e18", "year-10000", "2**64", "10**4400", "1e300", "nan", "text"],
)
def test_times_out_of_range_in_a_signed_message(
    client: TestClient, pki: Pki, iat: Any, exp: Any
) -> None:
    text = attack.signed(attack.claims(attack._dcc(), iat=iat, exp=exp), pki.dsc)
    result = _everywhere(client, pki, text)
    assert result["failed_step"] == "claims"  # after the signature held
    assert result["failure"]["code"] in {"claims_invalid", "cbor_invalid"}
    assert result["authentic"] is True


# --- (d) zlib bomb, (e) over-long Base45 --------------------------------------------------------


def test_zlib_bomb(client: TestClient, pki: Pki) -> None:
    text = attack.zlib_bomb(4 * 2**20)  # 4 MiB of zeros in under 8,192 characters
    assert len(text) <= hc1.MAX_TEXT_LENGTH
    assert _everywhere(client, pki, text)["failure"]["code"] == "payload_too_large"


def test_huge_base45(client: TestClient, pki: Pki) -> None:
    text = attack.huge_base45(512 * 1024)  # 64 times what a QR code holds
    response, cost = _measured(
        lambda: client.post("/api/v1/certificates/verify", json={"hc1": text})
    )
    _bounded(cost)
    assert response.status_code == 413  # the JSON body limit, a typed problem
    assert response.headers["content-type"] == "application/problem+json"
    assert "input_too_large" in _page(client, text)
    assert "input_too_large" in _cli(pki, text)
    huge = attack.huge_base45(4 * 2**20)  # past the form parser's field limit too
    response, cost = _measured(lambda: client.post("/verify", data={"hc1": huge}))
    _bounded(cost)
    assert response.status_code == 400


# --- other shapes of the same idea --------------------------------------------------------------


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param(lambda: attack.deep_nesting(2_000), id="nesting"),
        pytest.param(attack.huge_declared_length, id="declared-4GiB-string"),
    ],
)
def test_other_hostile_claims(client: TestClient, pki: Pki, claims: Callable[[], bytes]) -> None:
    for text in [*_unsigned_and_random_kid(claims()), attack.signed(claims(), pki.dsc)]:
        _everywhere(client, pki, text)


def test_a_long_text_that_is_no_file_name_is_verified_as_text(client: TestClient, pki: Pki) -> None:
    """A text longer than a file name may be (a bare JWS, garbage) was an OSError traceback."""
    assert "prefix_invalid" in _cli(pki, "eyJ" + "A" * 5000)


def test_markup_in_the_text_is_printed_not_interpreted(client: TestClient, pki: Pki) -> None:
    assert "[/b]" in _cli(pki, "[/b]HC1")  # rich markup in a message was a traceback


def test_cli_refuses_an_oversized_file(client: TestClient, pki: Pki, tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    with big.open("wb") as handle:
        handle.truncate(64 * 2**20)  # sparse: 64 MiB of zeros, no disk used
    result, cost = _measured(
        lambda: CliRunner().invoke(certificates_cli, ["verify", str(big), "--trust", str(pki.pem)])
    )
    _bounded(cost)
    assert "larger than" in str(result.exception)


# --- the two further forms: WHO DDCC:VS and SMART Health Cards -----------------------------------


def _card_kid(pki: Pki) -> str:
    return str(shc.public_jwk(pki.dsc.certificate.public_key())["kid"])


def test_ddcc_shared_reference_bomb(client: TestClient, pki: Pki) -> None:
    payload = attack.ddcc_shared_reference_bomb(30)
    for text in _unsigned_and_random_kid(payload):
        assert _everywhere(client, pki, text)["failure"]["code"] == "unknown_kid"
    result = _everywhere(client, pki, attack.signed(payload, pki.dsc))
    assert (result["failure"]["code"], result["failed_step"]) == ("cbor_invalid", "claims")


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        pytest.param(lambda: attack.deflated(b" " * (2 * 2**20)), "payload_too_large",
                     id="deflate-bomb-2MiB"),
        pytest.param(lambda: attack.deflated(b"[" * 30_000 + b"]" * 30_000), "claims_invalid",
                     id="nesting"),
        pytest.param(lambda: attack.deflated(b'"' + b'\\"' * 30_000), "claims_invalid",
                     id="escapes"),
        pytest.param(lambda: attack.deflated(attack.card_bignum_nbf()), "claims_invalid",
                     id="bignum-nbf"),
        pytest.param(lambda: attack.deflated(attack.card_claims(nbf=1e300)), "claims_invalid",
                     id="1e300-nbf"),
        pytest.param(lambda: attack.deflated(attack.card_claims(vc={"rid": "x" * 5000})),
                     "claims_invalid", id="rid"),
        pytest.param(lambda: attack.deflated(b'{"a": NaN}'), "claims_invalid", id="nan"),
        pytest.param(lambda: b"\x00" * 1000, "decompression_failed", id="not-deflate"),
    ],
)  # fmt: skip
def test_hostile_health_cards(
    client: TestClient, pki: Pki, payload: Callable[[], bytes], code: str
) -> None:
    """Unsigned (a random signature under the trusted kid, or another kid): refused before the
    payload is read; signed by the trusted DSC: refused by the bounded decoders."""
    data = payload()
    header = attack.jws_header(_card_kid(pki))
    for text in (attack.card(header, data, None),
                 attack.card(attack.jws_header("A" * 43), data, None)):  # fmt: skip
        result = _everywhere(client, pki, text)
        assert result["failure"]["code"] in ("signature_invalid", "unknown_kid")
        assert (result["payload"], result["fields"], result["issued_at"]) == (None, [], None)
    result = _everywhere(client, pki, attack.card(header, data, pki.dsc))
    assert result["failure"]["code"] == code
    assert result["authentic"] is True
    assert result["payload"] is None


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(lambda kid: "shc:/" + "56" * 4200, id="oversized-digits"),
        pytest.param(lambda kid: "shc:/" + "9" * 4000, id="digits-past-77"),
        pytest.param(lambda kid: "shc:/" + "5" * 4001, id="odd-digits"),
        pytest.param(lambda kid: "shc:/1/2/" + "56" * 100, id="chunked"),
        pytest.param(lambda kid: attack.card(attack.jws_header(kid, "none"), b"x", None),
                     id="alg-none"),
        pytest.param(lambda kid: attack.card(attack.jws_header(kid, "HS256"), b"x", None),
                     id="alg-hs256"),
        pytest.param(lambda kid: attack.card("e" * 600, b"x", None), id="long-header"),
    ],
)  # fmt: skip
def test_malformed_health_card_texts(
    client: TestClient, pki: Pki, text: Callable[[str], str]
) -> None:
    result = _everywhere(client, pki, text(_card_kid(pki)))
    assert result["kid"] is None
    assert result["payload"] is None


def test_the_attack_builders_build_what_they_say() -> None:
    """The bombs really expand: decoded without limits, the flat one holds 2**18 strings."""
    flat = cbor2.loads(attack.flat_shared_reference_bomb(18))
    chain = flat[-260][1]["v"][-1]
    count, stack = 0, [chain]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        else:
            count += 1
    assert count == 2**18
