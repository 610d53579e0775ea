"""What a citizen sees of their record (audited views), and where their reports may go."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import and_, bindparam, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from vaxlink.auth import service as auth
from vaxlink.certificates.service import (
    Certificate,
    CertificateKind,
    CertificateStatus,
    PendingDose,
    active_of,
    freshness,
)
from vaxlink.errors import InvalidInput
from vaxlink.feedback import otp
from vaxlink.feedback.errors import CitizenSessionMissing
from vaxlink.feedback.models import CitizenSession, Ticket
from vaxlink.feedback.tickets import TicketStatus
from vaxlink.records.service import DoseRecord, person_ref
from vaxlink.registry.service import Citizen

if TYPE_CHECKING:
    from cryptography import x509

VIEW_CERTIFICATE: Final = "feedback.citizen.view_certificate"


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


def citizen_view(
    session: Session, citizen_id: str, *, what: str, now: datetime
) -> CitizenView:
    """The person's registry facts, doses, certificate and reports; the view is audited."""
    citizen = session.get(Citizen, citizen_id)
    if citizen is None:
        raise InvalidInput("this record is no longer in the registry")
    certificate = active_of(session, CertificateKind.VACCINATION, [citizen_id]).get(citizen_id)
    tickets = list(session.scalars(
        select(Ticket).where(Ticket.citizen_id == citizen_id).order_by(Ticket.id.desc())
    ))  # fmt: skip
    auth.append(session, actor=None, action=f"feedback.citizen.view_{what}",
                 object_type="citizen", object_id=person_ref(session, citizen_id),
                 detail={"by": "citizen"}, at=now)  # fmt: skip
    return CitizenView(
        citizen_id, mask_id(citizen_id), citizen.full_name, citizen.date_of_birth,
        citizen.province_code, citizen.district_code, citizen.ward_code, citizen.phone,
        citizen_doses(session, citizen_id), certificate, tickets,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class CertificateState:
    """Whether the portal may show the person's certificate as current, and what it waits for.

    `updating`: the certificate attests facts the records no longer hold (a corrected dose), or a
    report of the person waits for the new certificate: its QR is not shown, the page says
    which dose waits for which site's signature (`pending`). Without `updating`, `pending` lists
    newer doses the (still true) certificate does not carry yet."""

    updating: bool
    pending: tuple[PendingDose, ...]
    #: The new certificate can be issued (every dose signed): it follows shortly.
    ready: bool


def certificate_state(
    session: Session,
    citizen_id: str,
    *,
    tickets: list[Ticket] | None = None,
    anchors: Sequence[x509.Certificate] = (),
) -> CertificateState:
    """The person's certificate beside their records and their reports (`tickets`: theirs, when
    already read): what the portal may show."""
    fresh = freshness(session, citizen_id, anchors=anchors)
    if tickets is None:
        tickets = list(session.scalars(select(Ticket).where(
            Ticket.citizen_id == citizen_id,
            Ticket.status == TicketStatus.AWAITING_CERTIFICATE.value)))  # fmt: skip
    waiting = any(t.status == TicketStatus.AWAITING_CERTIFICATE.value for t in tickets)
    updating = fresh.disagrees or (waiting and not fresh.agrees)
    return CertificateState(updating, fresh.pending, fresh.ready)


@dataclass(frozen=True, slots=True)
class CertificateCard:
    """What the certificate page shows of a certificate."""

    uvci: str
    hc1: str
    payload: dict[str, Any]
    exp: datetime
    #: A report of the person waits for a new certificate (the page then checks the records).
    awaiting: bool = False


def _session_certificate_query() -> Any:
    """Session joined to its person's active vaccination certificate (built once: hot path)."""
    c = Certificate.__table__.c
    joined = and_(
        c.citizen_id == CitizenSession.citizen_id,
        c.kind == CertificateKind.VACCINATION.value,
        c.status == CertificateStatus.ACTIVE.value,
    )
    awaiting = (
        select(Ticket.id)
        .where(Ticket.citizen_id == CitizenSession.citizen_id,
               Ticket.status == TicketStatus.AWAITING_CERTIFICATE.value)
        .exists()
    )  # fmt: skip
    return (
        select(CitizenSession.citizen_id, CitizenSession.expires_at, CitizenSession.ended_at,
               c.uvci, c.hc1, c.payload, c.exp, awaiting.label("awaiting"))
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
                card = CertificateCard(row.uvci, row.hc1, row.payload, row.exp,
                                       bool(row.awaiting))
            return str(row.citizen_id), card
    raise CitizenSessionMissing("your session has ended; look up your record again")


def phone_of(session: Session, citizen_id: str) -> str | None:
    """The phone on record (for status SMS)."""
    return session.scalar(select(Citizen.phone).where(Citizen.citizen_id == citizen_id))


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
    from vaxlink.facilities import service as facilities

    home_district, home_province, home_name = _unit_path(citizen.ward_code, citizen.district_code)
    home = Station("home", home_province or citizen.province_code,
                   home_district or citizen.district_code, citizen.ward_code, None, home_name)  # fmt: skip
    out = [home]
    sites = sorted({d.facility_code for d in citizen.doses if d.facility_code})
    for site in sites:
        ward = facilities.station_ward(session, site) or auth.ward_of_site(session, site)
        if ward:
            district, province, name = _unit_path(ward, None)
            out.append(Station(f"site:{site}", province or citizen.province_code, district,
                               ward, site, name))  # fmt: skip
        else:
            out.append(Station(f"site:{site}", home.province_code, home.district_code,
                               home.ward_code, site, home.name))  # fmt: skip
    return out
