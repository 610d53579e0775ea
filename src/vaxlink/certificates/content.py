"""Old import path of `issuance.content`, kept for `feedback/loop.py` until it moves to
`vaxlink.flows` and calls `vaxlink.certificates.service`; delete this with it."""

from vaxlink.certificates.issuance.content import contents as contents
