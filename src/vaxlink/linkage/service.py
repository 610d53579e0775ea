"""The linkage front door: verify the store's pending doses, link one person online, the model.

Other domains import linkage only through this module (the pure linkage steps stay behind it):
`verify_store` (a batch run over the store), `verify_person` (one person, online, through a
registry port), the versioned `LinkModel` and the evidence tables `DoseLink`/`LinkRunRecord`.
"""

from __future__ import annotations

from vaxlink.linkage.errors import LinkageError, LinkageInputError, ModelError
from vaxlink.linkage.model import MODEL_NAME, LinkModel
from vaxlink.linkage.models import DoseLink, LinkRunRecord
from vaxlink.linkage.online import LinkResult
from vaxlink.linkage.online_service import verify_person
from vaxlink.linkage.store import DECIDED, VerifyReport, model_digest, verify_store

__all__ = [
    "DECIDED",
    "MODEL_NAME",
    "DoseLink",
    "LinkModel",
    "LinkResult",
    "LinkRunRecord",
    "LinkageError",
    "LinkageInputError",
    "ModelError",
    "VerifyReport",
    "model_digest",
    "verify_person",
    "verify_store",
]
