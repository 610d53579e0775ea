"""Run EU DCC conformance test cases (the dgc-testdata JSON format) against vaxlink's codec.

Each case gives a certificate at several stages (PREFIX, BASE45, COMPRESSED, COSE, CBOR, JSON,
2DCODE) and `EXPECTEDRESULTS`: step name -> whether an implementation must succeed at that step.
A stage the case leaves out is derived from the stage before it with vaxlink's own decoder.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Final

from cryptography import x509

from vaxlink.certificates.core import cose, hc1
from vaxlink.certificates.core.dsc import (
    DscProfile,
    certificate_kid,
    check_dsc_validity,
    check_key_usage,
    check_time,
    dsc_profile,
)
from vaxlink.certificates.core.schema import validate_payload


class Unavailable(Exception):
    """The case does not carry the data a step needs."""


@dataclass(frozen=True)
class KnownIssues:
    """Cases (or single steps of cases) known to disagree with their expectations, with reasons."""

    cases: frozenset[str] = frozenset()
    steps: frozenset[tuple[str, str]] = frozenset()

    @classmethod
    def parse(cls, text: str) -> KnownIssues:
        """Lines `<case path>` or `<case path>:<STEP>`; `#` starts a comment."""
        cases, steps = set(), set()
        for line in text.splitlines():
            entry = line.split("#", 1)[0].strip()
            if not entry:
                continue
            path, sep, step = entry.rpartition(":")
            if sep and re.fullmatch(r"[A-Z_0-9]+", step):
                steps.add((path.strip(), step))
            else:
                cases.add(entry)
        return cls(frozenset(cases), frozenset(steps))

    def covers(self, case: str, step: str | None = None) -> bool:
        """Whether the whole case, or this step of it, is a known issue."""
        return case in self.cases or (step is not None and (case, step) in self.steps)


@dataclass
class StepOutcome:
    """One expectation of a case and what vaxlink concluded."""

    expected: object
    actual: bool | None
    detail: str | None = None
    known_issue: bool = False

    @property
    def met(self) -> bool:
        """Whether vaxlink's conclusion matches the expectation."""
        return isinstance(self.expected, bool) and self.actual is self.expected


@dataclass
class CaseOutcome:
    """All expectations of one case."""

    case: str
    steps: dict[str, StepOutcome] = field(default_factory=dict)
    error: str | None = None
    known_issue: bool = False

    @property
    def ok(self) -> bool:
        """Every expectation met."""
        return self.error is None and all(s.met for s in self.steps.values())

    @property
    def counts(self) -> bool:
        """Whether a miss here fails the run (known issues do not)."""
        return not self.ok and not self.known_issue

    def to_json(self) -> dict[str, Any]:
        """The JSON line printed by `vaxlink certificates conformance --json`."""
        steps: dict[str, Any] = {}
        for name, step in self.steps.items():
            item: dict[str, Any] = {"expected": step.expected, "actual": step.actual}
            if not step.met and step.detail:
                item["detail"] = step.detail
            if step.known_issue:
                item["known_issue"] = True
            steps[name] = item
        out: dict[str, Any] = {"case": self.case, "steps": steps, "ok": self.ok}
        if self.error:
            out["error"] = self.error
        if self.known_issue:
            out["known_issue"] = True
        return out


_DATETIME: Final = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?")


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant; without an offset it is taken as UTC."""
    moment = datetime.fromisoformat(text.replace("z", "Z"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _normal(value: Any) -> Any:
    """Data for comparison: date-times to whole UTC seconds, whatever their notation."""
    if isinstance(value, Mapping):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, str) and _DATETIME.fullmatch(value):
        try:
            return parse_instant(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            return value
    return value


def _same(a: Any, b: Any, what: str) -> None:
    if _normal(a) != _normal(b):
        raise AssertionError(f"{what} differ")


class _Case:
    """One test case with each stage taken from the case or derived from the stage before."""

    def __init__(self, data: Mapping[str, Any], now: datetime) -> None:
        self.data = data
        self.now = now
        context = data.get("TESTCTX")
        self.context: Mapping[str, Any] = context if isinstance(context, Mapping) else {}

    def text(self, key: str) -> str:
        value = self.data.get(key)
        if not isinstance(value, str):
            raise Unavailable(f"the case has no {key}")
        return value

    def hexbytes(self, key: str) -> bytes:
        try:
            return bytes.fromhex(self.text(key))
        except ValueError:
            raise AssertionError(f"{key} is not hex") from None

    @cached_property
    def base45(self) -> str:
        return self.text("BASE45") if "BASE45" in self.data else hc1.unprefix(self.text("PREFIX"))

    @cached_property
    def compressed(self) -> bytes:
        if "COMPRESSED" in self.data:
            return self.hexbytes("COMPRESSED")
        return hc1.b45decode(self.base45)

    @cached_property
    def cose_bytes(self) -> bytes:
        return self.hexbytes("COSE") if "COSE" in self.data else hc1.decompress(self.compressed)

    @cached_property
    def message(self) -> cose.Sign1:
        return cose.parse_sign1(self.cose_bytes)

    @cached_property
    def claims(self) -> cose.Claims:
        return cose.parse_claims(self.message.payload)

    @cached_property
    def dcc(self) -> dict[str, Any]:
        """The signed DCC; unlike `claims`, no iat/exp needed (decoding is not validity)."""
        return cose.dcc_in_claims(self.message.payload)

    @cached_property
    def certificate(self) -> x509.Certificate:
        encoded = self.context.get("CERTIFICATE")
        if not isinstance(encoded, str):
            raise Unavailable("the case has no TESTCTX.CERTIFICATE")
        if "-----BEGIN" in encoded:
            return x509.load_pem_x509_certificate(encoded.encode("ascii"))
        return x509.load_der_x509_certificate(base64.b64decode(encoded))

    @cached_property
    def clock(self) -> datetime:
        text = self.context.get("VALIDATIONCLOCK")
        return parse_instant(text) if isinstance(text, str) else self.now

    def payload(self) -> dict[str, Any]:
        """The DCC from the signed message, else from CBOR, else the case's JSON."""
        if any(k in self.data for k in ("COSE", "COMPRESSED", "BASE45", "PREFIX")):
            return self.dcc
        if "CBOR" in self.data:
            return cose.dcc_from_cbor(self.hexbytes("CBOR"))
        return self.json()

    def json(self) -> dict[str, Any]:
        value = self.data.get("JSON")
        if not isinstance(value, dict):
            raise Unavailable("the case has no JSON object")
        return value


def _unprefix(case: _Case) -> None:
    base45 = hc1.unprefix(case.text("PREFIX"))
    if "BASE45" in case.data and base45 != case.text("BASE45"):
        raise AssertionError("PREFIX without 'HC1:' is not BASE45")


def _b45decode(case: _Case) -> None:
    decoded = hc1.b45decode(case.base45)
    if "COMPRESSED" in case.data and decoded != case.hexbytes("COMPRESSED"):
        raise AssertionError("Base45 decoding does not give COMPRESSED")


def _compression(case: _Case) -> None:
    inflated = hc1.decompress(case.compressed)
    if "COSE" in case.data and inflated != case.hexbytes("COSE"):
        raise AssertionError("inflating COMPRESSED does not give COSE")


def _picture(case: _Case) -> None:
    from vaxlink.certificates.qrimage import read_qr  # Pillow + zxing-cpp: load only when needed

    image = case.data.get("2DCODE", case.data.get("_2DCODE"))
    if not isinstance(image, str):
        raise Unavailable("the case has no 2DCODE image")
    text = read_qr(base64.b64decode(image.rpartition("base64,")[2]))
    if "PREFIX" in case.data and text != case.text("PREFIX"):
        raise AssertionError("the QR code does not read as PREFIX")


def _decode(case: _Case) -> None:
    dcc = case.dcc
    if "JSON" in case.data:
        _same(dcc, case.json(), "the COSE payload and JSON")
    if "CBOR" in case.data:
        _same(dcc, cose.dcc_from_cbor(case.hexbytes("CBOR")), "the COSE payload and CBOR")


def _valid_json(case: _Case) -> None:
    _same(case.dcc, case.json(), "the payload decoded from the QR text and JSON")


def _verify(case: _Case) -> None:
    if case.message.kid != certificate_kid(case.certificate):
        raise AssertionError("the message kid is not the certificate's kid")
    cose.verify_signature(case.message, case.certificate.public_key())


def _expiration(case: _Case) -> None:
    certificate = case.certificate  # only its validity window counts here, not its key usage
    window = DscProfile(certificate.not_valid_before_utc, certificate.not_valid_after_utc, None)
    check_time(case.claims, case.clock)
    check_dsc_validity(case.claims, window)


def _key_usage(case: _Case) -> None:
    check_key_usage(case.dcc, dsc_profile(case.certificate))


def _schema(case: _Case) -> None:
    validate_payload(case.payload())


def _valid_object(case: _Case) -> None:
    json.dumps(case.json(), allow_nan=False)


def _encode(case: _Case) -> None:
    encoded = cose.encode_claims(iss="XX", iat=0, exp=0, dcc=case.json())
    _same(cose.dcc_from_cbor(encoded), cose.dcc_from_cbor(case.hexbytes("CBOR")), "JSON and CBOR")


STEPS: Final[dict[str, Callable[[_Case], None]]] = {
    "EXPECTEDUNPREFIX": _unprefix,
    "EXPECTEDB45DECODE": _b45decode,
    "EXPECTEDCOMPRESSION": _compression,
    "EXPECTEDPICTUREDECODE": _picture,
    "EXPECTEDDECODE": _decode,
    "EXPECTEDVALIDJSON": _valid_json,
    "EXPECTEDVERIFY": _verify,
    "EXPECTEDEXPIRATIONCHECK": _expiration,
    "EXPECTEDKEYUSAGE": _key_usage,
    "EXPECTEDSCHEMAVALIDATION": _schema,
    "EXPECTEDVALIDOBJECT": _valid_object,
    "EXPECTEDENCODE": _encode,
}


def _evaluate(case: _Case, step: str) -> tuple[bool | None, str | None]:
    check = STEPS.get(step)
    if check is None:
        return None, f"{step} names no processing step vaxlink knows"
    try:
        check(case)
    except Unavailable as exc:
        return None, f"not evaluable: {exc}"
    except Exception as exc:  # every way a step can fail is a "false" for that step
        return False, f"{type(exc).__name__}: {exc}"
    return True, None


def run_case(path: Path, root: Path, known: KnownIssues, *, now: datetime) -> CaseOutcome:
    """Evaluate every expectation of the case file at `path` (a case naming no validation
    clock is checked at `now`)."""
    name = path.relative_to(root).as_posix()
    outcome = CaseOutcome(name, known_issue=known.covers(name))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        expected = data["EXPECTEDRESULTS"]
        if not isinstance(expected, Mapping):
            raise TypeError("EXPECTEDRESULTS is not an object")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        outcome.error = f"unreadable case: {type(exc).__name__}: {exc}"
        return outcome
    case = _Case(data, now)
    for step, want in expected.items():
        actual, detail = _evaluate(case, step)
        outcome.steps[step] = StepOutcome(want, actual, detail, known.covers(name, step))
    missed = [s for s in outcome.steps.values() if not s.met]
    if missed and all(s.known_issue for s in missed):
        outcome.known_issue = True
    return outcome


def find_cases(root: Path) -> list[Path]:
    """Every `*.json` file at any depth below `root`, in a stable order."""
    return sorted(p for p in root.rglob("*.json") if p.is_file())


def run(
    root: Path, known: KnownIssues | None = None, *, now: datetime
) -> Iterator[CaseOutcome]:
    """Evaluate every case below `root` (at `now` where a case names no validation clock)."""
    known = known or KnownIssues()
    for path in find_cases(root):
        yield run_case(path, root, known, now=now)


def stale_known_issues(outcomes: list[CaseOutcome], known: KnownIssues) -> list[str]:
    """Known-issue entries whose case now meets its expectations (the list should shrink)."""
    by_case = {o.case: o for o in outcomes}
    stale = [c for c in sorted(known.cases) if c in by_case and by_case[c].ok]
    for case, step in sorted(known.steps):
        outcome = by_case.get(case)
        if outcome is not None and step in outcome.steps and outcome.steps[step].met:
            stale.append(f"{case}:{step}")
    return stale
