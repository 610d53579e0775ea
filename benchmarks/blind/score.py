"""Score a `vaxlink link` result file (§3) against the blind truth file.

Automatic = `verified` or `auto_linked` (both skip manual review).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

AUTO = ("verified", "auto_linked")
STATUSES = ("verified", "auto_linked", "review", "unmatched", "invalid")
ABSENT = "ABSENT"


def _read(path: Path) -> list[dict[str, str]]:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if path.suffix == ".parquet":
        table = pq.read_table(path)
    else:
        with path.open("rb") as fh:
            header = fh.readline().decode("utf-8-sig").strip().split(",")
        names = [h.strip('"') for h in header]
        table = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string())),
        )
    cols = {c: table.column(c).cast(pa.string()).to_pylist() for c in table.column_names}
    n = table.num_rows
    return [{c: (cols[c][i] or "") for c in cols} for i in range(n)]


def _candidates(raw: str) -> list[str]:
    if not raw:
        return []
    try:
        data = json.loads(raw)
    except ValueError:
        return []
    out = []
    for c in data if isinstance(data, list) else []:
        if isinstance(c, dict) and c.get("citizen_id"):
            out.append(str(c["citizen_id"]))
    return out


class _Group:
    def __init__(self) -> None:
        self.n = 0
        self.status: Counter[str] = Counter()
        self.auto_correct = 0
        self.wrong = 0
        self.in_top3 = 0

    def add(self, status: str, correct: bool, wrong: bool, top3: bool) -> None:
        self.n += 1
        self.status[status] += 1
        self.auto_correct += correct
        self.wrong += wrong
        self.in_top3 += top3

    def row(self) -> dict[str, Any]:
        n = max(self.n, 1)
        auto = self.status["verified"] + self.status["auto_linked"]
        return {
            "records": self.n,
            "automatic_pct": round(100 * auto / n, 2),
            "auto_correct_pct": round(100 * self.auto_correct / n, 2),
            "verified_pct": round(100 * self.status["verified"] / n, 2),
            "review_pct": round(100 * self.status["review"] / n, 2),
            "unmatched_pct": round(100 * self.status["unmatched"] / n, 2),
            "invalid_pct": round(100 * self.status["invalid"] / n, 2),
            "wrong_auto": self.wrong,
            "recall_at_3_pct": round(100 * self.in_top3 / n, 2),
        }


def score(result_path: Path, truth_path: Path) -> dict[str, Any]:
    truth = _read(truth_path)
    result = {r["record_id"]: r for r in _read(result_path)}
    statuses: Counter[str] = Counter()
    groups: dict[str, _Group] = defaultdict(_Group)
    overall = Counter()
    wrong_examples: list[dict[str, str]] = []
    for t in truth:
        r = result.get(t["record_id"])
        absent = t["true_citizen_id"] == ABSENT
        label = t["errors"] or "clean"
        if r is None:
            status, linked, cands = "MISSING_ROW", "", []
        else:
            status, linked, cands = (
                r.get("status", ""),
                r.get("citizen_id", ""),
                _candidates(r.get("candidates", "")),
            )
        statuses[status] += 1
        auto = status in AUTO
        correct = auto and not absent and linked == t["true_citizen_id"]
        wrong = auto and not correct
        top3 = not absent and (t["true_citizen_id"] == linked or t["true_citizen_id"] in cands[:3])
        groups[("absent/" if absent else "") + label].add(status, correct, wrong, top3)
        side = "absent" if absent else ("dirty" if t["errors"] else "clean")
        overall[f"{side}_records"] += 1
        overall[f"{side}_auto"] += auto
        overall[f"{side}_auto_correct"] += correct
        overall[f"{side}_wrong"] += wrong
        overall[f"{side}_top3"] += top3
        overall[f"{side}_{status}"] += 1
        if wrong and len(wrong_examples) < 30:
            wrong_examples.append(
                {
                    "record_id": t["record_id"],
                    "errors": label,
                    "absent": str(absent),
                    "status": status,
                }
            )
    auto_all = overall["clean_auto"] + overall["dirty_auto"] + overall["absent_auto"]
    correct_all = overall["clean_auto_correct"] + overall["dirty_auto_correct"]
    registered = overall["clean_records"] + overall["dirty_records"]

    def pct(a: int, b: int) -> float:
        return round(100 * a / b, 4) if b else 0.0

    auto_linked_only = sum(g.status["auto_linked"] for g in groups.values())
    summary = {
        "records": len(truth),
        "result_rows": len(result),
        "missing_rows": statuses.get("MISSING_ROW", 0),
        "statuses": dict(statuses),
        "automatic_links": auto_all,
        "automatic_correct": correct_all,
        "precision_automatic_pct": pct(correct_all, auto_all),
        "wrong_automatic_links": auto_all - correct_all,
        "auto_linked_status_links": auto_linked_only,
        "absent_records": overall["absent_records"],
        "absent_linked_automatically": overall["absent_auto"],
        "clean_registered_records": overall["clean_records"],
        "clean_automatic_pct": pct(overall["clean_auto"], overall["clean_records"]),
        "clean_auto_correct_pct": pct(overall["clean_auto_correct"], overall["clean_records"]),
        "dirty_registered_records": overall["dirty_records"],
        "dirty_automatic_pct": pct(overall["dirty_auto"], overall["dirty_records"]),
        "dirty_auto_correct_pct": pct(overall["dirty_auto_correct"], overall["dirty_records"]),
        "dirty_wrong_automatic": overall["dirty_wrong"],
        "dirty_review_pct": pct(overall["dirty_review"], overall["dirty_records"]),
        "dirty_unmatched_pct": pct(overall["dirty_unmatched"], overall["dirty_records"]),
        "dirty_invalid_pct": pct(overall["dirty_invalid"], overall["dirty_records"]),
        "recall_at_3_registered_pct": pct(
            overall["clean_top3"] + overall["dirty_top3"], registered
        ),
        "recall_at_3_dirty_pct": pct(overall["dirty_top3"], overall["dirty_records"]),
    }
    per_type = {
        k: g.row()
        for k, g in sorted(
            groups.items(),
            key=lambda kv: (kv[0].startswith("absent/"), "+" in kv[0] or ";" in kv[0], kv[0]),
        )
    }
    return {"summary": summary, "per_type": per_type, "wrong_examples": wrong_examples}


def print_report(report: dict[str, Any]) -> None:
    s = report["summary"]
    print("\n== blind linkage: overall ==")
    for k, v in s.items():
        print(f"  {k:32s} {v}")
    print("\n== per error type (registered people; 'absent/...' = not in the registry) ==")
    hdr = f"{'type':44s} {'records':>8s} {'auto%':>7s} {'ok%':>7s} {'verif%':>7s} {'review%':>7s} {'unmat%':>7s} {'inval%':>7s} {'wrong':>6s} {'r@3%':>7s}"
    print(hdr)
    print("-" * len(hdr))
    for k, r in report["per_type"].items():
        print(
            f"{k:44s} {r['records']:8d} {r['automatic_pct']:7.2f} {r['auto_correct_pct']:7.2f} {r['verified_pct']:7.2f} "
            f"{r['review_pct']:7.2f} {r['unmatched_pct']:7.2f} {r['invalid_pct']:7.2f} {r['wrong_auto']:6d} {r['recall_at_3_pct']:7.2f}"
        )


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--result", type=Path, required=True)
    ap.add_argument("--truth", type=Path, required=True)
    ap.add_argument(
        "--json", type=Path, default=Path(__file__).parents[1] / "results" / "blind_linkage.json"
    )
    a = ap.parse_args()
    rep = score(a.result, a.truth)
    a.json.write_text(json.dumps(rep, indent=2, ensure_ascii=False))
    print_report(rep)


if __name__ == "__main__":
    main()
