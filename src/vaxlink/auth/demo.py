"""Demo accounts: one per role around one commune, with fresh passwords printed once.

Re-running gives the existing demo accounts new passwords (and re-enables them)."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Final

from rich.console import Console
from rich.table import Table
from sqlalchemy import case, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from vaxlink.auth import service, totp
from vaxlink.auth.models import User
from vaxlink.auth.roles import SECOND_FACTOR_ROLES, Role
from vaxlink.db import transaction
from vaxlink.geo.codes import Level, UnitKey
from vaxlink.geo.errors import GeoError
from vaxlink.geo.index import UnitIndex
from vaxlink.settings import Settings, get_settings

#: (user name, role, level of the demo commune's unit it sits at)
ACCOUNTS: Final = (
    ("demo.tram", Role.HEALTH_STATION, Level.WARD),
    ("demo.congan", Role.COMMUNE_POLICE, Level.WARD),
    ("demo.ubnd", Role.COMMUNE_COMMITTEE, Level.WARD),
    ("demo.duyet", Role.SITE_APPROVER, Level.WARD),
    ("demo.huyen", Role.DISTRICT_HEALTH, Level.DISTRICT),
    ("demo.tinh", Role.PROVINCIAL_CDC, Level.PROVINCE),
    ("demo.cap", Role.NATIONAL_ISSUER, Level.NATION),
    ("demo.admin", Role.ADMIN, Level.NATION),
)
DEFAULT_FACILITY: Final = "DEMO-SITE"
#: The demo commune's site approver; every other site of the demo gets `demo.duyet.<site>`.
SITE_APPROVER: Final = "demo.duyet"
#: The demo district health centre's account, which holds the district's list-signing key.
DISTRICT_APPROVER: Final = "demo.huyen"


@dataclass(frozen=True, slots=True)
class DemoAccount:
    username: str
    password: str
    role: Role
    unit: UnitKey
    facility_code: str | None
    #: The TOTP secret of roles that must have a second factor (add it to an authenticator app).
    totp_secret: str | None = None


def busiest_ward(session: Session) -> tuple[str, str | None] | None:
    """The ward with the most doses left to clean (review, unmatched, invalid), then the most
    doses, and its most frequent vaccination site: the demo commune has work on its list."""
    from vaxlink.records.service import DoseRecord, DoseStatus

    open_work = func.sum(
        case((DoseRecord.status.in_([DoseStatus.REVIEW, DoseStatus.UNMATCHED,
                                     DoseStatus.INVALID]), 1), else_=0)
    )  # fmt: skip
    ward = session.execute(
        select(DoseRecord.ward_code)
        .where(DoseRecord.ward_code.is_not(None))
        .group_by(DoseRecord.ward_code)
        .order_by(open_work.desc(), func.count().desc(), DoseRecord.ward_code)
        .limit(1)
    ).scalar()
    if ward is None:
        return None
    site = session.execute(
        select(DoseRecord.facility_code)
        .where(DoseRecord.ward_code == ward, DoseRecord.facility_code.is_not(None))
        .group_by(DoseRecord.facility_code)
        .order_by(func.count().desc(), DoseRecord.facility_code)
        .limit(1)
    ).scalar()
    return str(ward), site


def _known_ward(code: str) -> bool:
    try:
        UnitIndex.for_version().get(f"ward:{code}")
    except GeoError:
        return False
    return True


def demo_site_approvers(session: Session, sites: list[str], *, now: dt.datetime) -> dict[str, str]:
    """One active site approver account per vaccination site of the demo, `{site: user name}`,
    to hold (and sign with) the site's approval key: `demo.duyet` for the demo commune's site
    (`busiest_ward`), `demo.duyet.<site>` for the others, each at the ward where most of its
    doses were given. The others' passwords are random and not shown (reset one to log in)."""
    from vaxlink.records.service import DoseRecord

    found = busiest_ward(session)
    home_ward, home_site = found if found else ("00001", None)
    out = {}
    for site in sites:
        username = SITE_APPROVER if site == home_site else f"{SITE_APPROVER}.{site.lower()}"
        ward = (
            session.execute(
                select(DoseRecord.ward_code)
                .where(DoseRecord.facility_code == site, DoseRecord.ward_code.is_not(None))
                .group_by(DoseRecord.ward_code)
                .order_by(func.count().desc(), DoseRecord.ward_code)
                .limit(1)
            ).scalar()
            or home_ward
        )
        if site == home_site or not _known_ward(ward):
            ward = home_ward
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            service.create_user(
                session, username=username, password=f"demo-{secrets.token_urlsafe(18)}",
                role=Role.SITE_APPROVER, unit=f"ward:{ward}", facility_code=site,
                display_name="Demo site approver", now=now,
            )  # fmt: skip
        else:
            user.role, user.facility_code = Role.SITE_APPROVER.value, site
            user.unit_level, user.unit_code = "ward", ward
            if not user.active:
                service.set_active(session, user, True, now=now)
        out[site] = username
    return out


def create_demo_accounts(
    session: Session,
    ward_code: str,
    facility_code: str | None = None,
    *,
    settings: Settings | None = None,
    now: dt.datetime,
) -> list[DemoAccount]:
    """One account per role: the commune's station, police, committee and a site approver, its
    district, its province, the national issuer and an administrator."""
    path = {key.level: key for key in UnitIndex.for_version().path(f"ward:{ward_code}")}
    site = facility_code or DEFAULT_FACILITY
    out = []
    for username, role, level in ACCOUNTS:
        unit = path[level]
        password = f"demo-{secrets.token_urlsafe(9)}"
        facility = site if role in (Role.SITE_APPROVER, Role.HEALTH_STATION) else None
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            user = service.create_user(
                session, username=username, password=password, role=role, unit=unit,
                facility_code=facility, display_name=f"Demo {role.value.replace('_', ' ')}",
                now=now,
            )  # fmt: skip
        else:
            user.unit_level, user.unit_code, user.facility_code = unit.level, unit.code, facility
            service.set_password(session, user, password, now=now)
            if not user.active:
                service.set_active(session, user, True, now=now)
        secret = None
        if role in SECOND_FACTOR_ROLES:  # their login needs a second factor: enrol it, print it
            key = totp.key_of(settings or get_settings())
            secret = totp.enrol_now(user, now=now, key=key)
        out.append(DemoAccount(username, password, role, unit, facility, secret))
    return out


def print_demo_accounts(
    console: Console, engine: Engine, url: str | None, *, now: dt.datetime
) -> None:
    """Create (or refresh) the demo accounts around the busiest commune, as of `now`, and
    print them."""
    with transaction(engine) as s:
        found = busiest_ward(s)
        ward, site = found if found else ("00001", None)
        accounts = create_demo_accounts(s, ward, site, now=now)
    ward_name = UnitIndex.for_version().get(f"ward:{ward}").name
    table = Table(title=f"Demo accounts ({ward_name}, ward {ward})")
    # never cut a value short ("demo-mC6TN…" cannot be typed) on a narrow terminal or in a log:
    # user names and passwords keep one line, the other columns fold onto a second one
    for column in ("user", "password"):
        widest = max(len(getattr(a, "username" if column == "user" else column)) for a in accounts)
        table.add_column(column, no_wrap=True, min_width=widest)
    for column in ("role", "unit", "site", "TOTP secret"):
        table.add_column(column, overflow="fold")
    for a in accounts:
        table.add_row(a.username, a.password, a.role.value, str(a.unit), a.facility_code or "",
                      a.totp_secret or "")  # fmt: skip
    console.print(table)
    console.print("The issuer and the administrator log in with a code from an authenticator app "
                  "holding their TOTP secret (e.g. `oathtool --totp -b SECRET`).")  # fmt: skip
    if url:
        console.print(f"Staff web app: [bold]{url}/login[/]", highlight=False)
