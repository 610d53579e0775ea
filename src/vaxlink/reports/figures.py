"""The daily figures: computed set-based in SQL (SQLite and PostgreSQL alike) and kept per day in
`report_daily_figures`, wards first, then rolled up ward → district → province → nation.

"As of day D" means as of the end of D in Viet Nam (UTC+7, midnight to midnight). While D is
still running (or in the future) doses stand as they are now. For a day that has ended, each
dose's status is rebuilt from its history: the latest decision written before the end of D
(`dose_link.decided_at`: linkage runs and reviewers' decisions) or the latest status change of a
correction (`dose_correction`, field `status`); a dose with a history but nothing before the end
of D was still pending; a dose with no history at all stands as it is now. Doses count from the
start of their import batch; approvals from `approved_at`; certificates from `created_at`,
revocations from `revoked_at`; citizen reports from `created_at` and `resolved_at`.

Where a row lives: a dose and a citizen report by their own ward (its district and province are
taken from the list of administrative units when the ward is known there, so the chain is always
consistent), a person and a certificate by the person's residence in the registry.

People are vaccinated people: a verified person is a registry citizen one of whose doses is
linked; a person not yet verified is someone whose records are not linked, told apart by the ID
number the records carry or, without one, by name and date of birth (`PERSON_KEY`), placed at the
ward of their latest record, and not counted when any linked record carries the same key or
their ID is a verified citizen's. Residents never vaccinated are in no figure. People without a
chip card are vaccinated people none of whose records carries a 12-digit number (an old 9-digit
CMND, or none): the commune police identify them in person. Doses on or after the identity-first
date (`IDENTITY_FIRST_SINCE`, 20/10/2021: identify first, then vaccinate) whose identity is not
verified are counted apart: by the campaign's rule they should not exist.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Date, bindparam, inspect, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

from vaxlink.db import UtcDateTime
from vaxlink.reports.models import COUNT_METRICS, MEDIAN_METRIC

#: Viet Nam keeps UTC+7 all year: a fixed offset makes every day boundary reproducible.
VN_TZ: Final = dt.timezone(dt.timedelta(hours=7), "ICT")
#: Statuses of a dose the linkage or a reviewer has decided (a dose "sent for verification").
SENT: Final = ("verified", "auto_linked", "review", "unmatched", "invalid")
#: Decided statuses that tie a dose to a registry citizen (the ministry's "verified").
LINKED: Final = ("verified", "auto_linked")
LEGACY: Final = "2008-2025"
#: A certificate counts as expiring when it ends within this many days.
EXPIRY_WINDOW: Final = dt.timedelta(days=30)
LEVELS: Final = ("nation", "province", "district", "ward")
#: From this day a dose is entered only after the person's identity was verified (the Ministry's
#: identity-first rule); the same date as `vaxlink.cleaning.entry.IDENTITY_FIRST_SINCE`.
IDENTITY_FIRST_SINCE: Final = dt.date(2021, 10, 20)
#: A 12-digit number on a record: the chip card's (CCCD), as written or with Excel's lost zeros.
CHIP_KINDS: Final = ("cccd12", "cccd12_lost_zeros")
#: Who a record not linked to a citizen is: its ID number, else its name and date of birth.
PERSON_KEY: Final = "COALESCE(id_number, name_folded || '|' || COALESCE(date_of_birth, ''))"
_GEO: Final = ("province_code", "district_code", "ward_code")


def end_of_day(day: dt.date) -> dt.datetime:
    """The instant day `day` ends in Viet Nam (the next local midnight), in UTC."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), VN_TZ).astimezone(dt.UTC)


def local_day(moment: dt.datetime) -> dt.date:
    """The day in Viet Nam at instant `moment`."""
    return moment.astimezone(VN_TZ).date()


@dataclass(frozen=True)
class RefreshResult:
    """What one refresh wrote."""

    day: dt.date
    final: bool
    rows: int


def _units(alias: str, ward: str, district: str, province: str) -> tuple[str, str]:
    """(joins, select list) placing a row in its ward, district and province: from the list of
    units when the ward (or district) is known there, from the row's own codes otherwise."""
    joins = (
        f" LEFT JOIN admin_unit {alias}w ON {alias}w.list_version = '{LEGACY}' "
        f"AND {alias}w.level = 'ward' AND {alias}w.code = {ward}"
        f" LEFT JOIN admin_unit {alias}d ON {alias}d.list_version = '{LEGACY}' "
        f"AND {alias}d.level = 'district' AND {alias}d.code = COALESCE({alias}w.parent_code, {district})"
    )
    cols = (
        f"COALESCE({alias}d.parent_code, {province}, '') AS province_code, "
        f"COALESCE({alias}w.parent_code, {district}, '') AS district_code, "
        f"COALESCE({ward}, '') AS ward_code"
    )
    return joins, cols


def _has_table(session: Session, name: str) -> bool:
    return inspect(session.connection()).has_table(name)


def _events(session: Session) -> str:
    """Every recorded change of a dose's status: decisions, and corrections' status changes."""
    parts = [
        "SELECT dose_record_id AS dose_id, decided_at AS at, 0 AS src, id AS seq, status, "
        "citizen_id FROM dose_link"
    ]
    if _has_table(session, "dose_correction"):
        parts.append(
            "SELECT dose_record_id, at, 1, id, new_value, NULL FROM dose_correction "
            "WHERE field = 'status'"
        )
    return " UNION ALL ".join(parts)


def _doses_at(session: Session, live: bool) -> str:
    """One row per dose recorded before :t with its unit, site, status and citizen as of :t."""
    joins, cols = _units("u", "d.ward_code", "d.district_code", "d.province_code")
    base = (
        f"FROM dose_record d JOIN import_batch b ON b.id = d.batch_id{joins}"
        if live
        else f"FROM dose_record d JOIN import_batch b ON b.id = d.batch_id{joins} "
        f"LEFT JOIN (SELECT dose_id, status, citizen_id FROM (SELECT e.dose_id, e.status, "
        f"e.citizen_id, ROW_NUMBER() OVER (PARTITION BY e.dose_id ORDER BY e.at DESC, "
        f"e.src DESC, e.seq DESC) AS rn FROM ({_events(session)}) e WHERE e.at < :t) x "
        f"WHERE rn = 1) le ON le.dose_id = d.id "
        f"LEFT JOIN (SELECT DISTINCT dose_id FROM ({_events(session)}) e2) ae ON ae.dose_id = d.id"
    )
    if live:
        state = "d.status AS status, d.citizen_id AS citizen_id"
    else:
        state = (
            "CASE WHEN le.dose_id IS NOT NULL THEN le.status WHEN ae.dose_id IS NOT NULL "
            "THEN 'pending' ELSE d.status END AS status, "
            "CASE WHEN le.dose_id IS NOT NULL THEN COALESCE(le.citizen_id, d.citizen_id) "
            "WHEN ae.dose_id IS NOT NULL THEN NULL ELSE d.citizen_id END AS citizen_id"
        )
    return (
        f"SELECT d.id AS dose_id, {cols}, COALESCE(d.facility_code, '') AS site_code, {state}, "
        "d.id_number, d.id_kind, d.name_folded, d.date_of_birth, d.vaccination_date "
        f"{base} WHERE b.started_at < :t"
    )


def _in(values: Iterable[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _count_if(cond: str) -> str:
    return f"SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)"


def _dose_metrics() -> dict[str, str]:
    sent = f"status IN ({_in(SENT)})"
    out = {
        "doses_recorded": "COUNT(*)",
        "doses_pending": _count_if(f"NOT ({sent})"),
        "doses_sent": _count_if(sent),
    }
    for status in SENT:
        out[f"doses_{status}"] = _count_if(f"status = '{status}'")
    out["doses_identity_first_unverified"] = _count_if(
        f"vaccination_date >= '{IDENTITY_FIRST_SINCE.isoformat()}' "
        f"AND status NOT IN ({_in(LINKED)})"
    )
    return out


def _people(doses: str, cjoins: str, ccols: str) -> str:
    """One row per vaccinated person: (province, district, ward, verified, no_chip)."""
    linked = f"status IN ({_in(LINKED)})"
    chip = f"id_kind IN ({_in(CHIP_KINDS)})"
    return (
        f"WITH d AS ({doses}), "
        # each verified citizen once, with whether any linked record carries a chip number
        f"v AS (SELECT citizen_id, MAX(CASE WHEN {chip} THEN 1 ELSE 0 END) AS chip FROM d "
        f"WHERE {linked} AND citizen_id IS NOT NULL GROUP BY citizen_id), "
        # who the linked records are, by the records' own key: they are verified people
        f"vk AS (SELECT DISTINCT {PERSON_KEY} AS k FROM d WHERE {linked}), "
        f"n AS (SELECT province_code, district_code, ward_code, {PERSON_KEY} AS k, "
        f"CASE WHEN {chip} THEN 1 ELSE 0 END AS chip, ROW_NUMBER() OVER (PARTITION BY "
        f"{PERSON_KEY} ORDER BY vaccination_date DESC, dose_id DESC) AS rn "
        f"FROM d WHERE NOT ({linked})) "
        f"SELECT {ccols}, 1 AS verified, 1 - v.chip AS no_chip "
        f"FROM v JOIN citizen c ON c.citizen_id = v.citizen_id{cjoins} "
        "UNION ALL SELECT province_code, district_code, ward_code, 0, 1 - chip FROM n "
        "WHERE rn = 1 AND k NOT IN (SELECT k FROM vk) AND k NOT IN (SELECT citizen_id FROM v)"
    )


def _tickets(session: Session) -> str | None:
    """Citizen reports created before :t with their place, site and state as of :t."""
    if not _has_table(session, "feedback_ticket"):
        return None
    joins, cols = _units("u", "k.ward_code", "k.district_code", "k.province_code")
    return (
        f"SELECT {cols}, COALESCE(k.facility_code, '') AS site_code, k.status, k.created_at, "
        "k.due_at, k.resolved_at, CASE WHEN k.resolved_at IS NOT NULL AND k.resolved_at < :t "
        "THEN 1 ELSE 0 END AS closed "
        f"FROM feedback_ticket k{joins} WHERE k.created_at < :t"
    )


_TICKET_METRICS: Final = {
    "tickets_open": _count_if("closed = 0"),
    "tickets_overdue": _count_if("closed = 0 AND due_at < :ref"),
    "tickets_resolved": _count_if("closed = 1 AND status = 'resolved'"),
}


def _source(group: tuple[str, ...], metrics: dict[str, str], body: str) -> str:
    """One aggregate over `body`, with every figure it does not provide as 0."""
    cols = [*group]
    cols += [f"{metrics[m]} AS {m}" if m in metrics else f"0 AS {m}" for m in COUNT_METRICS]
    by = ", ".join(group)
    return f"SELECT {', '.join(cols)} FROM ({body}) s GROUP BY {by}"


def _ward_sources(session: Session, live: bool) -> list[str]:
    doses = _doses_at(session, live)
    sources = [_source(_GEO, _dose_metrics(), doses)]
    cjoins, ccols = _units("u", "c.ward_code", "c.district_code", "c.province_code")
    sources.append(
        _source(
            _GEO,
            {
                "people_verified": "SUM(verified)",
                "people_not_verified": "SUM(1 - verified)",
                "people_without_chip": "SUM(no_chip)",
            },
            _people(doses, cjoins, ccols),
        )
    )
    sources.append(_source(_GEO, {"doses_approved": "COUNT(DISTINCT dose_id)"}, _approved(session)))
    certs = (
        f"SELECT {ccols}, cert.created_at, cert.exp, cert.status, cert.status_changed_at, "
        "r.revoked_at FROM certificate cert "
        "LEFT JOIN citizen c ON c.citizen_id = cert.citizen_id"
        f"{cjoins} LEFT JOIN revocation r ON r.certificate_id = cert.id "
        "WHERE cert.created_at < :t"
    )
    sources.append(
        _source(
            _GEO,
            {
                "certificates_issued": "COUNT(*)",
                "certificates_revoked": _count_if("revoked_at IS NOT NULL AND revoked_at < :t"),
                "certificates_expiring": _count_if(
                    "exp > :ref AND exp <= :ref30 AND NOT (status <> 'active' "
                    "AND status_changed_at IS NOT NULL AND status_changed_at < :t) "
                    "AND NOT (revoked_at IS NOT NULL AND revoked_at < :t)"
                ),
            },
            certs,
        )
    )
    tickets = _tickets(session)
    if tickets:
        sources.append(_source(_GEO, _TICKET_METRICS, tickets))
    return sources


def _approved(session: Session) -> str:
    """Doses under an approval signed before :t, with their unit and site."""
    joins, cols = _units("u", "d.ward_code", "d.district_code", "d.province_code")
    return (
        f"SELECT ar.dose_id, {cols}, COALESCE(d.facility_code, '') AS site_code "
        "FROM facility_approval_record ar JOIN facility_approval a ON a.id = ar.approval_id "
        f"JOIN dose_record d ON d.id = ar.dose_id{joins} WHERE a.approved_at < :t"
    )


def _site_sources(session: Session, live: bool) -> list[str]:
    group = ("province_code", "district_code", "site_code")
    sources = [
        _source(group, _dose_metrics(), _doses_at(session, live)),
        _source(group, {"doses_approved": "COUNT(DISTINCT dose_id)"}, _approved(session)),
    ]
    tickets = _tickets(session)
    if tickets:
        sources.append(_source(group, _TICKET_METRICS, tickets))
    return sources


def _select(group_cols: dict[str, str], sources: list[str]) -> str:
    """The sum of `sources` per group; `group_cols` maps each key column to its value."""
    keys = ("province_code", "district_code", "ward_code", "site_code")
    sums = ", ".join(f"SUM({m})" for m in COUNT_METRICS)
    sel = ", ".join(group_cols[k] for k in keys)
    by = ", ".join(group_cols[k] for k in keys if group_cols[k].startswith("u."))
    union = " UNION ALL ".join(sources)
    return f"SELECT {sel}, {sums} FROM ({union}) u GROUP BY {by}"


def _hours(session: Session) -> str:
    if session.get_bind().dialect.name == "postgresql":
        return "EXTRACT(EPOCH FROM (resolved_at - created_at)) / 3600.0"
    return "(julianday(resolved_at) - julianday(created_at)) * 24.0"


def _medians(session: Session) -> TextClause | None:
    """Median hours from report to resolution per unit at every level and per site."""
    tickets = _tickets(session)
    if tickets is None:
        return None
    keyed = {
        "nation": "'' AS p, '' AS dd, '' AS w, '' AS f",
        "province": "province_code, '', '', ''",
        "district": "province_code, district_code, '', ''",
        "ward": "province_code, district_code, ward_code, ''",
        "site": "province_code, district_code, '', site_code",
    }
    resolved = f"SELECT * FROM ({tickets}) t WHERE closed = 1 AND status = 'resolved'"
    parts = " UNION ALL ".join(
        f"SELECT '{lv}' AS lv, {cols}, {_hours(session)} AS h FROM ({resolved}) r{i}"
        for i, (lv, cols) in enumerate(keyed.items())
    )
    ranked = (
        "SELECT lv, p, dd, w, f, h, ROW_NUMBER() OVER (PARTITION BY lv, p, dd, w, f ORDER BY h) "
        "AS rn, COUNT(*) OVER (PARTITION BY lv, p, dd, w, f) AS n "
        f"FROM ({parts}) a"
    )
    return q(
        f"SELECT lv, p, dd, w, f, AVG(h) FROM ({ranked}) k "
        "WHERE rn IN ((n + 1) / 2, (n + 2) / 2) GROUP BY lv, p, dd, w, f"
    )


def _params(day: dt.date, now: dt.datetime) -> tuple[dict[str, Any], bool]:
    t = end_of_day(day)
    live = t > now
    ref = min(t, now)
    return {"t": t, "ref": ref, "ref30": ref + EXPIRY_WINDOW, "day": day}, live


_STAMPS: Final = frozenset({"t", "ref", "ref30", "computed_at"})


def q(sql: str) -> TextClause:
    """`text(sql)` with instants bound as UTC and days as dates on both stores."""
    clause = text(sql)
    names = clause.compile().params
    return clause.bindparams(
        *(bindparam(n, type_=UtcDateTime()) for n in names if n in _STAMPS),
        *(bindparam(n, type_=Date()) for n in names if n in ("day", "since")),
    )


#: (level, province, district, ward, site): the address of one figures row.
Key = tuple[str, str, str, str, str]


@dataclass
class DayFigures:
    """Every figures row of one day, computed but not yet stored: counts and medians by key."""

    day: dt.date
    final: bool
    computed_at: dt.datetime
    counts: dict[Key, list[int]]
    medians: dict[Key, float]

    def provinces(self) -> set[str]:
        """The province codes that have rows (the nation row excluded)."""
        return {k[1] for k in self.counts if k[0] != "nation"}

    def rows(self, province: str | None) -> list[dict[str, Any]]:
        """Rows to insert: the nation row for None, else every row of `province` but the nation."""
        out = []
        for key, counts in self.counts.items():
            if (key[0] == "nation") != (province is None) or (province and key[1] != province):
                continue
            lv, p, d, w, f = key
            out.append({"day": self.day, "level": lv, "province_code": p, "district_code": d,
                        "ward_code": w, "site_code": f, "computed_at": self.computed_at,
                        "final": self.final, MEDIAN_METRIC: self.medians.get(key),
                        **dict(zip(COUNT_METRICS, counts, strict=True))})  # fmt: skip
        return out


def compute_day(session: Session, day: dt.date, *, now: dt.datetime) -> DayFigures:
    """Every row of `day` (wards and sites from the store, their roll-ups, the medians), read
    only: on SQLite (WAL) a long computation takes no write lock and blocks no writer."""
    params, live = _params(day, now)
    ward_keys = {"province_code": "u.province_code", "district_code": "u.district_code",
                 "ward_code": "u.ward_code", "site_code": "''"}  # fmt: skip
    site_keys = {"province_code": "u.province_code", "district_code": "u.district_code",
                 "ward_code": "''", "site_code": "u.site_code"}  # fmt: skip
    counts: dict[Key, list[int]] = {("nation", "", "", "", ""): [0] * len(COUNT_METRICS)}
    for r in session.execute(q(_select(ward_keys, _ward_sources(session, live))), params):
        p, d, w = str(r[0]), str(r[1]), str(r[2])
        values = [int(v or 0) for v in r[4:]]
        counts[("ward", p, d, w, "")] = values
        for up in (("district", p, d, "", ""), ("province", p, "", "", ""),
                   ("nation", "", "", "", "")):  # fmt: skip
            total = counts.setdefault(up, [0] * len(COUNT_METRICS))
            for i, v in enumerate(values):
                total[i] += v
    for r in session.execute(q(_select(site_keys, _site_sources(session, live))), params):
        counts[("site", str(r[0]), str(r[1]), "", str(r[3]))] = [int(v or 0) for v in r[4:]]
    medians: dict[Key, float] = {}
    clause = _medians(session)
    if clause is not None:
        for r in session.execute(clause, params):
            key = (str(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]))
            if key in counts:
                medians[key] = float(r[5])
    return DayFigures(day, not live, now, counts, medians)


def write_rows(session: Session, figures: DayFigures, province: str | None) -> int:
    """Replace the stored rows of one province of the day (None: the nation row) with
    `figures`' own; one short write. Returns the rows written."""
    params: dict[str, Any] = {"day": figures.day, "p": province}
    where = "level = 'nation'" if province is None else "level <> 'nation' AND province_code = :p"
    session.execute(q(f"DELETE FROM report_daily_figures WHERE day = :day AND {where}"), params)
    rows = figures.rows(province)
    if rows:
        names = ["day", "level", *_GEO, "site_code", "computed_at", "final", *COUNT_METRICS,
                 MEDIAN_METRIC]  # fmt: skip
        session.execute(
            q(f"INSERT INTO report_daily_figures ({', '.join(names)}) "
              f"VALUES ({', '.join(':' + n for n in names)})"),
            rows,
        )  # fmt: skip
    return len(rows)


def stored_provinces(session: Session, day: dt.date) -> set[str]:
    """The provinces that have stored rows on `day`."""
    rows = session.execute(
        q("SELECT DISTINCT province_code FROM report_daily_figures WHERE day = :day "
          "AND level <> 'nation'"),
        {"day": day},
    ).scalars()  # fmt: skip
    return {str(r) for r in rows}


def refresh_day(session: Session, day: dt.date, *, now: dt.datetime) -> RefreshResult:
    """(Re)compute every row of `day` in the caller's transaction (CLI `--date`, tests); the
    scheduler uses `vaxlink.reports.refresh`, which writes province by province."""
    figures = compute_day(session, day, now=now)
    written = 0
    for province in sorted(figures.provinces() | stored_provinces(session, day)):
        written += write_rows(session, figures, province)
    written += write_rows(session, figures, None)
    session.flush()
    return RefreshResult(day=day, final=figures.final, rows=written)


def computed_days(session: Session) -> dict[dt.date, bool]:
    """Every day that has figures, and whether they are final."""
    rows = session.execute(
        text("SELECT day, final FROM report_daily_figures WHERE level = 'nation'")
    ).all()
    return {_as_date(r[0]): bool(r[1]) for r in rows}


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def refresh_due(
    session: Session, *, now: dt.datetime, backfill_days: int = 0
) -> list[RefreshResult]:
    """Refresh today, make final every earlier day that is computed but not final, and compute
    the `backfill_days` days before today that have no figures yet."""
    today = local_day(now)
    days = computed_days(session)
    todo = {d for d, final in days.items() if not final and d < today}
    todo |= {
        today - dt.timedelta(days=k)
        for k in range(1, backfill_days + 1)
        if today - dt.timedelta(days=k) not in days
    }
    todo.add(today)
    return [refresh_day(session, d, now=now) for d in sorted(todo)]
