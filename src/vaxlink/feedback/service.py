"""The citizen portal's operations: look up without giving data away, see one's record, report.

Also the set-based figures the dashboard reads (`ticket_figures`).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, and_, bindparam, case, func, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from vaxlink.auth import audit
from vaxlink.certificates.issuance import active_of
from vaxlink.certificates.models import Certificate, CertificateKind, CertificateStatus
from vaxlink.errors import InvalidInput
from vaxlink.feedback import otp, ratelimit
from vaxlink.feedback.errors import CitizenSessionMissing, LookupInvalid
from vaxlink.feedback.models import CitizenSession, Ticket
from vaxlink.feedback.tickets import OPEN, Notice
from vaxlink.identity import classify_id, fold_name, normalise_id, parse_date
from vaxlink.identity.errors import DateParseError
from vaxlink.identity.idnumber import IdKind
from vaxlink.records.service import DoseRecord
from vaxlink.registry.service import Citizen
from vaxlink.settings import Settings

VIEW_CERTIFICATE: Final = "feedback.citizen.view_certificate"


@dataclass(frozen=True)
class LookupForm:
    """What the citizen typed, normalised."""

    id_number: str
    name_folded: str
    date_of_birth: str


def parse_lookup(id_number: str, full_name: str, date_of_birth: str) -> LookupForm:
    """Check the form's shape only (never whether anybody matches)."""
    digits = normalise_id(id_number)
    if classify_id(digits) not in (IdKind.CCCD12, IdKind.CMND9):
        raise LookupInvalid(
            "enter the 12-digit citizen ID (or the old 9-digit ID card number)",
            key="feedback.err.id",
        )
    folded = fold_name(full_name)
    if len(folded) < 2 or len(full_name) > 120:
        raise LookupInvalid("enter your full name as on your ID card", key="feedback.err.name")
    try:
        dob = parse_date(date_of_birth.strip(), what="date of birth")
    except DateParseError as exc:
        raise LookupInvalid(
            "enter your date of birth, e.g. 14/03/1985", key="feedback.err.dob"
        ) from exc
    return LookupForm(digits, folded, dob.iso())


@dataclass(frozen=True)
class LookupOutcome:
    """The browser's challenge handle (None when locked out) and the SMS to send after commit."""

    handle: str | None
    locked_until: datetime | None
    sms: Notice | None


def code_sms(code: str, minutes: int) -> str:
    """The text carrying a one-time code (ASCII, one segment)."""
    return (
        f"VAXLINK: Ma xac thuc {code}, hieu luc {minutes} phut. Khong dua ma nay cho bat ky ai. "
        f"Your code: {code}"
    )


def start_lookup(
    session: Session, form: LookupForm, *, client: str, now: datetime, settings: Settings
) -> LookupOutcome:
    """Count the attempt, find the person, and write a challenge whether or not they matched."""
    secret = ratelimit.secret_of(settings)
    locks = [
        ratelimit.hit(session, ratelimit.LOOKUP_BY_ID,
                      ratelimit.counter_key(secret, ratelimit.LOOKUP_BY_ID, form.id_number), now),
        ratelimit.hit(session, ratelimit.LOOKUP_BY_ADDRESS,
                      ratelimit.counter_key(secret, ratelimit.LOOKUP_BY_ADDRESS, client), now),
    ]  # fmt: skip
    if any(locks):
        return LookupOutcome(None, max(t for t in locks if t is not None), None)
    rows = session.execute(
        select(Citizen.citizen_id, Citizen.name_folded, Citizen.date_of_birth, Citizen.phone)
        .where(or_(Citizen.citizen_id == form.id_number, Citizen.old_id == form.id_number))
        .limit(2)
    ).all()  # fmt: skip
    match = [r for r in rows if r.name_folded == form.name_folded
             and r.date_of_birth == form.date_of_birth]  # fmt: skip
    person = match[0] if len(match) == 1 and match[0].phone else None
    # Counted on both paths (unknown people under a key derived from the ID) so the work is equal.
    phone_value = person.phone if person is not None else f"none|{form.id_number}"
    phone_key = ratelimit.counter_key(secret, ratelimit.LOOKUP_BY_PHONE, phone_value)
    phone_locked = ratelimit.hit(session, ratelimit.LOOKUP_BY_PHONE, phone_key, now)
    if phone_locked is not None:
        person = None  # silently: the answer must not tell a locked phone from no match
    ttl = timedelta(seconds=settings.otp_ttl_seconds)
    issued = otp.create_challenge(
        session, person.citizen_id if person is not None else None, now=now, ttl=ttl
    )
    sms = None
    if person is not None:
        sms = Notice(str(person.phone), code_sms(issued.code, settings.otp_ttl_seconds // 60))
    return LookupOutcome(issued.handle, None, sms)


@dataclass(frozen=True)
class CodeOutcome:
    """A session token when the code was right; else guesses left, or the end of a lockout."""

    token: str | None
    attempts_left: int
    locked_until: datetime | None
    citizen_id: str | None = None


def finish_lookup(
    session: Session, handle: str | None, code: str, *, client: str, now: datetime,
    settings: Settings,
) -> CodeOutcome:  # fmt: skip
    """Check the code; a right one opens a citizen session (audited), wrong ones count."""
    secret = ratelimit.secret_of(settings)
    key = ratelimit.counter_key(secret, ratelimit.CODE_BY_ADDRESS, client)
    locked = ratelimit.locked_until(session, ratelimit.CODE_BY_ADDRESS, key, now)
    if locked is not None:
        return CodeOutcome(None, 0, locked)
    check = otp.check_code(session, handle, code, now=now, max_attempts=settings.otp_max_attempts)
    if check.citizen_id is None:
        locked = ratelimit.hit(session, ratelimit.CODE_BY_ADDRESS, key, now)
        return CodeOutcome(None, check.attempts_left, locked)
    ttl = timedelta(minutes=settings.citizen_session_minutes)
    token = otp.open_session(session, check.citizen_id, now=now, ttl=ttl)
    audit.record(session, actor=None, action="feedback.citizen.login", object_type="citizen",
                 object_id=check.citizen_id, detail={"via": "sms_code"})  # fmt: skip
    return CodeOutcome(token, 0, None, check.citizen_id)


def mask_id(citizen_id: str) -> str:
    """The ID with its middle hidden: 001*******45."""
    return citizen_id[:3] + "*" * (len(citizen_id) - 5) + citizen_id[-2:]


@dataclass(frozen=True)
class DoseView:
    """One dose as the citizen sees it."""

    id: int
    vaccination_date: date
    vaccine: str
    lot_number: str | None
    dose_number: int
    facility_code: str | None
    status: str
    version: int


@dataclass(frozen=True)
class CitizenView:
    """Everything the citizen's page shows."""

    citizen_id: str
    masked_id: str
    full_name: str
    date_of_birth: str
    province_code: str
    district_code: str | None
    ward_code: str | None
    phone: str | None
    doses: list[DoseView]
    certificate: Certificate | None
    tickets: list[Ticket]


def citizen_doses(session: Session, citizen_id: str) -> list[DoseView]:
    """The person's doses, oldest first."""
    rows = session.execute(
        select(DoseRecord.id, DoseRecord.vaccination_date, DoseRecord.vaccine_key,
               DoseRecord.lot_number, DoseRecord.dose_number, DoseRecord.facility_code,
               DoseRecord.status, DoseRecord.version)
        .where(DoseRecord.citizen_id == citizen_id)
        .order_by(DoseRecord.vaccination_date, DoseRecord.id)
    ).all()  # fmt: skip
    return [DoseView(*r) for r in rows]


def citizen_view(session: Session, citizen_id: str, *, what: str) -> CitizenView:
    """The person's registry facts, doses, certificate and reports; the view is audited."""
    citizen = session.get(Citizen, citizen_id)
    if citizen is None:
        raise InvalidInput("this record is no longer in the registry")
    certificate = active_of(session, CertificateKind.VACCINATION, [citizen_id]).get(citizen_id)
    tickets = list(session.scalars(
        select(Ticket).where(Ticket.citizen_id == citizen_id).order_by(Ticket.id.desc())
    ))  # fmt: skip
    audit.record(session, actor=None, action=f"feedback.citizen.view_{what}",
                 object_type="citizen", object_id=citizen_id, detail={"by": "citizen"})  # fmt: skip
    return CitizenView(
        citizen_id, mask_id(citizen_id), citizen.full_name, citizen.date_of_birth,
        citizen.province_code, citizen.district_code, citizen.ward_code, citizen.phone,
        citizen_doses(session, citizen_id), certificate, tickets,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class CertificateCard:
    """What the certificate page shows of a certificate."""

    uvci: str
    hc1: str
    payload: dict[str, Any]
    exp: datetime


def _session_certificate_query() -> Any:
    """Session joined to its person's active vaccination certificate (built once: hot path)."""
    c = Certificate.__table__.c
    joined = and_(
        c.citizen_id == CitizenSession.citizen_id,
        c.kind == CertificateKind.VACCINATION.value,
        c.status == CertificateStatus.ACTIVE.value,
    )
    return (
        select(CitizenSession.citizen_id, CitizenSession.expires_at, CitizenSession.ended_at,
               c.uvci, c.hc1, c.payload, c.exp)
        .outerjoin(Certificate.__table__, joined)
        .where(CitizenSession.token_hash == bindparam("token_hash"))
        .limit(1)
    )  # fmt: skip


_SESSION_CERTIFICATE: Final = _session_certificate_query()


def session_certificate_row(
    conn: Connection, token: str | None, *, now: datetime
) -> tuple[str, CertificateCard | None]:
    """The citizen of a live session and their active vaccination certificate: one indexed
    query on a plain connection (the portal's hot path, `GET /c/certificate`). Auditing the view
    is the caller's job (`feedback.auditbatch`), before anything is shown."""
    if token:
        row = conn.execute(_SESSION_CERTIFICATE, {"token_hash": otp.token_hash(token)}).first()
        if row is not None and row.ended_at is None and row.expires_at > now:
            card = None
            if row.uvci is not None:
                card = CertificateCard(row.uvci, row.hc1, row.payload, row.exp)
            return str(row.citizen_id), card
    raise CitizenSessionMissing("your session has ended; look up your record again")


def phone_of(session: Session, citizen_id: str) -> str | None:
    """The phone on record (for status SMS)."""
    return session.scalar(select(Citizen.phone).where(Citizen.citizen_id == citizen_id))


# ---- figures for the dashboard -------------------------------------------------------------


@dataclass(frozen=True)
class WardFigures:
    """Tickets of one ward (station) on one day."""

    province_code: str
    district_code: str | None
    ward_code: str | None
    open: int
    overdue: int
    resolved: int
    escalated: int
    median_hours_to_resolve: float | None
    share_overdue: float


def ticket_figures(
    session: Session, unit_filter: ColumnElement[bool] | None, day: date
) -> list[WardFigures]:
    """Per ward, as of the end of `day` (UTC): open, overdue, closed on or before it, median hours
    from report to closing, and the share of tickets (open or closed) that were or are overdue.

    `unit_filter` is a condition over `feedback_ticket` columns, e.g.
    `principal.scope_filter(Ticket.province_code, Ticket.district_code, Ticket.ward_code)`.
    """
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)
    closed = and_(Ticket.resolved_at.is_not(None), Ticket.resolved_at < end)
    open_then = and_(Ticket.created_at < end, ~closed)
    late = or_(and_(open_then, Ticket.due_at < end),
               and_(closed, Ticket.resolved_at > Ticket.due_at))  # fmt: skip
    where = [Ticket.created_at < end]
    if unit_filter is not None:
        where.append(unit_filter)
    groups = (Ticket.province_code, Ticket.district_code, Ticket.ward_code)
    rows = session.execute(
        select(*groups,
               func.sum(case((open_then, 1), else_=0)),
               func.sum(case((and_(open_then, Ticket.due_at < end), 1), else_=0)),
               func.sum(case((closed, 1), else_=0)),
               func.sum(case((and_(Ticket.escalated_at.is_not(None), Ticket.escalated_at < end),
                              1), else_=0)),
               func.sum(case((late, 1), else_=0)),
               func.count())
        .where(*where).group_by(*groups).order_by(*groups)
    ).all()  # fmt: skip
    medians = _median_hours(session, [*where, closed], groups)
    return [
        WardFigures(
            p,
            d,
            w,
            int(o or 0),
            int(od or 0),
            int(r or 0),
            int(e or 0),
            medians.get((p, d, w)),
            (int(lt or 0) / n) if n else 0.0,
        )
        for p, d, w, o, od, r, e, lt, n in rows
    ]


def _median_hours(
    session: Session, where: list[Any], groups: tuple[Any, ...]
) -> dict[tuple[str, str | None, str | None], float]:
    """Median hours to close per ward: PostgreSQL computes it; SQLite gets the closed durations
    (few per ward) and the median is taken here."""
    if session.get_bind().dialect.name == "postgresql":
        hours = func.extract("epoch", Ticket.resolved_at - Ticket.created_at) / 3600.0
        pg = select(*groups, func.percentile_cont(0.5).within_group(hours)).where(*where)
        return {(r[0], r[1], r[2]): float(r[3]) for r in session.execute(pg.group_by(*groups))}
    out: dict[tuple[str, str | None, str | None], list[float]] = {}
    stmt = select(*groups, Ticket.created_at, Ticket.resolved_at).where(*where)
    for r in session.execute(stmt):
        out.setdefault((r[0], r[1], r[2]), []).append((r[4] - r[3]).total_seconds() / 3600.0)
    return {k: statistics.median(v) for k, v in out.items()}


def open_statuses() -> list[str]:
    """The statuses of tickets still being worked."""
    return [s.value for s in OPEN]


# ---- where a report goes ----------------------------------------------------------------------


@dataclass(frozen=True)
class Station:
    """A health station a citizen may send a report to."""

    key: str
    province_code: str
    district_code: str | None
    ward_code: str | None
    facility_code: str | None
    name: str


def _unit_path(ward: str | None, district: str | None) -> tuple[str | None, str | None, str]:
    """(district, province, name) of a ward (or district) from the administrative-unit list."""
    from vaxlink.geo.codes import Level, UnitKey
    from vaxlink.geo.errors import GeoError
    from vaxlink.geo.index import UnitIndex

    index = UnitIndex.for_version()
    key = UnitKey(Level.WARD, ward) if ward else UnitKey(Level.DISTRICT, district or "")
    try:
        path = {k.level: k.code for k in index.path(key)}
        name = index.get(key).name
    except GeoError:
        return district, None, key.code
    return path.get(Level.DISTRICT, district), path.get(Level.PROVINCE), name


def stations_for(session: Session, citizen: CitizenView) -> list[Station]:
    """The station where the person lives now, then the stations of their vaccination sites.

    A site's station is that of the site's ward in the site list, else the ward of the site's
    approver account; a site with neither routes to the person's own station, marked with the
    site so the station can forward it."""
    from vaxlink.auth.models import User
    from vaxlink.facilities import service as facilities

    home_district, home_province, home_name = _unit_path(citizen.ward_code, citizen.district_code)
    home = Station("home", home_province or citizen.province_code,
                   home_district or citizen.district_code, citizen.ward_code, None, home_name)  # fmt: skip
    out = [home]
    sites = sorted({d.facility_code for d in citizen.doses if d.facility_code})
    for site in sites:
        ward = facilities.station_ward(session, site) or session.scalar(
            select(User.unit_code)
            .where(User.facility_code == site, User.unit_level == "ward", User.active.is_(True))
            .order_by(User.id)
            .limit(1)
        )
        if ward:
            district, province, name = _unit_path(ward, None)
            out.append(Station(f"site:{site}", province or citizen.province_code, district,
                               ward, site, name))  # fmt: skip
        else:
            out.append(Station(f"site:{site}", home.province_code, home.district_code,
                               home.ward_code, site, home.name))  # fmt: skip
    return out
