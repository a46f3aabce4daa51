"""Timesheets to Xero Payroll AU: the mapping wizard, pay periods, preview and send.

- ``models``: the mappings (member -> employee, work type -> earnings rate, project or task
  -> tracking option) and the record of every timesheet sent (``timesheet_exports``).
- ``periods``: a payroll calendar's pay periods (the one holding a date).
- ``mappings``: reading the wizard's state with suggestions, and setting mappings.
- ``timesheets``: building each employee's timesheet for a period, naming every problem
  before anything is sent, and sending (create or update, draft or approved).
"""
