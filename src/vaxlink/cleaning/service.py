"""The cleaning front door: corrections and decisions on doses, worklists, Excel exchange, entry.

Other domains import cleaning only through this module. Every operation takes the session (the
caller owns the transaction), the acting `Principal`, and the ports it asks (the registry port,
the linkage model) as plain arguments; the web and CLI edges build those.
"""

from __future__ import annotations

from vaxlink.cleaning.backfill import Evidence, Person, Source, backfill_dose
from vaxlink.cleaning.corrections import (
    CANNOT_VERIFY_REASONS,
    DECISIONS,
    Decision,
    changes_since,
    correct_dose,
    decide,
    dose_row,
    history,
    load_dose,
    undo_decision,
)
from vaxlink.cleaning.detail import DoseDetail, dose_detail
from vaxlink.cleaning.entry import (
    DoseInput,
    EntryResult,
    TypedIdentity,
    UnregisteredReason,
    record_dose,
    record_unregistered_dose,
)
from vaxlink.cleaning.entry_errors import (
    EntryError,
    EntryNotAllowed,
    NoVaccinationSite,
    WarningsNotAcknowledged,
)
from vaxlink.cleaning.errors import (
    CannotUndo,
    CleaningError,
    DoseNotFound,
    EditConflict,
    InvalidCorrection,
    NeedsSecondStep,
    NotPermitted,
)
from vaxlink.cleaning.excel import ImportResult, export_worklist, import_worklist
from vaxlink.cleaning.identify import IdentityCheck, IdentitySource, facility_of, start_entry
from vaxlink.cleaning.models import ChangeKind, DoseCorrection
from vaxlink.cleaning.police_lists import NotOnVerifiedList
from vaxlink.cleaning.propagate import would_propagate
from vaxlink.cleaning.vaccination_excel import export_vaccination, import_vaccination
from vaxlink.cleaning.worklist import WorklistPage, WorklistQuery, worklist, worklist_waiting

__all__ = [
    "CANNOT_VERIFY_REASONS",
    "DECISIONS",
    "CannotUndo",
    "ChangeKind",
    "CleaningError",
    "Decision",
    "DoseCorrection",
    "DoseDetail",
    "DoseInput",
    "DoseNotFound",
    "EditConflict",
    "EntryError",
    "EntryNotAllowed",
    "EntryResult",
    "Evidence",
    "IdentityCheck",
    "IdentitySource",
    "ImportResult",
    "InvalidCorrection",
    "NeedsSecondStep",
    "NoVaccinationSite",
    "NotOnVerifiedList",
    "NotPermitted",
    "Person",
    "Source",
    "TypedIdentity",
    "UnregisteredReason",
    "WarningsNotAcknowledged",
    "WorklistPage",
    "WorklistQuery",
    "backfill_dose",
    "changes_since",
    "correct_dose",
    "decide",
    "dose_detail",
    "dose_row",
    "export_vaccination",
    "export_worklist",
    "facility_of",
    "history",
    "import_vaccination",
    "import_worklist",
    "load_dose",
    "record_dose",
    "record_unregistered_dose",
    "start_entry",
    "undo_decision",
    "worklist",
    "worklist_waiting",
    "would_propagate",
]
