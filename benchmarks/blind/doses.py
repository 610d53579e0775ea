"""Dose-record generator (§2) with labelled errors, and the truth file.

Errors are applied per record in a Python loop over the dirty records only (~27%); clean fields
are built with numpy.
"""

from __future__ import annotations

import calendar
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from . import model, names
from .population import ROLE_CHILD, Population, generate, registry_table

ABSENT = "ABSENT"
VACCINES = [
    ("AstraZeneca", 0.35),
    ("Pfizer", 0.25),
    ("Vero Cell", 0.25),
    ("Moderna", 0.10),
    ("Abdala", 0.05),
]


@dataclass
class Rec:
    """One dose record while errors are applied to it."""

    words: list[str]  # name words, family name first
    n_middle: int
    y: int
    m: int
    d: int
    dob_text: str | None  # set by errors that change the date's written form
    sex: str  # "M", "F" or ""
    id_number: str
    labels: list[str] = field(default_factory=list)


@dataclass
class Context:
    pop: Population
    person: int
    rng: np.random.Generator
    relatives: Callable[[int], list[int]]
    neighbour: Callable[[int], int]


# ------------------------------------------------------------------ error functions
# Each returns False when the error does not apply to the record (the record is left unchanged).


def _rint(ctx: Context, n: int) -> int:
    return int(ctx.rng.integers(0, n))


def dob_day_pm1(r: Rec, ctx: Context) -> bool:
    last = calendar.monthrange(r.y, r.m)[1]
    step = 1 if ctx.rng.random() < 0.5 else -1
    if not 1 <= r.d + step <= last:
        step = -step
    r.d += step
    return True


def dob_day_pm10(r: Rec, ctx: Context) -> bool:
    last = calendar.monthrange(r.y, r.m)[1]
    if r.d + 10 <= last and (r.d <= 10 or ctx.rng.random() < 0.5):
        r.d += 10
    else:
        r.d -= 10
    return True


def dob_jan1(r: Rec, ctx: Context) -> bool:
    if (r.m, r.d) == (1, 1):
        return False
    r.m, r.d = 1, 1
    return True


def dob_year_only(r: Rec, ctx: Context) -> bool:
    r.dob_text = f"{r.y:04d}"
    return True


def dob_year_pm1(r: Rec, ctx: Context) -> bool:
    r.y += 1 if ctx.rng.random() < 0.5 else -1
    r.d = min(r.d, calendar.monthrange(r.y, r.m)[1])
    return True


def dob_day_month_swap(r: Rec, ctx: Context) -> bool:
    if r.d > 12 or r.d == r.m:
        return False
    r.d, r.m = r.m, r.d
    return True


def dob_two_digit_year(r: Rec, ctx: Context) -> bool:
    r.dob_text = f"{r.d:02d}/{r.m:02d}/{r.y % 100:02d}"
    return True


def sex_wrong(r: Rec, ctx: Context) -> bool:
    r.sex = "F" if r.sex == "M" else "M"
    return True


def sex_missing(r: Rec, ctx: Context) -> bool:
    r.sex = ""
    return True


def id_missing(r: Rec, ctx: Context) -> bool:
    r.id_number = ""
    return True


def id_last_digit_dropped(r: Rec, ctx: Context) -> bool:
    r.id_number = r.id_number[:-1]
    return True


def id_lost_leading_zero(r: Rec, ctx: Context) -> bool:
    r.id_number = str(int(r.id_number))  # a spreadsheet reads the ID as a number
    return True


def id_extra_digit(r: Rec, ctx: Context) -> bool:
    i = _rint(ctx, 12)
    r.id_number = r.id_number[: i + 1] + r.id_number[i:]
    return True


def id_digit_typo(r: Rec, ctx: Context) -> bool:
    i = _rint(ctx, 12)
    opts = names.KEYPAD_NEIGHBOURS[r.id_number[i]]
    r.id_number = r.id_number[:i] + opts[_rint(ctx, len(opts))] + r.id_number[i + 1 :]
    return True


def id_transposition(r: Rec, ctx: Context) -> bool:
    s = r.id_number
    pos = [i for i in range(11) if s[i] != s[i + 1]]
    i = pos[_rint(ctx, len(pos))]
    r.id_number = s[:i] + s[i + 1] + s[i] + s[i + 2 :]
    return True


def id_ocr(r: Rec, ctx: Context) -> bool:
    s = list(r.id_number)
    pos = [i for i, c in enumerate(s) if c in names.OCR]
    k = min(len(pos), 1 + _rint(ctx, 2))
    for i in ctx.rng.choice(pos, size=k, replace=False):
        s[i] = names.OCR[s[i]] if s[i] != "1" or ctx.rng.random() < 0.6 else "I"
    r.id_number = "".join(s)
    return True


def id_relative(r: Rec, ctx: Context) -> bool:
    rel = ctx.relatives(ctx.person)
    if not rel:
        return False
    r.id_number = ctx.pop.citizen_id[rel[_rint(ctx, len(rel))]]
    return True


def id_mother_on_child(r: Rec, ctx: Context) -> bool:
    p = ctx.pop
    mother = int(p.mother[ctx.person])
    if mother < 0 or p.role[ctx.person] != ROLE_CHILD or r.y < 2009:
        return False
    r.id_number = p.citizen_id[mother]
    return True


def id_neighbour(r: Rec, ctx: Context) -> bool:
    other = ctx.neighbour(ctx.person)
    if other < 0:
        return False
    r.id_number = ctx.pop.citizen_id[other]
    return True


def id_old_cmnd(r: Rec, ctx: Context) -> bool:
    old = ctx.pop.old_id[ctx.person]
    if not old:
        return False
    r.id_number = old
    return True


def _letters(word: str) -> list[int]:
    return [
        i
        for i, c in enumerate(word)
        if names.strip_diacritics(c).lower() in names.QWERTY_NEIGHBOURS
    ]


def name_typo_keyboard(r: Rec, ctx: Context) -> bool:
    w = _rint(ctx, len(r.words))
    word = r.words[w]
    pos = _letters(word)
    i = pos[_rint(ctx, len(pos))]
    base = names.strip_diacritics(word[i]).lower()
    opts = names.QWERTY_NEIGHBOURS[base]
    new = opts[_rint(ctx, len(opts))]
    r.words[w] = word[:i] + (new.upper() if word[i].isupper() else new) + word[i + 1 :]
    return True


def name_letter_dropped(r: Rec, ctx: Context) -> bool:
    cand = [k for k, w in enumerate(r.words) if len(w) >= 3]
    if not cand:
        return False
    w = cand[_rint(ctx, len(cand))]
    i = 1 + _rint(ctx, len(r.words[w]) - 1)
    r.words[w] = r.words[w][:i] + r.words[w][i + 1 :]
    return True


def _has_marks(word: str) -> bool:
    return names.strip_diacritics(word) != word


def name_telex_residue(r: Rec, ctx: Context) -> bool:
    cand = [k for k, w in enumerate(r.words) if _has_marks(w)]
    if not cand:
        return False
    w = cand[_rint(ctx, len(cand))]
    r.words[w] = names.telex(r.words[w], keep_tone=ctx.rng.random() < 0.7)
    return True


def name_no_diacritics(r: Rec, ctx: Context) -> bool:
    if not any(_has_marks(w) for w in r.words):
        return False
    r.words = [names.strip_diacritics(w) for w in r.words]
    return True


def name_diacritic_wrong(r: Rec, ctx: Context) -> bool:
    # one word; its toned vowel if it has one (Hương -> Hướng), else any vowel (Thanh -> Thành)
    cand = [k for k, w in enumerate(r.words) if any(c.lower() in names.TONE_ROW for c in w)]
    if not cand:
        return False
    k = cand[_rint(ctx, len(cand))]
    vowels = [i for i, c in enumerate(r.words[k]) if c.lower() in names.TONE_ROW]
    toned = [
        i for i in vowels if names.TONE_ROW[r.words[k][i].lower()].index(r.words[k][i].lower()) > 0
    ]
    spots = toned or vowels
    i = spots[_rint(ctx, len(spots))]
    c = r.words[k][i]
    row = [x for x in names.TONE_ROW[c.lower()] if x != c.lower()]
    new = row[_rint(ctx, len(row))]
    r.words[k] = r.words[k][:i] + (new.upper() if c.isupper() else new) + r.words[k][i + 1 :]
    return True


def name_tone_placement(r: Rec, ctx: Context) -> bool:
    old = names.old_tone_placement(" ".join(r.words))
    if old is None:
        return False
    r.words = old.split(" ")
    return True


def name_middle_dropped(r: Rec, ctx: Context) -> bool:
    if r.n_middle == 0:
        return False
    r.words = [r.words[0], *r.words[1 + r.n_middle :]]
    r.n_middle = 0
    return True


def name_family_given_swapped(r: Rec, ctx: Context) -> bool:
    r.words = [r.words[-1], *r.words[1:-1], r.words[0]]
    return True


def name_words_merged(r: Rec, ctx: Context) -> bool:
    i = _rint(ctx, len(r.words) - 1)
    r.words = [*r.words[:i], r.words[i] + r.words[i + 1], *r.words[i + 2 :]]
    return True


ERRORS: dict[str, Callable[[Rec, Context], bool]] = {
    name: globals()[name] for name in model.ERROR_WEIGHTS
}


# ------------------------------------------------------------------ rendering


def _render_name(words: list[str], rng: np.random.Generator, fmts: list[str]) -> str:
    u = rng.random(3)
    if u[0] < model.FORMAT_RATES["name_extra_spaces"]:
        s = "  ".join(words) + " "
        fmts.append("name_extra_spaces")
    else:
        s = " ".join(words)
    if u[1] < model.FORMAT_RATES["name_upper"]:
        s = s.upper()
        fmts.append("name_upper")
    elif u[1] < model.FORMAT_RATES["name_upper"] + model.FORMAT_RATES["name_lower"]:
        s = s.lower()
        fmts.append("name_lower")
    if u[2] < model.FORMAT_RATES["name_nfd"]:
        s = unicodedata.normalize("NFD", s)
        fmts.append("name_nfd")
    return s


def _render_dob(r: Rec, rng: np.random.Generator, fmts: list[str]) -> str:
    if r.dob_text is not None:
        return r.dob_text
    u = rng.random()
    if u < model.FORMAT_RATES["dob_ddmmyyyy"] / 3:
        fmts.append("dob_d_m_yyyy")
        return f"{r.d}/{r.m}/{r.y:04d}"
    if u < model.FORMAT_RATES["dob_ddmmyyyy"]:
        fmts.append("dob_dd_mm_yyyy")
        return f"{r.d:02d}/{r.m:02d}/{r.y:04d}"
    return f"{r.y:04d}-{r.m:02d}-{r.d:02d}"


def _render_sex(sex: str, rng: np.random.Generator, fmts: list[str]) -> str:
    if not sex:
        return ""
    u = rng.random(2)
    s = sex
    if u[0] < model.FORMAT_RATES["sex_vietnamese"]:
        s = "Nam" if sex == "M" else "Nữ"
        fmts.append("sex_vietnamese")
    if u[1] < 0.25:
        s = s.lower()
        fmts.append("sex_lower")
    return s


def _render_id(s: str, rng: np.random.Generator, fmts: list[str]) -> str:
    if len(s) == 12 and s.isdigit() and rng.random() < model.FORMAT_RATES["id_spaces"]:
        fmts.append("id_spaces")
        return f"{s[:3]} {s[3:6]} {s[6:]}"
    return s


# ------------------------------------------------------------------ generation


def _choose(rng: np.random.Generator, weights: dict[str, float]) -> str:
    keys = list(weights)
    w = np.array([weights[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=w / w.sum()))]


def _apply_errors(r: Rec, ctx: Context, combo: bool) -> None:
    rng = ctx.rng
    for _ in range(8):
        if combo:
            pair = model.COMBOS[int(rng.integers(0, len(model.COMBOS)))]
            trial = Rec(list(r.words), r.n_middle, r.y, r.m, r.d, None, r.sex, r.id_number)
            if all(ERRORS[t](trial, ctx) for t in pair):
                r.__dict__.update(trial.__dict__)
                r.labels = list(pair)
                return
        else:
            t = _choose(rng, model.ERROR_WEIGHTS)
            trial = Rec(list(r.words), r.n_middle, r.y, r.m, r.d, None, r.sex, r.id_number)
            if ERRORS[t](trial, ctx):
                r.__dict__.update(trial.__dict__)
                r.labels = [t]
                return
    name_typo_keyboard(r, ctx)
    r.labels = ["name_typo_keyboard"]


def dose_tables(pop: Population, seed: int) -> tuple[Any, Any]:
    """(doses, truth) as pyarrow tables."""
    import pyarrow as pa

    rng = np.random.default_rng(seed + 1_000_003)
    n = len(pop)
    years = pop.dob.astype("datetime64[Y]").astype(int) + 1970
    vacc = (years <= 2017) & ((rng.random(n) < model.VACCINATED_SHARE) | pop.absent)
    k = np.where(vacc, rng.choice([1, 2, 3], size=n, p=list(model.DOSES_PER_PERSON.values())), 0)
    person = np.repeat(np.arange(n), k)
    starts = np.cumsum(k) - k
    dose_no = np.arange(len(person)) - np.repeat(starts, k) + 1
    m = len(person)
    # first dose between 2021-03-08 and 2022-06-30 (not before age 5), later ones 1-6 months apart
    d0 = np.datetime64("2021-03-08") + (rng.random(n) * 480).astype(int)
    d0 = np.maximum(d0, pop.dob + 5 * 366)
    gap = rng.integers(28, 180, m)
    vdate = d0[person] + np.where(dose_no > 1, gap * (dose_no - 1), 0)
    vacc_kind = rng.choice(len(VACCINES), size=n, p=[v[1] for v in VACCINES])
    vaccine = np.array([v[0] for v in VACCINES], dtype=object)[vacc_kind[person]]
    lot = np.char.add("L", np.char.zfill(rng.integers(0, 10**5, m).astype(str), 5)).astype(object)
    facility = pop.province[person] + np.char.zfill(rng.integers(1, 60, m).astype(str), 3).astype(
        object
    )

    # household and ward indexes for relatives and neighbours
    hh = pop.household
    hh_start = np.searchsorted(hh, np.arange(hh.max() + 1))
    hh_end = np.searchsorted(hh, np.arange(hh.max() + 1), side="right")
    ward_order = np.argsort(pop.ward, kind="stable")
    ward_sorted = pop.ward[ward_order]
    w_start = np.searchsorted(ward_sorted, pop.ward, side="left")
    w_end = np.searchsorted(ward_sorted, pop.ward, side="right")

    def relatives(p: int) -> list[int]:
        h = hh[p]
        return [q for q in range(hh_start[h], hh_end[h]) if q != p]

    def neighbour(p: int) -> int:
        for _ in range(6):
            q = int(ward_order[rng.integers(w_start[p], w_end[p])])
            if hh[q] != hh[p]:
                return q
        return -1

    ctx = Context(pop, 0, rng, relatives, neighbour)
    dirty = rng.random(m) < model.DIRTY_SHARE
    combo = rng.random(m) < model.COMBO_SHARE
    fam, mid, giv = pop.family.tolist(), pop.middle.tolist(), pop.given.tolist()
    dob_y = years.tolist()
    md = pop.dob.astype(object)
    sexes = np.where(pop.male, "M", "F").tolist()
    ids = pop.citizen_id.tolist()
    phone_in = rng.random(m) < model.PHONE_ENTERED
    res_in = rng.random(m) < model.RESIDENCE_ENTERED

    out_name, out_dob, out_sex, out_id, out_labels, out_fmt = [], [], [], [], [], []
    for j, p in enumerate(person.tolist()):
        dd: date = md[p]
        mids = mid[p].split(" ") if mid[p] else []
        r = Rec(
            [fam[p], *mids, giv[p]], len(mids), dob_y[p], dd.month, dd.day, None, sexes[p], ids[p]
        )
        if dirty[j]:
            ctx.person = p
            _apply_errors(r, ctx, bool(combo[j]))
        fmts: list[str] = []
        out_name.append(_render_name(r.words, rng, fmts))
        out_dob.append(_render_dob(r, rng, fmts))
        out_sex.append(_render_sex(r.sex, rng, fmts))
        out_id.append(_render_id(r.id_number, rng, fmts))
        out_labels.append(";".join(r.labels))
        out_fmt.append(";".join(fmts))

    order = rng.permutation(m)
    record_id = np.array([f"VX{i:08d}" for i in range(1, m + 1)], dtype=object)
    truth_id = np.where(pop.absent[person], ABSENT, pop.citizen_id[person])

    def col(values: Any) -> Any:
        return pa.array(np.asarray(values, dtype=object)[order].tolist(), type=pa.string())

    empty = np.full(m, "", dtype=object)
    doses = pa.table(
        {
            "record_id": pa.array(record_id.tolist(), type=pa.string()),
            "full_name": col(out_name),
            "date_of_birth": col(out_dob),
            "sex": col(out_sex),
            "id_number": col(out_id),
            "phone": col(np.where(phone_in, pop.phone[person], empty)),
            "province_code": col(np.where(res_in, pop.province[person], empty)),
            "district_code": col(np.where(res_in, pop.district[person], empty)),
            "ward_code": col(np.where(res_in, pop.ward[person], empty)),
            "vaccine": col(vaccine),
            "lot_number": col(lot),
            "vaccination_date": col(np.datetime_as_string(vdate).astype(object)),
            "dose_number": col(dose_no.astype(str).astype(object)),
            "facility_code": col(facility),
        }
    )
    labels = np.asarray(out_labels, dtype=object)
    truth = pa.table(
        {
            "record_id": pa.array(record_id.tolist(), type=pa.string()),
            "true_citizen_id": col(truth_id),
            "errors": col(labels),
            "n_errors": col(
                np.array([str(s.count(";") + 1) if s else "0" for s in out_labels], dtype=object)
            ),
            "formats": col(out_fmt),
            "absent": col(np.where(pop.absent[person], "1", "0").astype(object)),
        }
    )
    return doses, truth


def write_all(out_dir: Path, n_citizens: int, n_absent: int, seed: int) -> dict[str, Path]:
    """Generate the registry, doses and truth for a seed into out_dir (CSV)."""
    import pyarrow.csv as pacsv

    out_dir.mkdir(parents=True, exist_ok=True)
    pop = generate(n_citizens + n_absent, n_absent, seed)
    files = {
        "registry": out_dir / "registry.csv",
        "doses": out_dir / "doses.csv",
        "truth": out_dir / "truth.csv",
    }
    opts = pacsv.WriteOptions(quoting_style="needed")
    pacsv.write_csv(registry_table(pop), files["registry"], opts)
    doses, truth = dose_tables(pop, seed)
    pacsv.write_csv(doses, files["doses"], opts)
    pacsv.write_csv(truth, files["truth"], opts)
    return files
