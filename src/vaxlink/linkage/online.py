"""Scoring one person online: the same features, levels and model as the bulk pipeline, in Python.

`score_person` takes the details a vaccination app sends and the registry rows the registry
service returned for them, and decides as the bulk pipeline decides a residual record: verified
when the record's own ID number and name, date of birth and sex agree; else the model's
posterior over the candidates, with the same thresholds, margin and ID-number guard.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vaxlink.identity import IdKind, classify_id, normalise_id, pad_lost_zeros
from vaxlink.linkage.comparisons import COMPARISONS, DOB, GIVEN
from vaxlink.linkage.decide import (
    GIVEN_FAR_EDITS,
    GUARD_LEVELS,
    guard,
    registry_namesakes,
    unique_in_registry,
)
from vaxlink.linkage.model import LinkModel
from vaxlink.linkage.normalise import date_parts, name_features, sex_value
from vaxlink.linkage.score import MIN_BITS
from vaxlink.linkage.similarity import date_digits, day_number, levenshtein, words_in

Row = dict[str, Any]
_CODE = {3: re.compile(r"[0-9]{1,3}(\.0+)?"), 5: re.compile(r"[0-9]{1,5}(\.0+)?")}


def phone(raw: str | None) -> str | None:
    """A Vietnamese mobile number as 10 digits starting with 0 (the twin of SQL lk_phone)."""
    if raw is None:
        return None
    x = re.sub(r"[^0-9]", "", raw)
    if x.startswith("84") and len(x) == 11:
        return "0" + x[2:]
    if len(x) == 9 and not x.startswith("0"):
        return "0" + x
    if len(x) == 10 and x.startswith("0"):
        return x
    return None


def code(raw: str | None, width: int) -> str | None:
    """An administrative code zero-padded to `width` (the twin of SQL vx_code)."""
    if raw is None or not _CODE[width].fullmatch(raw.strip()):
        return None
    digits = re.match(r"[0-9]+", raw.strip())
    return digits[0].zfill(width) if digits else None


def _dob(raw: str | None) -> Row:
    y, m, d, _precision, _error = date_parts(raw) if raw and raw.strip() else (None,) * 5
    return {"dy": y, "dm": m, "dd": d, "dday": day_number(y, m, d), "dob8": date_digits(y, m, d)}


def _encoded(id12: str | None) -> Row:
    if id12 is None:
        return {"idy": None, "ids": None}
    century = {"0": 1900, "1": 1900, "2": 2000, "3": 2000}.get(id12[3])
    return {
        "idy": century + int(id12[4:6]) if century else None,
        "ids": "M" if int(id12[3]) % 2 == 0 else "F",
    }


def _common(raw: Mapping[str, Any]) -> Row:
    row: Row = dict(name_features(raw.get("full_name")))
    row.update(_dob(raw.get("date_of_birth")))
    row["sex"] = sex_value(raw["sex"])[0] if raw.get("sex") else None
    row["ph"] = phone(raw.get("phone"))
    row["prov"] = code(raw.get("province_code"), 3)
    row["dist"] = code(raw.get("district_code"), 3)
    row["ward"] = code(raw.get("ward_code"), 5)
    return row


def dose_features(raw: Mapping[str, Any]) -> Row:
    """The comparison features of a dose record given as docs/formats.md §2 fields."""
    row = _common(raw)
    text = (raw.get("id_number") or "").strip()
    kind = classify_id(text)
    digits = normalise_id(text)
    row["id_raw"] = text or None
    row["id12"] = {IdKind.CCCD12: digits, IdKind.CCCD12_LOST_ZEROS: pad_lost_zeros(text)}.get(kind)
    row["id9"] = {IdKind.CMND9: digits, IdKind.CMND9_LOST_ZEROS: pad_lost_zeros(text)}.get(kind)
    row["id_padded"] = kind in (IdKind.CCCD12_LOST_ZEROS, IdKind.CMND9_LOST_ZEROS)
    # 11 or 13 digits that are no ID form: a 12-digit number with a digit dropped or added
    loose = row["id12"] is None and row["id9"] is None and len(digits or "") in (11, 13)
    row["idd"] = digits if loose and re.fullmatch(r"[0-9]+", digits or "") else None
    row.update(_encoded(row["id12"]))
    return row


def citizen_features(raw: Mapping[str, Any]) -> Row:
    """The comparison features of a registry row given as docs/formats.md §1 fields."""
    row = _common(raw)
    cid = normalise_id(raw.get("citizen_id") or "")
    old = normalise_id(raw.get("old_id") or "")
    row["cid"] = cid
    row["id12"] = cid if classify_id(cid) is IdKind.CCCD12 else None
    row["id9"] = old if old and classify_id(old) is IdKind.CMND9 else None
    row["idd"] = None
    row["id_padded"] = False
    row.update(_encoded(row["id12"]))
    return row


@dataclass
class Candidate:
    """One citizen scored against the record, with each comparison's level and weight."""

    citizen_id: str
    probability: float
    match_weight: float
    fields: dict[str, tuple[str, float]] = field(default_factory=dict)


@dataclass
class LinkResult:
    """The decision for one record (docs/formats.md §3 fields, candidates with their evidence)."""

    status: str
    citizen_id: str | None
    match_probability: float | None
    corrected_fields: list[str]
    candidates: list[Candidate]
    reason: str | None


def pair_weights(
    model: LinkModel, dose: Row, r: Row, size: int
) -> tuple[float, dict[str, tuple[str, float]]]:
    """Match weight (prior included) of a dose and a citizen, and each comparison's level and
    bits, for a registry of `size` citizens (term frequencies from the model)."""
    total = model.prior_bits(size)
    fields = {}
    for c in COMPARISONS:
        i = c.level_of(dose, r)
        level = c.levels[i]
        tf = model.tf.get(level.tf, {}).get(r.get(level.tf) or "") if level.tf else None
        bits = model.level_bits(c.name, i, size) + model.tf_bits(c.name, i, tf)
        fields[c.name] = (level.name, round(bits, 2))
        total += bits
    return total, fields


def _corrected(dose: Row, r: Row) -> list[str]:
    out = []
    if dose.get("id_raw") != r.get("cid"):
        out.append("id_number")
    if dose.get("nm") != r.get("nm"):
        out.append("full_name")
    if (dose.get("dy"), dose.get("dm"), dose.get("dd")) != (r.get("dy"), r.get("dm"), r.get("dd")):
        out.append("date_of_birth")
    if dose.get("sex") != r.get("sex"):
        out.append("sex")
    return out


def score_person(
    details: Mapping[str, Any],
    candidates: Sequence[Mapping[str, Any]],
    model: LinkModel,
    *,
    registry_size: int | None = None,
    name_dob_counts: Mapping[str, tuple[int, int]] | None = None,
    namesake_risks: Mapping[str, float] | None = None,
) -> LinkResult:
    """Decide one dose record against candidate registry rows (best first, at most 3 kept).

    `name_dob_counts` maps a candidate's citizen_id to how many citizens of the whole registry
    bear its folded family and given name with a date of birth near its own (itself included:
    the bulk run's `lk_near` + 1), and its whole folded name, date of birth and sex (`n_nds`);
    without it they are counted among the candidates given (a lower bound: the uniqueness rule
    is then only as safe as the registry service's candidate search is wide). `namesake_risks`
    maps a candidate's citizen_id to the namesake rule's risk (`decide.registry_namesakes`, the
    bulk run's `lk_namesakes.risk`); without it that rule links nobody online."""
    size = int(registry_size or model.trained.get("registry_size") or 1_000_000)
    dose = dose_features(details)
    rows = [citizen_features(c) for c in candidates]
    for r in rows:
        if r["id12"] is not None and dose.get("id_raw") == r["cid"] and not _corrected(dose, r):
            return LinkResult(
                "verified", r["cid"], 1.0, [], [Candidate(r["cid"], 1.0, math.inf)], None
            )
    scored = []
    for r in rows:
        w, fields = pair_weights(model, dose, r, size)
        if w >= MIN_BITS:  # as the bulk scorer: too weak to matter, not even as a competitor
            scored.append((w, r, fields))
    scored.sort(key=lambda s: (-s[0], s[1]["cid"]))
    if not scored:
        return LinkResult("unmatched", None, None, [], [], "no_candidate")
    top = max(s[0] for s in scored)
    denom = 2.0 ** (-top) + sum(2.0 ** (s[0] - top) for s in scored)
    cands = [Candidate(r["cid"], 2.0 ** (w - top) / denom, round(w, 2), f) for w, r, f in scored]
    best_w, best_r, _ = scored[0]
    margin = best_w - scored[1][0] if len(scored) > 1 else math.inf
    p = cands[0].probability
    t = model.thresholds
    has_id = dose["id12"] is not None or dose["id9"] is not None
    own = any(
        (dose["id12"] is not None and dose["id12"] == r["id12"])
        or (dose["id9"] is not None and dose["id9"] == r["id9"])
        for r in rows
    )
    levels = {c.name: c.level_of(dose, best_r) for c in COMPARISONS}
    second_given = GIVEN.level_of(dose, scored[1][1]) if len(scored) > 1 else None
    if name_dob_counts is not None and best_r["cid"] in name_dob_counts:
        n_near, n_nds = name_dob_counts[best_r["cid"]]
    else:

        def same(r: Row, keys: tuple[str, ...]) -> bool:
            return all(r.get(k) == best_r.get(k) for k in keys)

        near = GUARD_LEVELS["dob_other"]
        n_near = sum(same(r, ("fam", "giv")) and DOB.level_of(r, best_r) not in near for r in rows)
        n_nds = sum(same(r, ("nf", "dy", "dm", "dd", "sex")) for r in rows)
    given_far = (
        dose.get("giv") is not None
        and best_r.get("giv") is not None
        and levenshtein(dose["giv"], best_r["giv"]) >= GIVEN_FAR_EDITS
        and not words_in(dose["giv"], best_r.get("nf"))
        and not words_in(best_r["giv"], dose.get("nf"))
        and not _run_together(dose["giv"], best_r.get("nf"))
        and not _run_together(best_r["giv"], dose.get("nf"))
    )
    reason = guard(levels, second_given, has_id, own, n_nds - 1, given_far)
    same_name = all(
        dose.get(k) is not None and dose.get(k) == best_r.get(k) for k in ("fam", "giv")
    )
    unique = unique_in_registry(levels, same_name, n_near - 1)
    risk = namesake_risks.get(best_r["cid"]) if namesake_risks is not None else None
    namesakes_decide = registry_namesakes(levels, same_name, risk, p)
    if reason == "not_unique_in_registry" and namesakes_decide:
        reason = None  # the namesakes were weighed one by one
    unique = unique or namesakes_decide
    if reason is None and p < t.auto_probability and not unique:
        reason = "below_threshold"
    elif reason is None and margin < t.margin_bits:
        reason = "ambiguous"
    top3 = cands[:3]
    if reason is None:
        return LinkResult("auto_linked", best_r["cid"], p, _corrected(dose, best_r), top3, None)
    if p >= t.review_probability:
        return LinkResult("review", None, p, [], top3, reason)
    return LinkResult("unmatched", None, p, [], [], "no_plausible_candidate")


def _run_together(given: str, full: str | None) -> bool:
    """Whether `given` is the last letters of `full` with its spaces taken out (words typed
    together: "thihanh" for "nguyen thi hanh"), as decide.py's SQL tests it."""
    return full is not None and full.replace(" ", "").endswith(given)
