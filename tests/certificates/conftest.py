"""Fixtures for the certificate store tests: a PKI, a store with the certificate tables, small data.

The store fixture migrates with Alembic; until the migrations know the certificate tables, they are
created here from the models (a no-op once they exist).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from tests.cleaning.entry_support import SIGNING
from tests.store_support import complete as complete_row

from vaxlink.auth import service as auth
from vaxlink.auth.models import User
from vaxlink.certificates.approval.signing import SigningCredential, approve_records
from vaxlink.certificates.core.signer import Signer
from vaxlink.certificates.issuance.batch import issue_batch
from vaxlink.certificates.issuance.issuer import Issuer
from vaxlink.certificates.keys import hierarchy as keys
from vaxlink.certificates.keys.hierarchy import DccType, KeyPair
from vaxlink.certificates.keys.store import KeyStore, Role
from vaxlink.certificates.models import TABLES, Certificate, CertificateKind
from vaxlink.db import Base, session_factory, transaction
from vaxlink.ingest.models import ImportBatch
from vaxlink.records.models import DoseRecord
from vaxlink.registry.models import Citizen

NOW = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
ISSUER = "Ministry of Health of Viet Nam"
PASS = b"correct horse battery staple"


def holder_of(code: str) -> str:
    """The site approver account a test PKI's facility key is wrapped for (under `SIGNING`)."""
    return f"approver.{code.lower()}"


def signing_as(
    engine: Engine, code: str = "F001", *, username: str | None = None,
    role: auth.Role = auth.Role.SITE_APPROVER, passphrase: str = SIGNING,
) -> SigningCredential:  # fmt: skip
    """The credential of a site approver of `code` (by default `holder_of(code)`, whose wrap
    `Pki.save` makes), creating the account in the store when it is not there yet."""
    name = username or holder_of(code)
    with transaction(engine) as s:
        if s.scalar(select(User.id).where(User.username == name)) is None:
            auth.create_user(s, username=name, password="plum-harbor-92-violet", role=role,
                             unit="ward:00001", facility_code=code, now=NOW)  # fmt: skip
    return SigningCredential(name, passphrase)


@dataclass(frozen=True)
class Pki:
    """A CSCA, two DSCs (types v and r) and two facility approval keys."""

    csca: KeyPair
    dsc: KeyPair
    dsc2: KeyPair
    facility: dict[str, KeyPair]

    def save(self, directory: Path) -> KeyStore:
        """The PKI as a key directory, DSC 1 active, with a trust-list signer."""
        store = KeyStore(directory)
        store.save(Role.CSCA, self.csca, passphrase=PASS)
        for dsc in (self.dsc, self.dsc2):
            store.save(Role.DSC, dsc)
        store.set_active_dsc(self.dsc.kid)
        for code, pair in self.facility.items():
            store.save_facility(pair, holder_of(code), SIGNING)
        start = self.csca.certificate.not_valid_before_utc
        store.save(Role.TRUST_LIST, keys.create_trust_list_signer(self.csca, now=start))
        return store


def make_pki(now: dt.datetime) -> Pki:
    """A fresh hierarchy valid from `now` (DSCs for three years, so renewals can be tested)."""
    csca = keys.create_csca(country="VN", organization="Bộ Y tế", now=now)
    types = (DccType.VACCINATION, DccType.RECOVERY)
    dscs = [
        keys.create_dsc(csca, now=now, common_name=f"DSC {i}", types=types, validity_days=3 * 365)
        for i in (1, 2)
    ]
    facility = {
        code: keys.create_facility_signer(
            csca, facility_code=code, facility_name=f"Trạm Y tế {code}", now=now
        )
        for code in ("F001", "F002")
    }
    return Pki(csca, dscs[0], dscs[1], facility)


@pytest.fixture(scope="session")
def pki() -> Pki:
    return make_pki(NOW - dt.timedelta(days=1))


@pytest.fixture
def cert_store(store: Engine) -> Engine:
    """A migrated store that also has the certificate tables."""
    Base.metadata.create_all(store, tables=list(TABLES), checkfirst=True)
    return store


def _complete(model: type[Base], values: dict[str, Any]) -> dict[str, Any]:
    """`values` plus placeholders for the other NOT NULL columns (times are NOW)."""
    return complete_row(model, values, now=NOW)


class World:
    """Builds citizens and doses, approves and issues, each step in its own transaction."""

    def __init__(self, engine: Engine, pki: Pki) -> None:
        self.engine = engine
        self.pki = pki
        self._records = itertools.count(1)
        with transaction(engine) as s:
            batch = ImportBatch(**_complete(ImportBatch, {"kind": "doses", "started_at": NOW}))
            s.add(batch)
            s.flush()
            self.batch_id = batch.id

    def session(self) -> Session:
        return session_factory(self.engine)()

    def citizen(self, citizen_id: str, full_name: str, dob: str = "1985-03-14") -> str:
        with transaction(self.engine) as s:
            s.add(
                Citizen(
                    **_complete(
                        Citizen,
                        {
                            "citizen_id": citizen_id,
                            "full_name": full_name,
                            "date_of_birth": dob,
                            "dob_precision": "day" if len(dob) == 10 else "year",
                            "batch_id": self.batch_id,
                        },
                    )
                )
            )
        return citizen_id

    def dose(
        self,
        citizen_id: str | None,
        dose_number: int,
        day: dt.date,
        *,
        vaccine: str = "Comirnaty",
        category: str | None = None,
        facility: str = "F001",
        status: str = "verified",
        lot: str = "FK8891",
    ) -> int:
        n = next(self._records)
        primary = 1 if vaccine == "Jcovden" else 2
        category = category or ("primary" if dose_number <= primary else "booster")
        with transaction(self.engine) as s:
            row = DoseRecord(
                **_complete(
                    DoseRecord,
                    {
                        "record_id": f"R{n:06d}",
                        "batch_id": self.batch_id,
                        "source_row": n,
                        "full_name": "Nguyen Van A",
                        "citizen_id": citizen_id,
                        "vaccine_key": vaccine,
                        "vaccine_mp": "EU/1/20/1528",
                        "lot_number": lot,
                        "vaccination_date": day,
                        "dose_number": dose_number,
                        "dose_category": category,
                        "dose_sequence": dose_number if category == "primary" else 1,
                        "facility_code": facility,
                        "status": status,
                    },
                )
            )
            s.add(row)
            s.flush()
            return row.id

    def update_dose(self, dose_id: int, **values: Any) -> None:
        with transaction(self.engine) as s:
            row = s.get(DoseRecord, dose_id)
            assert row is not None
            for k, v in values.items():
                setattr(row, k, v)

    def update_citizen(self, citizen_id: str, **values: Any) -> None:
        with transaction(self.engine) as s:
            row = s.get(Citizen, citizen_id)
            assert row is not None
            for k, v in values.items():
                setattr(row, k, v)

    def approve(self, facility: str = "F001", *, now: dt.datetime = NOW) -> Any:
        with transaction(self.engine) as s:
            return approve_records(
                s, self.pki.facility[facility], facility_code=facility, approver="Lê Thị B", now=now
            )

    def issue(
        self,
        *,
        kind: CertificateKind = CertificateKind.VACCINATION,
        signer: Signer | None = None,
        now: dt.datetime = NOW,
        chunk_size: int = 1_000,
    ) -> Any:
        return issue_batch(
            self.engine,
            signer or self.pki.dsc,
            issuer_name=ISSUER,
            by="tester",
            kind=kind,
            now=now,
            anchors=(self.pki.csca.certificate,),
            chunk_size=chunk_size,
        )

    def issuer(
        self, *, now: dt.datetime = NOW, signer: Signer | None = None, require_district: bool = False
    ) -> Issuer:
        return Issuer(
            signer or self.pki.dsc, ISSUER, now, "tester", anchors=(self.pki.csca.certificate,),
            require_district=require_district,
        )  # fmt: skip

    def certificates(self, citizen_id: str | None = None) -> list[Certificate]:
        with self.session() as s:
            stmt = select(Certificate).order_by(Certificate.id)
            if citizen_id is not None:
                stmt = stmt.where(Certificate.citizen_id == citizen_id)
            return list(s.scalars(stmt))

    def active(self, citizen_id: str, kind: str = "v") -> Certificate:
        found = [
            c for c in self.certificates(citizen_id) if c.status == "active" and c.kind == kind
        ]
        assert len(found) == 1, found
        return found[0]


@pytest.fixture
def world(cert_store: Engine, pki: Pki) -> World:
    return World(cert_store, pki)


@pytest.fixture
def signing(world: World) -> Callable[..., SigningCredential]:
    """`signing(code="F001", **options)`: the credential of a site approver of `code` in the
    world's store (`signing_as`): with `pki.save`, it unlocks that site's key."""

    def make(code: str = "F001", **options: Any) -> SigningCredential:
        return signing_as(world.engine, code, **options)

    return make


@pytest.fixture
def fully_vaccinated(world: World) -> Callable[[str, str], str]:
    """A person with two approved Comirnaty doses at F001 (not yet issued)."""

    def make(citizen_id: str, name: str) -> str:
        world.citizen(citizen_id, name)
        world.dose(citizen_id, 1, dt.date(2021, 8, 2))
        world.dose(citizen_id, 2, dt.date(2021, 8, 30))
        return citizen_id

    return make


@pytest.fixture
def clear_settings() -> Iterator[None]:
    from vaxlink.settings import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
