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
