"""Old import path of the life-cycle sweep, kept for `feedback/loop.py` until it moves to
`vaxlink.flows` and calls `vaxlink.certificates.service` (`reissue_person`); delete this with it."""

from vaxlink.certificates.issuance.sweep import LifecycleReport as LifecycleReport
from vaxlink.certificates.issuance.sweep import Mode as Mode
from vaxlink.certificates.issuance.sweep import Replacer as _Chunk
from vaxlink.certificates.issuance.sweep import signable_kinds as _signable

__all__ = ["LifecycleReport", "Mode", "_Chunk", "_signable"]
