"""Cross-domain use cases, each a sequence of calls to the domains' front doors (in the manner
of Netflix Dispatch's flows.py): nothing here owns a table.

- `citizen_report`: a station resolves a citizen report (correct the record, re-approve,
  re-issue, notify the citizen).
- `reissue_after_change`: bring one dose's approval and one person's certificate in line with
  their records after a change.
"""
