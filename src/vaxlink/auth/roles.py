"""Roles and what each may do: "health verifies vaccination, police verify identity".

One table (`ROLE_PERMISSIONS`) is the whole policy; routes ask for a permission, never a role.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Role(StrEnum):
    """The people who work in vaxlink, each bound to one administrative unit."""

    HEALTH_STATION = "health_station"  # trạm y tế xã: doses, worklists, citizen reports
    COMMUNE_POLICE = "commune_police"  # công an xã: identity facts
    COMMUNE_COMMITTEE = "commune_committee"  # UBND xã: types fixes on the station's behalf
    SITE_APPROVER = "site_approver"  # vaccination site: signs its verified doses
    DISTRICT_HEALTH = "district_health"  # trung tâm y tế huyện: oversight, escalated reports
    PROVINCIAL_CDC = "provincial_cdc"  # CDC tỉnh: oversight, reports
    NATIONAL_ISSUER = "national_issuer"  # Cục Y tế dự phòng: certificates
    ADMIN = "admin"  # accounts and the audit log


class Permission(StrEnum):
    """One thing a route does; a route requires exactly the permissions it needs."""

    WORKLIST_VIEW = "worklist.view"  # see worklists and the person records behind them
    IDENTITY_CORRECT = "identity.correct"  # change name, date of birth, sex, ID number, link
    VACCINATION_CORRECT = "vaccination.correct"  # change vaccine, lot, date, dose, site
    #: type identity fixes the police verified (on a signed police verification list)
    IDENTITY_TYPE_VERIFIED = "identity.type_verified"
    DOSE_BACKFILL = "dose.backfill"  # enter a dose given but never entered, with its evidence
    DOSE_ENTER = "dose.enter"  # identity-first dose entry at the vaccination point
    APPROVE = "approval.sign"  # sign a facility's verified doses
    DISTRICT_APPROVE = "district.approve"  # sign the district's list of residents' records
    TICKET_WORK = "ticket.work"  # work citizen reports (phản ánh)
    DASHBOARD_VIEW = "dashboard.view"  # progress figures of the unit and below
    REPORT_VIEW = "report.view"  # daily reports of the unit and below
    RECOVERY_ENTER = "recovery.enter"  # enter a resident's recovery (source of `r` certificates)
    CERTIFICATE_ISSUE = "certificate.issue"  # issue, revoke and re-issue certificates
    AUDIT_VIEW = "audit.view"  # read the audit log
    USER_ADMIN = "user.admin"  # create and disable accounts
    PARTNER_ADMIN = "partner.admin"  # partner applications' API clients (national only)


P = Permission
ROLE_PERMISSIONS: Final[dict[Role, frozenset[Permission]]] = {
    Role.HEALTH_STATION: frozenset(
        {
            P.WORKLIST_VIEW,
            P.VACCINATION_CORRECT,
            P.DOSE_ENTER,
            P.TICKET_WORK,
            P.DASHBOARD_VIEW,
            P.RECOVERY_ENTER,
        }
    ),
    Role.COMMUNE_POLICE: frozenset({P.WORKLIST_VIEW, P.IDENTITY_CORRECT}),
    Role.COMMUNE_COMMITTEE: frozenset(
        {
            P.WORKLIST_VIEW,
            P.VACCINATION_CORRECT,
            P.TICKET_WORK,
            P.IDENTITY_TYPE_VERIFIED,
            P.DOSE_BACKFILL,
        }
    ),
    Role.SITE_APPROVER: frozenset({P.APPROVE, P.DOSE_ENTER, P.DASHBOARD_VIEW}),
    Role.DISTRICT_HEALTH: frozenset(
        {P.WORKLIST_VIEW, P.TICKET_WORK, P.DASHBOARD_VIEW, P.REPORT_VIEW, P.DISTRICT_APPROVE}
    ),
    Role.PROVINCIAL_CDC: frozenset({P.WORKLIST_VIEW, P.DASHBOARD_VIEW, P.REPORT_VIEW}),
    Role.NATIONAL_ISSUER: frozenset({P.CERTIFICATE_ISSUE, P.DASHBOARD_VIEW, P.REPORT_VIEW}),
    Role.ADMIN: frozenset({P.USER_ADMIN, P.AUDIT_VIEW, P.DASHBOARD_VIEW, P.PARTNER_ADMIN}),
}

#: Roles whose accounts must use a second factor (TOTP) once enrolled by an administrator.
SECOND_FACTOR_ROLES: Final = frozenset({Role.NATIONAL_ISSUER, Role.ADMIN})
#: Roles that correct on someone else's behalf: their changes are recorded as such.
ON_BEHALF_OF: Final[dict[Role, Role]] = {Role.COMMUNE_COMMITTEE: Role.HEALTH_STATION}
