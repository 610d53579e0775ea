"""What the portal's pages share: settings, SMS port, cookies, after-commit work."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Final

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy import event
from sqlalchemy.orm import Session

from vaxlink.errors import VaxlinkError
from vaxlink.feedback.auditbatch import ViewAudit
from vaxlink.feedback.sms import SmsPort
from vaxlink.feedback.tickets import Notice
from vaxlink.settings import Settings
from vaxlink.web.deps import container, session
from vaxlink.web.security import cookie_header, is_https

log = logging.getLogger(__name__)

CITIZEN_COOKIE: Final = "vaxlink_citizen"
CHALLENGE_COOKIE: Final = "vaxlink_challenge"
DB = Annotated[Session, Depends(session, scope="function")]


def settings_of(request: Request) -> Settings:
    """The settings the app was built with."""
    s: Settings = request.app.state.settings
    return s


def sms_port(request: Request) -> SmsPort:
    """The app's SMS adapter (HTTP gateway when configured, else the console): the composition
    root's."""
    return container(request).sms


@cache
def _after_pool() -> ThreadPoolExecutor:
    """Work done once the request's transaction has committed, off the request's thread: SMS
    (the gateway's latency must not show in the lookup's timing) and drawing a QR ahead of
    time. Made on first use (nothing starts at import); its threads end with the process."""
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="portal-after-commit")


def after_commit(db: Session, fn: Callable[..., None], *args: Any) -> None:
    """Run `fn(*args)` in the background once `db`'s transaction commits (never if it fails)."""

    def submit(_session: Session) -> None:
        in_background(fn, *args)

    event.listen(db, "after_commit", submit, once=True)


def in_background(fn: Callable[..., None], *args: Any) -> None:
    """Run `fn(*args)` on the after-commit threads now: for a caller whose transaction has
    committed already (`deps.unit_of_work`)."""
    _after_pool().submit(_logged, fn, *args)


def _logged(fn: Callable[..., None], *args: Any) -> None:
    try:
        fn(*args)
    except Exception:  # a background step must not die silently, nor log personal data
        log.exception("after-commit step %s failed", getattr(fn, "__name__", "?"))


def send_all(port: SmsPort, notices: list[Notice]) -> None:
    """Deliver after the response; a failed SMS must not undo what was saved."""
    for notice in notices:
        try:
            port.send(notice.phone, notice.text)
        except VaxlinkError:
            continue


def view_writer(request: Request) -> ViewAudit:
    """The process's group-committing audit writer for citizen views, on the app's engine."""
    state = request.app.state
    writer: ViewAudit | None = getattr(state, "feedback_view_audit", None)
    if writer is None or writer.engine is not state.engine:
        writer = ViewAudit(state.engine, container(request).clock)
        state.feedback_view_audit = writer
    return writer


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.headers.append(
        "set-cookie", cookie_header(name, value, secure=is_https(request.scope), max_age=max_age)
    )


def minutes_until(until: datetime | None, now: datetime) -> int:
    """Whole minutes (at least one) from `now` until `until`."""
    if until is None:
        return 1
    return max(1, int((until - now).total_seconds() // 60) + 1)
