"""Certificate throughput on one core: issue and verify EU DCCs next to raw ECDSA P-256 sign/verify.

Targets: issuance >= 40% of the raw signing rate, verification >= 50% of the raw verifying rate.
`--million` adds a streaming batch of 1,000,000 certificates (payloads generated on the fly, HC1
strings written to a file) and records the peak RSS after warm-up and at the end.

    .venv/bin/python benchmarks/certificates_bench.py [--million] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from vaxlink.certificates.core import cose
from vaxlink.certificates.core.issue import issue, issue_stream
from vaxlink.certificates.core.payload import vaccination_payload
from vaxlink.certificates.core.trust import InMemoryTrustList
from vaxlink.certificates.core.uvci import uvci_from_seed
from vaxlink.certificates.core.verify import verify
from vaxlink.certificates.keys.pem import PemSigner

RESULTS = Path(__file__).parent / "results" / "certificates.json"
ISSUED_AT = datetime(2022, 3, 1, 9, 0, tzinfo=UTC)
CLOCK = datetime(2022, 6, 1, tzinfo=UTC)
ROUNDS = 7
SECONDS_PER_ROUND = 0.6
TARGETS = {"issue": 0.40, "verify": 0.50}


def signer() -> tuple[ec.EllipticCurvePrivateKey, PemSigner]:
    """A P-256 key and its DSC, made for the run."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.COMMON_NAME, "bench DSC"),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime(2021, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2031, 1, 1, tzinfo=UTC))
        .sign(key, hashes.SHA256())
    )
    return key, PemSigner(key, certificate)


def payload(n: int) -> dict[str, Any]:
    """The n-th synthetic vaccination payload (distinct names, dates and UVCIs)."""
    families = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng"]
    given = ["Văn An", "Thị Bích", "Minh Châu", "Quốc Dũng", "Thu Hà", "Đức Huy", "Ngọc Lan"]
    return vaccination_payload(
        family_name=families[n % len(families)],
        given_name=given[n % len(given)],
        date_of_birth=f"{1940 + n % 70}-{1 + n % 12:02d}-{1 + n % 28:02d}",
        product="EU/1/20/1528",
        manufacturer="ORG-100030215",
        prophylaxis="1119349007",
        dose_number=1 + n % 3,
        total_doses=3,
        vaccination_date=(datetime(2021, 6, 1) + timedelta(days=n % 250)).date().isoformat(),
        uvci=uvci_from_seed(f"bench-{n}"),
        issuer="Ministry of Health of Viet Nam",
    )


def rate(work: Callable[[int], object], items: int) -> tuple[float, float]:
    """Operations per second of `work(i)` over a time-boxed loop: per wall-clock second, and per
    second of this thread's CPU time (on a shared machine, the time it was not waiting its turn)."""
    done, start, cpu = 0, time.perf_counter(), time.thread_time()
    while (elapsed := time.perf_counter() - start) < SECONDS_PER_ROUND:
        for _ in range(50):
            work(done % items)
            done += 1
    return done / elapsed, done / (time.thread_time() - cpu)


def measure() -> dict[str, Any]:
    """Rounds of raw sign, issue, raw verify and verify, interleaved so load spikes hit all alike."""
    key, dsc = signer()
    public = key.public_key()
    trust = InMemoryTrustList([x509.load_der_x509_certificate(dsc.certificate_der)])
    payloads = [payload(n) for n in range(512)]
    issued = [issue(p, dsc, issuer="VN", issued_at=ISSUED_AT).hc1 for p in payloads]
    messages = [
        cose.sig_structure(
            b"\xa2\x01&\x04H" + dsc.kid, cose.encode_claims(iss="VN", iat=1, exp=2, dcc=p)
        )
        for p in payloads
    ]
    signatures = [key.sign(m, ec.ECDSA(hashes.SHA256())) for m in messages]
    assert all(verify(text, trust, clock=CLOCK).authentic for text in issued)

    work: dict[str, Callable[[int], object]] = {
        "raw_sign": lambda i: key.sign(messages[i], ec.ECDSA(hashes.SHA256())),
        "issue": lambda i: issue(payloads[i], dsc, issuer="VN", issued_at=ISSUED_AT),
        "raw_verify": lambda i: public.verify(
            signatures[i], messages[i], ec.ECDSA(hashes.SHA256())
        ),
        "verify": lambda i: verify(issued[i], trust, clock=CLOCK),
    }
    samples: dict[str, list[float]] = {name: [] for name in work}
    cpu_samples: dict[str, list[float]] = {name: [] for name in work}
    for fn in work.values():  # warm-up
        rate(fn, len(payloads))
    for _ in range(ROUNDS):
        for name, fn in work.items():
            wall, cpu = rate(fn, len(payloads))
            samples[name].append(wall)
            cpu_samples[name].append(cpu)
    rates = {name: statistics.median(values) for name, values in samples.items()}
    ratios = {
        "issue": rates["issue"] / rates["raw_sign"],
        "verify": rates["verify"] / rates["raw_verify"],
    }
    cpu_rates = {name: statistics.median(values) for name, values in cpu_samples.items()}
    return {
        "cpu_time": {  # the same loops counted in thread CPU time: steadier under load
            "rates_per_second": {k: round(v, 1) for k, v in cpu_rates.items()},
            "ratios": {
                "issue": round(cpu_rates["issue"] / cpu_rates["raw_sign"], 3),
                "verify": round(cpu_rates["verify"] / cpu_rates["raw_verify"], 3),
            },
        },
        "rates_per_second": {k: round(v, 1) for k, v in rates.items()},
        "samples_per_second": {k: [round(v, 1) for v in vs] for k, vs in samples.items()},
        "ratios": {k: round(v, 3) for k, v in ratios.items()},
        "targets": TARGETS,
        "targets_met": {k: ratios[k] >= TARGETS[k] for k in TARGETS},
        "hc1_length": round(statistics.mean(len(t) for t in issued)),
    }


def rss_kib() -> int:
    """Current resident set size in KiB (Linux /proc)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def peak_rss_kib() -> int:
    """Peak resident set size so far, in KiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def million(out: Path | None, count: int = 1_000_000) -> dict[str, Any]:
    """Stream `count` certificates from a payload generator to a file, watching memory."""
    _, dsc = signer()

    def payloads() -> Iterator[dict[str, Any]]:
        for n in range(count):
            yield payload(n)

    target = out or Path(tempfile.mkstemp(prefix="hc1-", suffix=".txt")[1])
    checkpoints: list[dict[str, Any]] = []
    start = time.perf_counter()
    with target.open("w", encoding="ascii") as sink:
        for n, certificate in enumerate(
            issue_stream(payloads(), dsc, issuer="VN", issued_at=ISSUED_AT), 1
        ):
            sink.write(certificate.hc1)
            sink.write("\n")
            if n == 10_000:
                start_peak, warm_at = peak_rss_kib(), time.perf_counter()
            if n % 100_000 == 0 or n == count:
                checkpoints.append({"issued": n, "rss_kib": rss_kib(), "peak_rss_kib": peak_rss_kib(),
                                    "seconds": round(time.perf_counter() - start, 1)})  # fmt: skip
                print(
                    f"  {n:>9,} issued, RSS {checkpoints[-1]['rss_kib'] / 1024:.1f} MiB",
                    file=sys.stderr,
                )
    elapsed = time.perf_counter() - start
    size = target.stat().st_size
    if out is None:
        target.unlink()
    return {
        "certificates": count,
        "seconds": round(elapsed, 1),
        "per_second_including_payload_building": round(count / elapsed, 1),
        "steady_per_second": round((count - 10_000) / (time.perf_counter() - warm_at), 1),
        "output_bytes": size,
        "peak_rss_kib_after_warmup": start_peak,
        "peak_rss_kib_at_end": peak_rss_kib(),
        "checkpoints": checkpoints,
    }


def main() -> None:
    """Run, print the table, write the JSON result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--million", action="store_true", help="also stream 1,000,000 certificates")
    parser.add_argument("--count", type=int, default=1_000_000, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help="keep the streamed HC1 strings in this file")
    args = parser.parse_args()

    result: dict[str, Any] = {
        "benchmark": "certificates",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_1m": os.getloadavg()[0],
            "cryptography": version("cryptography"),
            "cbor2": version("cbor2"),
        },
        "single_core": measure(),
    }
    rates, ratios = result["single_core"]["rates_per_second"], result["single_core"]["ratios"]
    print(f"{'operation':<32}{'per second':>12}{'vs raw':>10}{'target':>9}")
    print(f"{'raw ECDSA P-256 sign':<32}{rates['raw_sign']:>12,.0f}")
    print(
        f"{'issue (payload -> HC1, ES256)':<32}{rates['issue']:>12,.0f}{ratios['issue']:>10.0%}{TARGETS['issue']:>9.0%}"
    )
    print(f"{'raw ECDSA P-256 verify':<32}{rates['raw_verify']:>12,.0f}")
    print(
        f"{'verify (HC1 -> result)':<32}{rates['verify']:>12,.0f}{ratios['verify']:>10.0%}{TARGETS['verify']:>9.0%}"
    )
    cpu = result["single_core"]["cpu_time"]["ratios"]
    print(f"in thread CPU time: issue {cpu['issue']:.0%}, verify {cpu['verify']:.0%} of raw")
    if args.million:
        print(f"streaming {args.count:,} certificates ...", file=sys.stderr)
        batch = million(args.out, args.count)
        result["million"] = batch
        print(
            f"{batch['certificates']:,} certificates in {batch['seconds']} s "
            f"({batch['per_second_including_payload_building']:,.0f}/s with payload building); "
            f"peak RSS {batch['peak_rss_kib_after_warmup'] / 1024:.1f} MiB after warm-up, "
            f"{batch['peak_rss_kib_at_end'] / 1024:.1f} MiB at the end"
        )
    elif RESULTS.exists():  # keep the last million run when only the rates are re-measured
        previous = json.loads(RESULTS.read_text(encoding="utf-8"))
        if "million" in previous:
            result["million"] = previous["million"]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
