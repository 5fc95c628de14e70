"""The audit log (审计日志): an append-only record of every administrative change.

Who did what, when, to which thing, with the state before and after. Operations that change data or
access call :func:`service.audit.operations.record_audit` inside their own unit of work, so the change
and its audit event commit together or not at all.
"""
