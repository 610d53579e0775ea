"""Cost of hostile HC1 texts to the verifier (issue #13, point 1): time and memory of one answer.

Each attack from tests/security/hc1_attacks.py runs in its own child process: the verification
result and its JSON form (what the verify API sends), timed, with tracemalloc's peak of Python
allocations and the child's peak RSS. A child gets `--limit` seconds and 4 GiB of address space;
past either it is reported as killed. `--compare SRC` runs the same attacks against another
checkout's `src` (e.g. main's) for a before/after table. Writes benchmarks/results/verifier_dos.json.

    python benchmarks/verifier_dos_bench.py
    python benchmarks/verifier_dos_bench.py --compare /path/to/main/src --limit 30
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
ADDRESS_SPACE = 4 * 2**30

ATTACKS = [
    "shared_refs_nested16_unsigned",
    "shared_refs_flat18_unsigned",
    "shared_refs_flat24_unsigned",
    "shared_refs_flat24_signed",
    "bignum_dose_unsigned",
    "bignum_dose_signed",
    "bignum_iat_signed",
    "iat_1e18_signed",
    "zlib_bomb_4MiB",
    "base45_512KiB",
    "nesting_2000_signed",
]


def _text(name: str) -> str:
    from datetime import UTC, datetime

    from tests.security import hc1_attacks as attack

    from vaxlink.certificates.keys import hierarchy

    start = datetime(2021, 1, 1, tzinfo=UTC)
    csca = hierarchy.create_csca(country="VN", organization="bench", now=start)
    dsc = hierarchy.create_dsc(csca, now=start, common_name="DSC", validity_days=3 * 365)
    _text.dsc = dsc  # type: ignore[attr-defined]
    build = {
        "shared_refs_nested16_unsigned": lambda: attack.unsigned(attack.shared_reference_bomb(16)),
        "shared_refs_flat18_unsigned": lambda: attack.unsigned(
            attack.flat_shared_reference_bomb(18)
        ),
        "shared_refs_flat24_unsigned": lambda: attack.unsigned(
            attack.flat_shared_reference_bomb(24)
        ),
        "shared_refs_flat24_signed": lambda: attack.signed(
            attack.flat_shared_reference_bomb(24), dsc
        ),
        "bignum_dose_unsigned": lambda: attack.unsigned(attack.bignum()),
        "bignum_dose_signed": lambda: attack.signed(attack.bignum(), dsc),
        "bignum_iat_signed": lambda: attack.signed(attack.bignum_iat(), dsc),
        "iat_1e18_signed": lambda: attack.signed(attack.out_of_range_times(), dsc),
        "zlib_bomb_4MiB": lambda: attack.zlib_bomb(4 * 2**20),
        "base45_512KiB": lambda: attack.huge_base45(512 * 1024),
        "nesting_2000_signed": lambda: attack.signed(attack.deep_nesting(2_000), dsc),
    }
    return build[name]()


def child(name: str) -> dict[str, Any]:
    """One attack in this process: the answer the verify API would send, and what it cost."""
    import tracemalloc
    from datetime import UTC, datetime

    from cryptography import x509

    from vaxlink.certificates.core.trust import InMemoryTrustList
    from vaxlink.certificates.verification.result import verification_result

    text = _text(name)
    dsc = _text.dsc  # type: ignore[attr-defined]
    trust = InMemoryTrustList([x509.load_der_x509_certificate(dsc.certificate_der)])
    clock = datetime(2022, 1, 1, tzinfo=UTC)
    tracemalloc.start()
    start = time.perf_counter()
    try:
        body = json.dumps(verification_result(text, trust, clock=clock).to_dict())
        outcome = json.loads(body)["failure"]["code"] if '"failure": {' in body else "valid"
    except Exception as exc:  # what main answered with a 500
        body, outcome = "", f"exception {type(exc).__name__}"
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"attack": name, "input_chars": len(text), "outcome": outcome, "seconds": seconds,
            "peak_traced_mb": peak / 2**20, "answer_bytes": len(body),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}  # fmt: skip


def _limit_child() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run(name: str, src: Path, limit: float) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), str(REPO)])}
    command = [sys.executable, __file__, "--child", name]
    start = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=_limit_child)  # fmt: skip
    try:
        out, err = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        out, err = b"", b""
    wall = time.perf_counter() - start
    lines = out.decode().strip().splitlines()
    if proc.returncode == 0 and lines:
        result: dict[str, Any] = json.loads(lines[-1])
    else:
        reason = "killed" if proc.returncode in (-9, None) else f"exit {proc.returncode}"
        tail = err.decode(errors="replace").strip().splitlines()[-1:] or [""]
        result = {"attack": name, "outcome": f"{reason} after {wall:.0f} s {tail[0][:60]}",
                  "seconds": None, "peak_traced_mb": None, "answer_bytes": None,
                  "peak_rss_mb": None}  # fmt: skip
    result["source"] = str(src)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--compare", type=Path, help="Another checkout's src to run first.")
    parser.add_argument("--limit", type=float, default=30.0, help="Seconds per attack.")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    sources = [("this", REPO / "src")]
    if args.compare:
        sources.insert(0, ("compare", args.compare.resolve()))
    rows = [dict(run(name, src, args.limit), label=label) for label, src in sources
            for name in ATTACKS]  # fmt: skip
    from _measure import write_result

    write_result("verifier_dos", {"limit_seconds": args.limit, "rows": rows})
    print(f"{'attack':30} {'run':7} {'outcome':34} {'seconds':>8} {'traced MB':>9} "
          f"{'RSS MB':>7} {'answer B':>9}")  # fmt: skip
    for row in rows:
        secs = "-" if row["seconds"] is None else f"{row['seconds']:.4f}"
        peak = "-" if row["peak_traced_mb"] is None else f"{row['peak_traced_mb']:.2f}"
        size = "-" if row["answer_bytes"] is None else str(row["answer_bytes"])
        rss = "-" if row["peak_rss_mb"] is None else f"{row['peak_rss_mb']:.0f}"
        print(f"{row['attack']:30} {row['label']:7} {row['outcome'][:34]:34} {secs:>8} "
              f"{peak:>9} {rss:>7} {size:>9}")  # fmt: skip


if __name__ == "__main__":
    main()
