"""`vaxlink demo` end to end through the real entry point, on a fresh data directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


def test_demo_imports_and_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exe = Path(sys.executable).with_name("vaxlink")
    env = {**os.environ, "VAXLINK_DATA_DIR": str(tmp_path / "var"), "COLUMNS": "120"}
    env.pop("VAXLINK_DATABASE_URL", None)
    out = subprocess.run(
        [str(exe), "demo", "--citizens", "600", "--seed", "3", "--no-serve"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout
    citizens = int(re.search(r"citizens in the registry\s*│\s*([\d,]+)", text)[1].replace(",", ""))  # type: ignore[index]
    read = int(re.search(r"dose records read\s*│\s*([\d,]+)", text)[1].replace(",", ""))  # type: ignore[index]
    imported = int(re.search(r"dose records imported\s*│\s*([\d,]+)", text)[1].replace(",", ""))  # type: ignore[index]
    quarantined = int(
        re.search(r"quarantined \(kept with reasons\)\s*│\s*([\d,]+)", text)[1].replace(",", "")
    )  # type: ignore[index]
    assert citizens == 600
    assert read > citizens  # most people have two or more doses
    assert imported + quarantined == read
    assert (tmp_path / "var" / "vaxlink.db").is_file()
    # the demo's key store publishes a signed trust list at once (the offline verifier's input),
    # listing the demo's DSC and verifiable with the trust-list signer the CSCA certified
    from fastapi.testclient import TestClient

    from vaxlink.settings import Settings
    from vaxlink.web.app import create_app

    monkeypatch.setenv("VAXLINK_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("VAXLINK_DATABASE_URL", raising=False)
    with TestClient(create_app(Settings())) as client:
        published = client.get("/api/v1/certificates/trust-list")
    assert published.status_code == 200, published.text[:500]
    assert published.headers["X-Signature"].count(".") == 2  # a detached JWS
    assert [c["certificateType"] for c in published.json()["certificates"]] == ["DSC"]
    _the_campaign_pages_have_work(tmp_path / "var", text, client_app=create_app(Settings()))


def _the_campaign_pages_have_work(data_dir: Path, text: str, *, client_app: object) -> None:
    """The demo's partner applications (Vietnamese names, a token printed once for the demo),
    campaign phases around the demo's clock, focal points of the demo commune's units and one
    police list the demo police verified: made by the services and audited like the CLI and the
    pages do, so their pages are not empty."""
    import datetime as dt

    from fastapi.testclient import TestClient
    from sqlalchemy import select

    from vaxlink.auth.models import AuditEntry
    from vaxlink.certificates.models import ApiClient
    from vaxlink.cleaning.models import PoliceList
    from vaxlink.db import make_engine, transaction
    from vaxlink.facilities.models import FocalPoint
    from vaxlink.reports.models import CampaignPhase

    tokens = dict(re.findall(r"│ (\S[^│]*?) +│ (vxl_[A-Za-z0-9_-]{43}) │", text))
    assert set(tokens) == {"Sổ sức khỏe điện tử (demo)", "Ứng dụng PC-COVID (demo)"}, text[-2000:]
    assert "tokens for the demo only" in text
    engine = make_engine(f"sqlite:///{data_dir / 'vaxlink.db'}")
    try:
        with transaction(engine) as s:
            clients = s.scalars(select(ApiClient).order_by(ApiClient.name)).all()
            assert [c.name for c in clients] == sorted(tokens)
            assert all(c.active and c.push_url is None for c in clients)
            today = dt.datetime.now(dt.UTC).date()
            phases = s.scalars(select(CampaignPhase)).all()
            assert len(phases) == 2
            assert all(p.active and p.starts_on <= today < p.deadline for p in phases)
            points = s.scalars(select(FocalPoint)).all()
            assert {p.unit_level for p in points} == {"ward", "district", "province"}
            lists = s.scalars(select(PoliceList)).all()
            assert len(lists) == 1
            assert lists[0].verified_by_username == lists[0].created_by_username == "demo.congan"
            assert lists[0].doses >= 1
            actions = {a for (a,) in s.execute(select(AuditEntry.action))}
            assert {"certificates.api_client_add", "campaign.phase_add", "directory.add",
                    "police_list.create", "police_list.verify"} <= actions  # fmt: skip
    finally:
        engine.dispose()
    with TestClient(client_app) as client:  # type: ignore[arg-type]
        feed = client.get("/api/v1/certificates/changes",
                          headers={"Authorization": f"Bearer {tokens['Sổ sức khỏe điện tử (demo)']}"})  # fmt: skip
    assert feed.status_code == 200, feed.text[:300]
