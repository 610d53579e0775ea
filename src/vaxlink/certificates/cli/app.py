"""`vaxlink certificates …`: approve, issue, renew, revoke and verify certificates. Thin commands.

The commands live in `offline` (verify, conformance) and `store` (over the store); this module
only names them.
"""

from __future__ import annotations

import typer

from vaxlink.certificates.cli import approvals, offline, store

app = typer.Typer(
    name="certificates",
    help="EU Digital COVID Certificates: approve records, issue, renew, revoke and verify them.",
    no_args_is_help=True,
)
recovery_app = typer.Typer(help="Recoveries from COVID-19 entered by commune health stations.")
client_app = typer.Typer(help="Citizen applications allowed to fetch certificates.")

app.command("verify")(offline.verify_command)
app.command("conformance")(offline.conformance_command)
app.command("approve")(store.approve_command)
app.command("district-approve")(store.district_approve_command)
app.command("check-approvals")(approvals.check_approvals_command)
app.command("issue")(store.issue_command)
app.command("renew")(store.renew_command)
app.command("reissue-changed")(store.reissue_changed_command)
app.command("revoke")(store.revoke_command)
app.command("dsc-report")(store.dsc_report_command)
recovery_app.command("add")(store.recovery_add)
client_app.command("add")(store.client_add)
client_app.command("revoke")(store.client_revoke)
client_app.command("rotate")(store.client_rotate)
client_app.command("list")(store.client_list)
app.command("push")(store.push_command)
app.add_typer(recovery_app, name="recovery")
app.add_typer(client_app, name="api-client")
