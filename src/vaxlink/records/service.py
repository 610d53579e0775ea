"""The records front door: dose records, their status life cycle, imports and web entry.

Other domains import records only through this module. It re-exports what they read (the
`DoseRecord` model, `DoseStatus`, the vaccine catalogue, the file contract) and offers the
operations that write `dose_record`: import a file, add a dose entered on the web, and move
doses' statuses (one dose, a set of doses, or a staged table of a linkage run's decisions), all
along `lifecycle.TRANSITIONS`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

import pyarrow as pa
from sqlalchemy.orm import Session

from vaxlink.ingest.service import BulkConnection
from vaxlink.records import lifecycle, vaccines
from vaxlink.records.columns import DOSE_COLUMNS, RAW_FIELDS
from vaxlink.records.entry import (
    WEB_FILE_KIND,
    HistoryDose,
    add_web_dose,
    already_on_record,
    history,
    precision,
)
from vaxlink.records.importer import import_doses
from vaxlink.records.lifecycle import (
    INITIAL,
    TRANSITIONS,
    DoseStatus,
    DoseTransitionInvalid,
    can_move,
)
from vaxlink.records.lifecycle import move as set_status
from vaxlink.records.lifecycle import undo as restore_status
from vaxlink.records.models import DoseCategory, DoseRecord, status_is
from vaxlink.records.parse import FIRST_VACCINATION_DAY
from vaxlink.records.refs import REF_PATTERN, is_ref, person_ref, person_refs, resolve_ref
from vaxlink.records.vaccines import Vaccine, catalogue, lookup, site_spellings


def set_status_many(
    session: Session,
    ids: Collection[int],
    to: str,
    *,
    citizen_id: str | None,
    among: Iterable[str],
) -> list[int]:
    """Give the doses `ids` still in one of `among` the status `to` (where the transition table
    allows it) and `citizen_id`, each a new version, in one UPDATE; the ids changed, sorted.
    ORM copies of those doses in the session are expired."""
    changed = lifecycle.move_many(session, DoseRecord, ids, to, citizen_id=citizen_id, among=among)
    wanted = set(ids)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, DoseRecord) and obj.id in wanted:
            session.expire(obj)
    return changed


def apply_link_decisions(bulk: BulkConnection, staged: str) -> pa.Table:
    """Apply a linkage run's staged decisions (`dose_record_id`, `version`, `status`,
    `citizen_id`) to the doses still pending at the version that was read, set-based; the ids
    of the doses decided (one column `id`)."""
    return lifecycle.apply_staged(bulk, staged, among=(DoseStatus.PENDING,))


__all__ = [
    "DOSE_COLUMNS",
    "FIRST_VACCINATION_DAY",
    "INITIAL",
    "RAW_FIELDS",
    "REF_PATTERN",
    "TRANSITIONS",
    "WEB_FILE_KIND",
    "DoseCategory",
    "DoseRecord",
    "DoseStatus",
    "DoseTransitionInvalid",
    "HistoryDose",
    "Vaccine",
    "add_web_dose",
    "already_on_record",
    "apply_link_decisions",
    "can_move",
    "catalogue",
    "history",
    "import_doses",
    "is_ref",
    "lookup",
    "person_ref",
    "person_refs",
    "precision",
    "resolve_ref",
    "restore_status",
    "set_status",
    "set_status_many",
    "site_spellings",
    "status_is",
    "vaccines",
]
