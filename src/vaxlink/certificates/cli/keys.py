"""`vaxlink keys …`: thin commands over keys.py and trustlist.py for the issuer's operators."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from cryptography import x509
from rich.console import Console
from rich.table import Table

from vaxlink.certificates.cli import passphrases
from vaxlink.certificates.errors import KeyManagementError
from vaxlink.certificates.keys import hierarchy as keys
from vaxlink.certificates.keys import store as keystore
from vaxlink.certificates.keys.hierarchy import DccType
from vaxlink.certificates.keys.store import KeyStore, Role

if TYPE_CHECKING:
    from vaxlink.compose import Container
from vaxlink.certificates.keys.trustlist import build_trust_list, dsc_revocation_report

app = typer.Typer(help="Issuer keys: CSCA, document signers, facilities, trust list.")
console = Console()

KeyDir = Annotated[
    Path | None,
    typer.Option("--key-dir", help="Key directory (default: <data_dir>/keys).", show_default=False),
]
CscaPassphrase = Annotated[
    str,
    typer.Option(
        "--csca-passphrase",
        envvar="VAXLINK_CSCA_PASSPHRASE",
        prompt="CSCA key passphrase",
        hide_input=True,
        help="Passphrase of the offline CSCA key (or env VAXLINK_CSCA_PASSPHRASE).",
    ),
]
DscPassphrase = Annotated[
    str | None,
    typer.Option(
        "--dsc-passphrase",
        help="Encrypt the new private key with this passphrase (default: the setting "
        "dsc_passphrase, which signing then uses to load it).",
    ),
]
Types = Annotated[
    list[DccType] | None,
    typer.Option("--type", help="DCC type this DSC may sign: t, v, r (repeatable; default v)."),
]


@contextmanager
def _running(key_dir: Path | None) -> Iterator[Container]:
    """The composition root for one command: its clock and key store (`--key-dir` or
    `<data_dir>/keys`)."""
    from vaxlink import compose

    with compose.running(key_dir=key_dir) as c:
        yield c


def _new_key_passphrase(c: Container, given: str | None) -> bytes | None:
    """What encrypts a new DSC key: `--dsc-passphrase`, else the configured one."""
    return given.encode() if given else c.dsc_passphrase()


def _csca(store: KeyStore, passphrase: str) -> keys.KeyPair:
    return store.latest(Role.CSCA, passphrase=passphrase.encode())


def _show(pair_or_cert: keys.KeyPair | x509.Certificate, what: str) -> None:
    cert = pair_or_cert.certificate if isinstance(pair_or_cert, keys.KeyPair) else pair_or_cert
    key_id = keys.kid(cert)
    console.print(
        f"{what}: kid [bold]{base64.b64encode(key_id).decode()}[/] ({key_id.hex()}), "
        f"valid {cert.not_valid_before_utc:%Y-%m-%d} → {cert.not_valid_after_utc:%Y-%m-%d}",
        highlight=False,
    )


@app.command("init-csca")
def init_csca(
    country: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2 country code.")],
    organization: Annotated[str, typer.Option(help="Issuing authority, e.g. the ministry.")],
    passphrase: Annotated[
        str,
        typer.Option(
            envvar="VAXLINK_CSCA_PASSPHRASE",
            prompt="New CSCA passphrase",
            hide_input=True,
            confirmation_prompt=True,
            help="Encrypts the CSCA key (at least 12 characters).",
        ),
    ],
    curve: Annotated[str, typer.Option(help="P-256 or P-384.")] = "P-256",
    validity_days: Annotated[int, typer.Option()] = keys.CSCA_VALIDITY_DAYS,
    rotate: Annotated[bool, typer.Option(help="Create a new CSCA although one exists.")] = False,
    key_dir: KeyDir = None,
) -> None:
    """Create the country signing CA (run on the offline machine)."""
    with _running(key_dir) as c:
        store = c.key_store
        if store.certificates(Role.CSCA) and not rotate:
            raise KeyManagementError("a CSCA already exists here; pass --rotate to create a new one")
        if curve not in ("P-256", "P-384"):
            raise KeyManagementError("curve must be P-256 or P-384")
        pair = keystore.rotate_csca(
            store,
            country=country,
            organization=organization,
            now=c.clock.now(),
            passphrase=passphrase.encode(),
            curve="P-384" if curve == "P-384" else "P-256",
            validity_days=validity_days,
        )
        c.audit_cli_now("keys.init_csca", "key", pair.kid.hex(), detail={"rotate": rotate})
    _show(pair, "CSCA")


@app.command("issue-dsc")
def issue_dsc(
    csca_passphrase: CscaPassphrase,
    name: Annotated[
        str | None, typer.Option(help="Common name of a new DSC (a CSR names its own).")
    ] = None,
    types: Types = None,
    validity_days: Annotated[int, typer.Option()] = keys.DSC_VALIDITY_DAYS,
    csr: Annotated[
        Path | None, typer.Option(help="PEM request from an HSM: certify its key instead.")
    ] = None,
    activate: Annotated[bool, typer.Option(help="Make it the signing DSC.")] = True,
    dsc_passphrase: DscPassphrase = None,
    key_dir: KeyDir = None,
) -> None:
    """Issue a document signer certificate (a new key, or the key in an HSM's CSR)."""
    if csr is None and not name:
        raise KeyManagementError("give --name for a new DSC, or --csr to certify an HSM key")
    with _running(key_dir) as c:
        store = c.key_store
        csca = _csca(store, csca_passphrase)
        chosen = types or [DccType.VACCINATION]
        if csr is not None:
            try:
                request = x509.load_pem_x509_csr(csr.read_bytes())
            except (OSError, ValueError) as exc:
                raise KeyManagementError(f"cannot read the request {csr}: {exc}") from exc
            cert = keys.issue_dsc_from_csr(
                csca, request, now=c.clock.now(), types=chosen, validity_days=validity_days
            )
            path = store.save_certificate(Role.DSC, cert)
            console.print(f"certificate written to {path}: store it on the token too")
            key_id = keys.kid(cert)
            _show(cert, "DSC")
        else:
            pair = keys.create_dsc(
                csca, now=c.clock.now(), common_name=str(name), types=chosen,
                validity_days=validity_days,
            )  # fmt: skip
            store.save(Role.DSC, pair, passphrase=_new_key_passphrase(c, dsc_passphrase))
            key_id = pair.kid
            _show(pair, "DSC")
        if activate:
            store.set_active_dsc(key_id)
        c.audit_cli_now("keys.issue_dsc", "key", key_id.hex(),
                        detail={"from_csr": csr is not None, "activated": activate})  # fmt: skip


@app.command("rotate-dsc")
def rotate_dsc(
    name: Annotated[str, typer.Option(help="Common name of the new document signer.")],
    csca_passphrase: CscaPassphrase,
    types: Types = None,
    validity_days: Annotated[int, typer.Option()] = keys.DSC_VALIDITY_DAYS,
    dsc_passphrase: DscPassphrase = None,
    key_dir: KeyDir = None,
) -> None:
    """Issue and activate a new DSC; older DSCs stay in the trust list until they expire."""
    with _running(key_dir) as c:
        store = c.key_store
        pair = keystore.rotate_dsc(
            store,
            _csca(store, csca_passphrase),
            now=c.clock.now(),
            common_name=name,
            types=types or [DccType.VACCINATION],
            validity_days=validity_days,
            passphrase=_new_key_passphrase(c, dsc_passphrase),
        )
        c.audit_cli_now("keys.rotate_dsc", "key", pair.kid.hex())
    _show(pair, "new active DSC")
    console.print("Publish a new trust list now: `vaxlink keys trust-list`.")


Approver = Annotated[
    str, typer.Option("--approver", help="Site approver account that holds the key (user name).")
]


def _approver_of(c: Container, username: str, facility_code: str) -> str:
    """The user name of an active site approver account of `facility_code` (else refused)."""
    from vaxlink.certificates.approval.signing import check_approver

    name = username.strip().lower()
    with c.transaction() as session:
        check_approver(session, name, facility_code)
    return name


def _new_passphrase(path: Path | None, username: str) -> str:
    from vaxlink.certificates.approval.signing import check_signing_passphrase

    value = passphrases.read(path, f"New signing passphrase for {username}", new=True)
    check_signing_passphrase(value, username)
    return value


def _facility_of(cert: x509.Certificate) -> str:
    from cryptography.x509.oid import NameOID

    values = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else ""


@app.command("issue-facility")
def issue_facility(
    code: Annotated[str, typer.Option(help="Facility (vaccination site) code.")],
    name: Annotated[str, typer.Option(help="Facility name.")],
    approver: Approver,
    csca_passphrase: CscaPassphrase,
    passphrase_file: passphrases.PassphraseFile = None,
    validity_days: Annotated[int, typer.Option()] = keys.FACILITY_VALIDITY_DAYS,
    key_dir: KeyDir = None,
) -> None:
    """Issue a vaccination site's record-approval key, wrapped for its approver: only that
    account's signing passphrase (typed twice at a hidden prompt) unlocks it."""
    with _running(key_dir) as c:
        holder = _approver_of(c, approver, code)
        secret = _new_passphrase(passphrase_file, holder)
        store = c.key_store
        pair = keys.create_facility_signer(
            _csca(store, csca_passphrase),
            facility_code=code,
            facility_name=name,
            now=c.clock.now(),
            validity_days=validity_days,
        )
        store.save_facility(pair, holder, secret)
        c.audit_cli_now("keys.issue_facility", "key", pair.kid.hex(),
                        detail={"facility": code, "approver": holder})  # fmt: skip
    _show(pair, f"facility {code}, held by {holder}")


@app.command("issue-facility-token")
def issue_facility_token(
    code: Annotated[str, typer.Option(help="Facility (vaccination site) code.")],
    name: Annotated[str, typer.Option(help="Facility name.")],
    approver: Approver,
    library: Annotated[Path, typer.Option(help="PKCS#11 module of the approver's token.")],
    token_label: Annotated[str, typer.Option(help="Label of the approver's token.")],
    key_label: Annotated[str, typer.Option(help="Label for the new key on the token.")],
    csca_passphrase: CscaPassphrase,
    pin_file: Annotated[
        Path | None,
        typer.Option(help="The token's user PIN from a file (mode 0600) instead of a prompt.",
                     show_default=False),
    ] = None,
    validity_days: Annotated[int, typer.Option()] = keys.FACILITY_VALIDITY_DAYS,
    key_dir: KeyDir = None,
) -> None:
    """Issue a site's approval key on its approver's PKCS#11 token: the key is made on the
    token and never leaves it; the token's user PIN (the approver's) unlocks it to sign."""

    with _running(key_dir) as c:
        holder = _approver_of(c, approver, code)
        cert = _key_on_token(
            c, holder, (library, token_label, key_label), pin_file,
            lambda public: keys.certify_facility_key(
                _csca(c.key_store, csca_passphrase), public, facility_code=code,
                facility_name=name, now=c.clock.now(), validity_days=validity_days),
            Role.FACILITY,
        )  # fmt: skip
        c.audit_cli_now("keys.issue_facility_token", "key", keys.kid(cert).hex(),
                        detail={"facility": code, "approver": holder})  # fmt: skip
    _show(cert, f"facility {code}, on {holder}'s token {token_label}")


def _key_on_token(
    c: Container, holder: str, slot: tuple[Path, str, str], pin_file: Path | None,
    certify: Callable[[Any], x509.Certificate], role: Role,
) -> x509.Certificate:  # fmt: skip
    """Make a signing key on `holder`'s PKCS#11 token (`slot`: library, token label, key label;
    the PIN is asked here), have `certify(public key)` certify it, store the certificate on the
    token and record the token in the key store; the certificate."""
    from vaxlink.certificates.keys import pkcs11

    library, token_label, key_label = slot
    token = pkcs11.TokenKey(library, token_label,
                            passphrases.read(pin_file, f"Token PIN of {holder}"), key_label)  # fmt: skip
    cert = certify(pkcs11.generate_key(token))
    pkcs11.store_certificate(token, cert)
    c.key_store.save_facility_token(cert, holder, library=library, token_label=token_label,
                                    key_label=key_label, role=role)  # fmt: skip
    return cert


@app.command("grant-facility")
def grant_facility(
    code: Annotated[str, typer.Option(help="Facility (vaccination site) code.")],
    holder: Annotated[
        str, typer.Option("--holder", help="An approver who holds the key now and unlocks it.")
    ],
    approver: Annotated[
        str, typer.Option("--approver", help="The site approver account to grant it to.")
    ],
    holder_passphrase_file: Annotated[
        Path | None,
        typer.Option(help="The holder's signing passphrase from a file (mode 0600).",
                     show_default=False),
    ] = None,
    passphrase_file: passphrases.PassphraseFile = None,
    key_dir: KeyDir = None,
) -> None:
    """Give one more approver of the site their own wrap of its newest valid approval key: an
    existing holder unlocks it, the new approver's passphrase wraps it."""
    from vaxlink.certificates.approval.signing import SigningCredential, unlock_site_key
    from vaxlink.certificates.errors import SigningRefused
    from vaxlink.ratelimit import secret_of

    with _running(key_dir) as c:
        new = _approver_of(c, approver, code)
        held = holder.strip().lower()
        unlock = SigningCredential(
            held, passphrases.read(holder_passphrase_file, f"Signing passphrase of {held}")
        )
        failure: SigningRefused | None = None
        with c.transaction() as session:  # commits the count of a wrong passphrase
            try:
                pair = unlock_site_key(session, c.key_store, code, unlock, now=c.clock.now(),
                                       secret=secret_of(c.settings))  # fmt: skip
            except SigningRefused as exc:
                failure = exc
        if failure is not None:
            raise failure
        if not isinstance(pair, keys.KeyPair):
            raise KeyManagementError(
                f"facility {code}'s key is on {held}'s PKCS#11 token and cannot be copied: enrol "
                f"{new} with a key of their own (`vaxlink keys issue-facility-token`)"
            )
        if new in c.key_store.facility_holders(pair.kid):
            raise KeyManagementError(f"{new} already holds facility {code}'s key {pair.kid.hex()}")
        c.key_store.add_facility_holder(pair, new, _new_passphrase(passphrase_file, new))
        c.audit_cli_now("keys.grant_facility", "key", pair.kid.hex(),
                        detail={"facility": code, "approver": new, "granted_by": held})  # fmt: skip
    console.print(f"{new} now holds facility {code}'s approval key {pair.kid.hex()}",
                  highlight=False)  # fmt: skip


@app.command("revoke-facility-approver")
def revoke_facility_approver(
    code: Annotated[str, typer.Option(help="Facility (vaccination site) code.")],
    approver: Annotated[str, typer.Option("--approver", help="The account to take the key from.")],
    destroy_last: Annotated[
        bool,
        typer.Option(help="Also remove the last wrap of a key (nobody can sign with it again)."),
    ] = False,
    key_dir: KeyDir = None,
) -> None:
    """Delete an approver's wraps of every approval key of the site (they can no longer sign)."""
    name = approver.strip().lower()
    with _running(key_dir) as c:
        store = c.key_store
        kids = [keys.kid(cert) for cert in store.certificates(Role.FACILITY)
                if _facility_of(cert) == code and name in store.facility_holders(keys.kid(cert))]  # fmt: skip
        if not kids:
            raise KeyManagementError(f"{name} holds no approval key of facility {code}")
        for key_id in kids:
            store.remove_facility_holder(key_id, name, last=destroy_last)
        c.audit_cli_now("keys.revoke_facility_approver", "facility", code,
                        detail={"approver": name, "keys": [k.hex() for k in kids]})  # fmt: skip
    console.print(f"{name} no longer holds {len(kids)} approval key(s) of facility {code}",
                  highlight=False)  # fmt: skip


@app.command("wrap-facility")
def wrap_facility(
    kid_hex: Annotated[str, typer.Option("--kid", help="Kid of the facility key, in hex.")],
    approver: Approver,
    passphrase_file: passphrases.PassphraseFile = None,
    key_dir: KeyDir = None,
) -> None:
    """Wrap a facility key kept as a plain file (from before wrapping) for its approver, then
    delete the plain file; grant the site's other approvers afterwards."""
    try:
        key_id = bytes.fromhex(kid_hex)
    except ValueError as exc:
        raise KeyManagementError(f"{kid_hex!r} is not a hex key id") from exc
    with _running(key_dir) as c:
        store = c.key_store
        code = _facility_of(store.certificate(Role.FACILITY, key_id))
        holder = _approver_of(c, approver, code)
        path = store.wrap_plain_facility(key_id, holder, _new_passphrase(passphrase_file, holder))
        c.audit_cli_now("keys.wrap_facility", "key", key_id.hex(),
                        detail={"facility": code, "approver": holder})  # fmt: skip
    console.print(f"facility {code} key {key_id.hex()} wrapped for {holder} ({path.name}); "
                  "the plain key file is deleted", highlight=False)  # fmt: skip


def _district_holder(c: Container, username: str, district_code: str) -> str:
    """The user name of an active district health account of `district_code` (else refused)."""
    from vaxlink.certificates.approval.district import check_district_approver

    name = username.strip().lower()
    with c.transaction() as session:
        check_district_approver(session, name, district_code)
    return name


DistrictApprover = Annotated[
    str,
    typer.Option("--approver", help="District health centre account that holds the key."),
]


@app.command("issue-district")
def issue_district(
    code: Annotated[str, typer.Option(help="District code (3 digits).")],
    name: Annotated[str, typer.Option(help="Name of the district health centre.")],
    approver: DistrictApprover,
    csca_passphrase: CscaPassphrase,
    passphrase_file: passphrases.PassphraseFile = None,
    validity_days: Annotated[int, typer.Option()] = keys.DISTRICT_VALIDITY_DAYS,
    key_dir: KeyDir = None,
) -> None:
    """Issue a district health centre's list-signing key, certified by the CSCA and wrapped for
    one of its accounts: only that account's signing passphrase unlocks it."""
    from vaxlink.certificates.approval.district import district_code_of

    district = district_code_of(code)
    with _running(key_dir) as c:
        holder = _district_holder(c, approver, district)
        secret = _new_passphrase(passphrase_file, holder)
        store = c.key_store
        pair = keys.create_district_signer(
            _csca(store, csca_passphrase), district_code=district, district_name=name,
            now=c.clock.now(), validity_days=validity_days,
        )  # fmt: skip
        store.save_facility(pair, holder, secret, role=Role.DISTRICT)
        c.audit_cli_now("keys.issue_district", "key", pair.kid.hex(),
                        detail={"district": district, "approver": holder})  # fmt: skip
    _show(pair, f"district {district}, held by {holder}")


@app.command("grant-district")
def grant_district(
    code: Annotated[str, typer.Option(help="District code (3 digits).")],
    holder: Annotated[
        str, typer.Option("--holder", help="An account that holds the key now and unlocks it.")
    ],
    approver: DistrictApprover,
    holder_passphrase_file: Annotated[
        Path | None,
        typer.Option(help="The holder's signing passphrase from a file (mode 0600).",
                     show_default=False),
    ] = None,
    passphrase_file: passphrases.PassphraseFile = None,
    key_dir: KeyDir = None,
) -> None:
    """Give one more account of the district health centre its own wrap of the district's newest
    valid key: an existing holder unlocks it, the new account's passphrase wraps it."""
    from vaxlink.certificates.approval.district import district_code_of, unlock_district_key
    from vaxlink.certificates.approval.signing import SigningCredential
    from vaxlink.certificates.errors import SigningRefused
    from vaxlink.ratelimit import secret_of

    district = district_code_of(code)
    with _running(key_dir) as c:
        new = _district_holder(c, approver, district)
        held = holder.strip().lower()
        unlock = SigningCredential(
            held, passphrases.read(holder_passphrase_file, f"Signing passphrase of {held}")
        )
        failure: SigningRefused | None = None
        with c.transaction() as session:  # commits the count of a wrong passphrase
            try:
                pair = unlock_district_key(session, c.key_store, district, unlock,
                                           now=c.clock.now(), secret=secret_of(c.settings))  # fmt: skip
            except SigningRefused as exc:
                failure = exc
        if failure is not None:
            raise failure
        if not isinstance(pair, keys.KeyPair):
            raise KeyManagementError(
                f"district {district}'s key is on {held}'s PKCS#11 token and cannot be copied"
            )
        if new in c.key_store.facility_holders(pair.kid, role=Role.DISTRICT):
            raise KeyManagementError(f"{new} already holds district {district}'s key")
        c.key_store.add_facility_holder(
            pair, new, _new_passphrase(passphrase_file, new), role=Role.DISTRICT
        )
        c.audit_cli_now("keys.grant_district", "key", pair.kid.hex(),
                        detail={"district": district, "approver": new, "granted_by": held})  # fmt: skip
    console.print(f"{new} now holds district {district}'s signing key {pair.kid.hex()}",
                  highlight=False)  # fmt: skip


@app.command("issue-district-token")
def issue_district_token(
    code: Annotated[str, typer.Option(help="District code (3 digits).")],
    name: Annotated[str, typer.Option(help="Name of the district health centre.")],
    approver: DistrictApprover,
    library: Annotated[Path, typer.Option(help="PKCS#11 module of the account's token.")],
    token_label: Annotated[str, typer.Option(help="Label of the account's token.")],
    key_label: Annotated[str, typer.Option(help="Label for the new key on the token.")],
    csca_passphrase: CscaPassphrase,
    pin_file: Annotated[
        Path | None,
        typer.Option(help="The token's user PIN from a file (mode 0600) instead of a prompt.",
                     show_default=False),
    ] = None,
    validity_days: Annotated[int, typer.Option()] = keys.DISTRICT_VALIDITY_DAYS,
    key_dir: KeyDir = None,
) -> None:
    """Issue a district's list-signing key on one of its accounts' PKCS#11 token: made on the
    token, never leaving it; the token's user PIN unlocks it to sign."""
    from vaxlink.certificates.approval.district import district_code_of

    district = district_code_of(code)
    with _running(key_dir) as c:
        holder = _district_holder(c, approver, district)
        cert = _key_on_token(
            c, holder, (library, token_label, key_label), pin_file,
            lambda public: keys.certify_district_key(
                _csca(c.key_store, csca_passphrase), public, district_code=district,
                district_name=name, now=c.clock.now(), validity_days=validity_days),
            Role.DISTRICT,
        )  # fmt: skip
        c.audit_cli_now("keys.issue_district_token", "key", keys.kid(cert).hex(),
                        detail={"district": district, "approver": holder})  # fmt: skip
    _show(cert, f"district {district}, on {holder}'s token {token_label}")


@app.command("revoke-dsc")
def revoke_dsc(
    kid_hex: Annotated[str, typer.Argument(help="Kid of the DSC, in hex (see `keys list`).")],
    issued: Annotated[int, typer.Option(help="Certificates it signed (from the store).")] = 0,
    key_dir: KeyDir = None,
) -> None:
    """Withdraw a DSC from the trust list (publish the list again afterwards)."""
    key_id = bytes.fromhex(kid_hex)
    with _running(key_dir) as c:
        c.key_store.revoke_dsc(key_id)
        c.audit_cli_now("keys.revoke_dsc", "key", key_id.hex(), detail={"issued": issued})
    console.print(dsc_revocation_report([key_id], {key_id: issued}).summary(), highlight=False)


@app.command("trust-list")
def trust_list(
    out: Annotated[Path, typer.Option(help="Folder for trustlist.json and trustlist.json.jws.")],
    csca_passphrase: Annotated[
        str | None,
        typer.Option(
            envvar="VAXLINK_CSCA_PASSPHRASE",
            help="Needed once, to certify the trust-list signer (env VAXLINK_CSCA_PASSPHRASE).",
        ),
    ] = None,
    key_dir: KeyDir = None,
) -> None:
    """Sign and write the DSC trust list that verifiers download."""
    with _running(key_dir) as c:
        store, now = c.key_store, c.clock.now()
        if not store.certificates(Role.TRUST_LIST):
            if csca_passphrase is None:
                csca_passphrase = typer.prompt(
                    "CSCA passphrase (certifies the signer)", hide_input=True
                )
            signer = keys.create_trust_list_signer(_csca(store, csca_passphrase), now=now)
            store.save(Role.TRUST_LIST, signer)
        dscs = store.trusted_dscs(now)
        published = build_trust_list(dscs, store.latest(Role.TRUST_LIST), now)
        out.mkdir(parents=True, exist_ok=True)
        (out / "trustlist.json").write_bytes(published.document)
        (out / "trustlist.json.jws").write_text(published.signature + "\n", encoding="ascii")
        c.audit_cli_now("keys.trust_list", "trust_list", "published", detail={"dscs": len(dscs)})
    console.print(f"trust list with {len(dscs)} DSC(s) written to {out}", highlight=False)


@app.command("list")
def list_keys(key_dir: KeyDir = None) -> None:
    """Show every certificate in the key directory with its status."""
    with _running(key_dir) as c:
        store, now = c.key_store, c.clock.now()
    revoked = store.revoked_dsc_kids()
    try:
        active: bytes | None = store.active_dsc_kid()
    except KeyManagementError:
        active = None
    table = Table(
        "role", "kid (base64)", "kid (hex)", "subject", "valid from", "valid to", "status"
    )
    for role in Role:
        for cert in store.certificates(role):
            key_id = keys.kid(cert)
            if key_id in revoked:
                status = "revoked"
            elif not keys.is_valid_at(cert, now):
                status = "expired" if cert.not_valid_after_utc < now else "not yet valid"
            elif key_id == active:
                status = "active"
            else:
                status = "valid"
            if role in keystore.WRAPPED:
                holders = store.facility_holders(key_id, role=role)
                status += f"; held by {', '.join(holders)}" if holders else "; NOT WRAPPED"
            table.add_row(
                role.value,
                base64.b64encode(key_id).decode(),
                key_id.hex(),
                cert.subject.rfc4514_string(),
                f"{cert.not_valid_before_utc:%Y-%m-%d}",
                f"{cert.not_valid_after_utc:%Y-%m-%d}",
                status,
            )
    console.print(table)
