"""12 months, guaranteed and renewed by itself (#14): with DSCs planned two years long and a
successor issued when the plan says so, a renewal run every fortnight keeps every eligible person
holding a valid certificate for years, each renewal valid a full 12 months."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from vaxlink.certificates.issuance.sweep import renew_expiring
from vaxlink.certificates.keys import hierarchy as keys
from vaxlink.certificates.keys.store import (
    ROLLOVER_NOTICE,
    KeyStore,
    Role,
    dsc_plan,
    signing_dsc_kid,
    signing_until,
)
from vaxlink.certificates.models import Certificate

from .conftest import ISSUER, NOW

STEP = dt.timedelta(days=15)


def _new_dsc(store: KeyStore, csca: keys.KeyPair, at: dt.datetime, n: int) -> keys.KeyPair:
    pair = keys.create_dsc(csca, now=at, common_name=f"DSC {n}")
    store.save(Role.DSC, pair)
    return pair


def test_the_plan_rolls_the_signing_dsc_over_before_it_can_no_longer_give_12_months(tmp_path):
    csca = keys.create_csca(country="VN", organization="Bộ Y tế", now=NOW)
    store = KeyStore(tmp_path / "keys")
    first = _new_dsc(store, csca, NOW, 1)
    store.set_active_dsc(first.kid)
    assert keys.DSC_VALIDITY_DAYS >= 2 * 365
    until = signing_until(first.certificate)
    assert dsc_plan(store, NOW).warning is None
    due = dsc_plan(store, until - ROLLOVER_NOTICE + dt.timedelta(days=1))
    assert due.warning is not None
    assert "successor" in due.warning
    second = _new_dsc(store, csca, until - dt.timedelta(days=60), 2)
    assert dsc_plan(store, until - dt.timedelta(days=30)).successor_kid == second.kid
    assert dsc_plan(store, until - dt.timedelta(days=30)).warning is None
    assert signing_dsc_kid(store, until - dt.timedelta(days=1)) == first.kid  # still active
    assert signing_dsc_kid(store, until + dt.timedelta(days=1)) == second.kid  # rolled over
    store.revoke_dsc(second.kid)
    late = dsc_plan(store, until + dt.timedelta(days=1))
    assert late.signing_kid == first.kid
    assert late.warning is not None
    assert "no longer" in late.warning


def test_no_certificate_expires_while_its_person_stays_eligible(world, fully_vaccinated, tmp_path):
    for i in range(3):
        fully_vaccinated(f"00108500050{i}", f"Người Thứ {i}")
    world.approve()
    csca = keys.create_csca(country="VN", organization="Bộ Y tế", now=NOW)
    store = KeyStore(tmp_path / "keys")
    store.set_active_dsc(_new_dsc(store, csca, NOW, 1).kid)
    dscs = 1
    first = world.issue(signer=store.load(Role.DSC, signing_dsc_kid(store, NOW)), now=NOW)
    assert first.issued == 3

    renewals = 0
    at = NOW
    while at < NOW + dt.timedelta(days=800):
        at += STEP
        if dsc_plan(store, at).warning:  # the key custodian follows the plan
            dscs += 1
            _new_dsc(store, csca, at, dscs)
        signer = store.load(Role.DSC, signing_dsc_kid(store, at))
        report = renew_expiring(world.engine, signer, issuer_name=ISSUER, by="renewal job",
                                within_days=30, now=at,
                                anchors=(world.pki.csca.certificate,))  # fmt: skip
        assert report.skipped == {}, (at, report.skipped)
        renewals += report.superseded
        with world.session() as s:
            active = list(s.scalars(select(Certificate).where(Certificate.status == "active")))
        assert len(active) == 3
        for c in active:
            exp = c.exp if c.exp.tzinfo else c.exp.replace(tzinfo=dt.UTC)
            assert exp > at + STEP, (at, c.exp)  # still valid at the next run
            if c.created_reason == "renewal":
                created = c.iat if c.iat.tzinfo else c.iat.replace(tzinfo=dt.UTC)
                assert exp - created >= dt.timedelta(days=364)
    assert renewals >= 6  # twice per person over the two years
    assert dscs >= 3  # the plan asked for successors
