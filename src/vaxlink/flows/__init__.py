"""Cross-domain use cases, each a sequence of calls to the domains' front doors (in the manner
of Netflix Dispatch's flows.py): nothing here owns a table.

- `citizen_report`: a station resolves a citizen report (correct the record, re-issue the
  certificate when every dose is signed by its own site, else await it; notify the citizen).
- `reissue_after_change`: bring one person's certificate in line with their records when it can
  be, and settle the reports waiting for it (after a site signs, on schedule).
"""
