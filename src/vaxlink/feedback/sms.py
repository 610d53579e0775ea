"""The SMS port: a real HTTP gateway adapter, and a console adapter for development and tests.

Messages never reach the application log; the console adapter prints the masked phone and the
text to stderr (a developer's terminal), and keeps the last messages in memory for tests.
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from dataclasses import dataclass
from typing import ClassVar, Final, Protocol

import httpx

from vaxlink.feedback.errors import SmsFailed
from vaxlink.settings import InsecureSettings, Settings

TIMEOUT: Final = httpx.Timeout(5.0, connect=3.0)
#: Printed above every console message: the code below was not sent to anyone's phone.
BANNER: Final = (
    "!!! DEVELOPMENT SMS (console adapter; set VAXLINK_SMS_GATEWAY_URL): NOT sent to a phone; "
    "the one-time code below is visible to anyone reading this terminal or its log !!!"
)


def bilingual(key: str, values: dict[str, dict[str, object]]) -> str:
    """The SMS of catalogue `key` in both languages (`values[lang]` fills each), Vietnamese
    first, in ASCII (one segment), e.g. "VAXLINK: Ma xac thuc 123456, ... Your code: 123456"."""
    from vaxlink.catalogue import ascii_text, text_in
    from vaxlink.feedback.sms_strings import STRINGS

    vi = text_in(STRINGS, "vi", key, **values["vi"])
    en = text_in(STRINGS, "en", key, **values["en"])
    return ascii_text(f"{vi} {en}")


def mask_phone(phone: str) -> str:
    """The phone with all but the last two digits hidden: 09******78."""
    digits = "".join(c for c in phone if c.isdigit())
    if len(digits) < 4:
        return "*" * len(digits)
    return digits[:2] + "*" * (len(digits) - 4) + digits[-2:]


class SmsPort(Protocol):
    """Sends one text message to one phone number."""

    def send(self, phone: str, text: str) -> None:
        """Deliver or raise `SmsFailed`."""


@dataclass(frozen=True)
class SentSms:
    """A message the console adapter delivered."""

    phone: str
    text: str


class ConsoleSms:
    """Development adapter: writes the message to stderr and remembers the last ones."""

    #: Shared by every instance in the process, so a test can read what a server thread sent.
    sent: ClassVar[deque[SentSms]] = deque(maxlen=200)
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, echo: bool = True) -> None:
        self.echo = echo

    def send(self, phone: str, text: str) -> None:
        """Print to stderr and keep in memory."""
        with self._lock:
            self.sent.append(SentSms(phone, text))
        if self.echo:
            print(f"{BANNER}\n[sms to {mask_phone(phone)}] {text}", file=sys.stderr, flush=True)

    @classmethod
    def last_to(cls, phone: str) -> SentSms | None:
        """The newest message sent to `phone`."""
        with cls._lock:
            for sms in reversed(cls.sent):
                if sms.phone == phone:
                    return sms
        return None


class HttpSms:
    """A JSON-over-HTTP gateway: POST {"to", "text"} with a bearer token; 2xx means accepted."""

    def __init__(
        self, url: str, token: str | None, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._url = url
        self._client = httpx.Client(timeout=TIMEOUT, headers=headers, transport=transport)

    def send(self, phone: str, text: str) -> None:
        """POST the message; any transport error or non-2xx answer becomes `SmsFailed`."""
        try:
            response = self._client.post(self._url, json={"to": phone, "text": text})
        except httpx.HTTPError as exc:
            raise SmsFailed(f"the SMS gateway could not be reached ({type(exc).__name__})") from exc
        if not response.is_success:
            raise SmsFailed(f"the SMS gateway refused the message (HTTP {response.status_code})")

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()


def sms_from_settings(settings: Settings) -> SmsPort:
    """The HTTP gateway when configured, else the console (refused in production)."""
    if settings.sms_gateway_url:
        token = settings.sms_gateway_token
        return HttpSms(settings.sms_gateway_url, token.get_secret_value() if token else None)
    if settings.env == "production":
        raise InsecureSettings(
            "VAXLINK_ENV=production: set VAXLINK_SMS_GATEWAY_URL; the console SMS adapter prints "
            "one-time codes to stderr"
        )
    return ConsoleSms()
