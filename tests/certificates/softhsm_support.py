"""A fresh SoftHSM2 token in a temporary directory, for the PKCS#11 tests.

Skipped with a reason when SoftHSM2 is not installed, except in CI (CI=true), where it fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pkcs11
import pytest

from vaxlink.certificates.keys.pkcs11 import SOFTHSM2_LIBRARY

SO_PIN = "13579111"


def softhsm_missing() -> str | None:
    """Why SoftHSM2 cannot be used here, or None."""
    if not SOFTHSM2_LIBRARY.exists():
        return f"SoftHSM2 PKCS#11 module {SOFTHSM2_LIBRARY} missing (apt-get install softhsm2)"
    if shutil.which("softhsm2-util") is None:
        return "softhsm2-util not on PATH (apt-get install softhsm2)"
    return None


@contextmanager
def softhsm_token(root: Path, *, label: str, pin: str) -> Iterator[Path]:
    """An initialised token `label` (user PIN `pin`) under `root`; SOFTHSM2_CONF points at it
    meanwhile, and the PKCS#11 library is initialised again to see it."""
    reason = softhsm_missing()
    if reason:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason)
        pytest.skip(reason)
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOFTHSM2_CONF", str(conf))
        subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", pin,
                        "--so-pin", SO_PIN], check=True, capture_output=True)  # fmt: skip
        lib = pkcs11.lib(str(SOFTHSM2_LIBRARY))
        lib.reinitialize()  # SoftHSM reads SOFTHSM2_CONF and the token list at C_Initialize
        yield root
        lib.finalize()
