"""The composition root: every port and shared resource, built in one place, once.

The web app builds one `Container` in `create_app` (kept on `app.state.container`, reached
through `vaxlink.web.deps.container`); a CLI command or a job opens one with `running()`:

    with compose.running() as c:          # settings from the environment
        with c.transaction() as s: ...
        issuer = c.issuer(by="operator")

Services never build these themselves: they take what they need (a session, a registry port, a
signer, a clock) as arguments. Construction is lazy where it costs (the store's engine and its
migrations, the linkage model, signing keys, SMTP and SMS adapters) and then cached on the
container; imports of the domains happen inside the builders, so a command pays only for what it
uses. Secrets (DSC passphrase, PKCS#11 PIN, tokens) are read from `Settings` as `SecretStr` and
revealed only at the call that needs them; nothing here logs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from vaxlink.clock import Clock, FixedClock, SystemClock
from vaxlink.settings import Settings, get_settings

if TYPE_CHECKING:
    from datetime import datetime

    from cryptography import x509
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from vaxlink.auth.service import Principal
    from vaxlink.certificates.service import Issuer, KeyStore, Pusher, RenewalJob, Signer
    from vaxlink.feedback.sms import SmsPort
    from vaxlink.flows.reissue_after_change import Settled
    from vaxlink.linkage.service import LinkModel
    from vaxlink.periodic import Periodic
    from vaxlink.registry.service import RegistryPort
    from vaxlink.reports.service import Mailer, ReportSettings

T = TypeVar("T")
log = logging.getLogger(__name__)
#: Times the scheduled settling step tries its transaction (SQLite's one writer may be busy).
_SETTLE_TRIES = 4


class Container:
    """Settings, clock, store, registry port, linkage model, signers, SMS and mail of one process
    (or one web app): each built on first use and kept until `close()`."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        engine: Engine | None = None,
        key_dir: Path | None = None,
    ) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.key_dir: Path = key_dir or settings.data_dir / "keys"

        self._lock = threading.RLock()
        self._built: dict[str, Any] = {}
        self._own_engine = engine is None
        if engine is not None:
            self._built["engine"] = engine
        self._users = 0

    def __repr__(self) -> str:  # settings' secrets are SecretStr; show only what is built
        return f"Container(built={sorted(self._built)}, clock={self.clock!r})"

    def _once(self, name: str, build: Callable[[], T]) -> T:
        with self._lock:
            if name not in self._built:
                self._built[name] = build()
            return cast(T, self._built[name])

    # -- the store ---------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The store's engine, migrated to the newest schema on first use."""
        from vaxlink.db import engine_from_settings

        return self._once("engine", lambda: engine_from_settings(self.settings))

    @property
    def sessions(self) -> sessionmaker[Session]:
        """The session factory on `engine` (services flush, callers commit)."""
        from vaxlink.db import session_factory

        return self._once("sessions", lambda: session_factory(self.engine))

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work on the store: committed on success, rolled back on any error."""
        with self.sessions() as session, session.begin():
            yield session

    # -- ports ---------------------------------------------------------------------------------

    @property
    def registry(self) -> RegistryPort:
        """The population registry: the service at `registry_url` when set, else the citizens
        loaded into the store (read on connections of its own, outside the caller's
        transaction)."""

        def build() -> RegistryPort:
            from vaxlink.registry.service import HttpRegistry, LocalRegistry

            if self.settings.registry_url:
                return HttpRegistry(self.settings.registry_url)
            return LocalRegistry(self.sessions)

        return self._once("registry", build)

    @property
    def link_model(self) -> LinkModel:
        """The linkage model: the file at `linkage_model`, else the packaged one (read once)."""
        from vaxlink.linkage.service import LinkModel

        return self._once("link_model", lambda: LinkModel.load(self.settings.linkage_model))

    @property
    def sms(self) -> SmsPort:
        """The SMS adapter: the HTTP gateway when `sms_gateway_url` is set, else the console."""
        from vaxlink.feedback.sms import sms_from_settings

        return self._once("sms", lambda: sms_from_settings(self.settings))

    @property
    def report_settings(self) -> ReportSettings:
        """When daily reports are due and who gets them (VAXLINK_REPORT_*)."""
        from vaxlink.reports.service import ReportSettings

        return self._once("report_settings", ReportSettings)

    @property
    def mailer(self) -> Mailer | None:
        """The SMTP adapter (VAXLINK_SMTP_*), or None when no SMTP host is configured."""
        from vaxlink.reports.service import SmtpSettings, mailer_from

        return self._once("mailer", lambda: mailer_from(SmtpSettings()))

    # -- keys and signing ------------------------------------------------------------------------

    @property
    def key_store(self) -> KeyStore:
        """The issuer's key directory (`key_dir`, default `data_dir/keys`): DSCs, facility
        approval keys, CSCA."""
        from vaxlink.certificates.service import KeyStore

        return self._once("key_store", lambda: KeyStore(self.key_dir))

    def dsc_signer(self, *, now: datetime | None = None) -> Signer:
        """The issuer's signing key: on the PKCS#11 token when `pkcs11_library` is set (one
        logged-in session, kept open), else the key store's DSC that signs at `now` (the clock's
        by default: the active one while it can give 12 months, then its planned successor),
        decrypted with `dsc_passphrase` (loaded again only when that DSC changes)."""
        s = self.settings
        if s.pkcs11_library is not None:
            return self._once("dsc_pkcs11", self._pkcs11_signer)
        from vaxlink.certificates.service import Role, signing_dsc_kid

        store = self.key_store
        active = signing_dsc_kid(store, now or self.clock.now())
        with self._lock:
            cached = self._built.get("dsc_pem")
            if cached is not None and cached[0] == active:
                return cast("Signer", cached[1])
            signer = store.load(Role.DSC, active, passphrase=self.dsc_passphrase())
            self._built["dsc_pem"] = (active, signer)
            return signer

    def _pkcs11_signer(self) -> Signer:
        from vaxlink.certificates.errors import HsmError
        from vaxlink.certificates.keys.pkcs11 import Pkcs11Signer, TokenKey

        s = self.settings
        if s.pkcs11_library is None or not s.pkcs11_token_label or not s.pkcs11_key_label:
            raise HsmError(
                "set VAXLINK_PKCS11_LIBRARY, VAXLINK_PKCS11_TOKEN_LABEL and "
                "VAXLINK_PKCS11_KEY_LABEL to sign on an HSM"
            )
        pin = s.pkcs11_pin.get_secret_value() if s.pkcs11_pin else ""
        return Pkcs11Signer(TokenKey(s.pkcs11_library, s.pkcs11_token_label, pin,
                                     s.pkcs11_key_label))  # fmt: skip

    @property
    def uvci_key(self) -> bytes | None:
        """The HMAC key of certificate identifiers (`uvci_secret`), None when unset."""
        from vaxlink.certificates.service import uvci_key_from_secret

        secret = self.settings.uvci_secret
        return uvci_key_from_secret(secret.get_secret_value() if secret else None)

    def dsc_passphrase(self) -> bytes | None:
        """The passphrase of the active DSC's PEM key (`dsc_passphrase`), None when unset."""
        secret = self.settings.dsc_passphrase
        return secret.get_secret_value().encode() if secret else None

    def issuer(self, *, by: str, now: datetime | None = None) -> Issuer:
        """Who signs certificates now: the DSC signer, the configured issuer name and UVCI key,
        at `now` (default: the clock's), on behalf of `by`; facility approvals must chain to the
        key store's CSCAs."""
        from vaxlink.certificates.service import Issuer

        at = now or self.clock.now()
        return Issuer(self.dsc_signer(now=at), self.settings.certificate_issuer,
                      at, by, self.uvci_key, self.trust_anchors,
                      self.settings.require_district_approval)  # fmt: skip

    def renewal_job(self) -> RenewalJob:
        """The renewal job (`VAXLINK_RENEWAL_*`): renews what expires within the window, signing
        as `job:renewal` with the DSC signer at the job's time; without one it warns once."""
        import datetime as dt

        from vaxlink.certificates.service import RENEWAL_JOB, RenewalJob

        s = self.settings
        return self._once("renewal_job", lambda: RenewalJob(
            lambda: self.engine, lambda now: self.issuer(by=RENEWAL_JOB, now=now),
            within_days=s.renewal_within_days, every=dt.timedelta(hours=s.renewal_every_hours),
        ))  # fmt: skip

    def start_background_renewal(self, *, check_seconds: float = 3600.0) -> Periodic | None:
        """The web app's renewal thread, `renewal_job().run_if_due` every `check_seconds` (None
        when `renewal_in_app` is off)."""
        if not self.settings.renewal_in_app:
            return None
        from vaxlink.periodic import Periodic

        job = self.renewal_job()
        return Periodic(lambda: job.run_if_due(self.clock.now()), check_seconds,
                        name="vaxlink-renewal").start()  # fmt: skip

    def pusher(self) -> Pusher:
        """The partner push job (`VAXLINK_PARTNER_PUSH_*`): the change feed to every client with
        a push address, signed with a key derived from the server secret."""
        from vaxlink.certificates.service import Pusher
        from vaxlink.ratelimit import secret_of

        s = self.settings
        return Pusher(self.engine, key=secret_of(s), clock=self.clock.now,
                      every=s.partner_push_every_seconds,
                      max_backoff=s.partner_push_max_backoff_seconds,
                      batch=s.partner_push_batch, timeout=s.partner_push_timeout_seconds)  # fmt: skip

    def start_background_push(self) -> Periodic | None:
        """The web app's push thread, `pusher().run_once` every `partner_push_every_seconds`
        (None when `partner_push_in_app` is off)."""
        if not self.settings.partner_push_in_app:
            return None
        from vaxlink.periodic import Periodic

        pusher = self.pusher()
        return Periodic(pusher.run_once, self.settings.partner_push_every_seconds,
                        name="vaxlink-partner-push").start()  # fmt: skip

    @property
    def trust_anchors(self) -> tuple[x509.Certificate, ...]:
        """The CSCA certificates of the key store: what facility and district approval keys
        chain to."""
        from vaxlink.certificates.service import Role

        return tuple(self.key_store.certificates(Role.CSCA))

    # -- what follows a site's signature, and the scheduled settling step -----------------------

    def after_approval(
        self,
        session: Session,
        *,
        approval_id: int | None,
        actor: Principal | None,
        by: str,
    ) -> Settled:
        """What follows a site's signature, in the signing transaction (the approval page and
        `certificates approve` call it right after signing): the citizen reports waiting for a
        certificate of the people the approval covers are settled
        (`flows.reissue_after_change.settle_after_approval`); their SMS leave after the commit.
        The composition root wires it so that certificates never imports a flow."""
        from vaxlink.flows.reissue_after_change import settle_after_approval

        return settle_after_approval(session, self, approval_id=approval_id, actor=actor, by=by,
                                     now=self.clock.now())  # fmt: skip

    def settle_certificates(self, *, by: str) -> Settled:
        """The scheduled step (`vaxlink report scheduler`, the web app's background thread, after
        `certificates reissue-changed`): settle every report awaiting a certificate in one
        transaction, then send the SMS."""
        import time

        from sqlalchemy.exc import OperationalError

        for attempt in range(_SETTLE_TRIES):
            try:
                settled = self._settle_once(by)
            except OperationalError:
                # SQLite: another writer (the figures refresh, a request) committed while this
                # step was reading; its snapshot cannot become a write. Again, on a new snapshot.
                if attempt == _SETTLE_TRIES - 1:
                    raise
                time.sleep(0.2 * (attempt + 1))
                continue
            break
        from vaxlink.flows.reissue_after_change import send

        send(self, settled.notices)
        return settled

    def _settle_once(self, by: str) -> Settled:
        from vaxlink.flows.reissue_after_change import settle_waiting

        with self.transaction() as session:
            settled = settle_waiting(session, self, now=self.clock.now(), by=by)
            if settled.checked:
                from vaxlink.auth import service as auth

                auth.append(session, actor=None, action="feedback.ticket.settle_run",
                            object_type="feedback_ticket_batch", object_id="awaiting_certificate",
                            detail={"by": by, "checked": settled.checked,
                                    "resolved": len(settled.resolved),
                                    "failed": len(settled.failed)},
                            at=self.clock.now())  # fmt: skip
        return settled

    # -- the operator at the command line ------------------------------------------------------

    def operator(self, by: str | None = None) -> str:
        """Who runs this command: `cli:<OS user>`, and the `--by` name when one is given and
        differs (`cli:ops as tester`); kept on audit entries, never personal data of citizens."""
        import getpass

        who = f"cli:{getpass.getuser()}"
        return f"{who} as {by}" if by and f"cli:{by}" != who else who

    def audit_cli(
        self,
        session: Session,
        action: str,
        object_type: str,
        object_id: str | int,
        *,
        by: str | None = None,
        detail: Mapping[str, Any] | None = None,
        unit: str | None = None,
    ) -> int:
        """Audit one data-changing CLI action in `session`'s transaction through auth's front
        door, at the clock's time, with the operator's identity (`operator(by)`) in `detail`.
        `detail` carries ids and counts only (the audit log refuses personal-data keys)."""
        from vaxlink.auth import service as auth

        return auth.append(
            session, actor=None, action=action, object_type=object_type, object_id=object_id,
            unit=unit, detail={**(detail or {}), "operator": self.operator(by)},
            at=self.clock.now(),
        )  # fmt: skip

    def audit_cli_now(
        self,
        action: str,
        object_type: str,
        object_id: str | int,
        *,
        by: str | None = None,
        detail: Mapping[str, Any] | None = None,
        unit: str | None = None,
    ) -> int:
        """`audit_cli` in a transaction of its own: for commands whose work committed already
        (batches in chunks, key files, runs on the engine)."""
        with self.transaction() as session:
            return self.audit_cli(session, action, object_type, object_id, by=by,
                                  detail=detail, unit=unit)  # fmt: skip

    # -- life cycle ------------------------------------------------------------------------------

    @contextmanager
    def in_use(self) -> Iterator[Container]:
        """Hold the container open; the last holder to leave closes it (a web app's lifespans
        may overlap: several test clients on one app)."""
        with self._lock:
            self._users += 1
        try:
            yield self
        finally:
            with self._lock:
                self._users -= 1
                last = self._users == 0
            if last:
                self.close()

    def close(self) -> None:
        """Release what was built (engine, HSM session, HTTP pools); a later use builds anew."""
        with self._lock:
            built, self._built = self._built, {}
            if not self._own_engine and "engine" in built:
                self._built["engine"] = built.pop("engine")  # the caller's: not ours to dispose
        for name in ("registry", "sms", "dsc_pkcs11"):
            close = getattr(built.get(name), "close", None)
            if callable(close):
                close()
        engine = built.get("engine")
        if engine is not None:
            engine.dispose()


def build(
    settings: Settings | None = None, *, clock: Clock | None = None, key_dir: Path | None = None
) -> Container:
    """The container for `settings` (default: the environment's); nothing is built yet.

    Production refuses development defaults here (`InsecureSettings`, naming the settings to
    change); development warns about them once per process."""
    settings = settings or get_settings()
    check_deployment(settings)
    return Container(settings, clock=clock, key_dir=key_dir)


#: Development defaults already warned about in this process (one warning at start, not per app).
_WARNED: set[str] = set()


def check_deployment(settings: Settings) -> None:
    """Refuse (production) or warn once, loudly (development), about development defaults."""
    from vaxlink.settings import check_deployment as problems_of

    problems = [p for p in problems_of(settings) if p not in _WARNED]
    if problems:
        _WARNED.update(problems)
        log.warning(
            "\n%s\nDEVELOPMENT DEFAULTS IN USE (VAXLINK_ENV=development); never serve citizens "
            "like this, VAXLINK_ENV=production refuses to start:\n  - %s\n%s",
            "!" * 78, "\n  - ".join(problems), "!" * 78,
        )  # fmt: skip


@contextmanager
def running(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    key_dir: Path | None = None,
    as_of: datetime | None = None,
) -> Iterator[Container]:
    """A container for one CLI command or job, closed when it ends. `key_dir`: a `--key-dir`
    the command was given; `as_of`: the instant of an `--as-of` run (a clock standing there)."""
    if as_of is not None:
        clock = FixedClock(as_of)
    container = build(settings, clock=clock, key_dir=key_dir)
    with container.in_use():
        yield container


def private_process() -> None:
    """Process start (the CLI and the web server): files this process creates are private
    (umask 077), whatever library creates them (docs/security.md, "Files")."""
    from vaxlink.files import restrict_umask

    restrict_umask()
