"""What the flows need from the composition root, named as a protocol so a flow imports no
composition root: `vaxlink.compose.Container` provides it (the web shell and the CLI pass theirs)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from vaxlink.certificates.service import Issuer, KeyStore
from vaxlink.clock import Clock
from vaxlink.linkage.service import LinkModel
from vaxlink.registry.service import RegistryPort

if TYPE_CHECKING:
    from cryptography import x509

    from vaxlink.feedback.service import SmsPort


class Ports(Protocol):
    """The clock, registry port, linkage model, key store, certificate issuer, the CSCAs site
    approvals chain to and the SMS adapter of one process."""

    clock: Clock

    @property
    def registry(self) -> RegistryPort: ...

    @property
    def link_model(self) -> LinkModel: ...

    @property
    def key_store(self) -> KeyStore: ...

    def issuer(self, *, by: str, now: datetime | None = None) -> Issuer: ...

    @property
    def trust_anchors(self) -> tuple[x509.Certificate, ...]: ...

    @property
    def sms(self) -> SmsPort: ...
