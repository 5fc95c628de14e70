"""NOT YET PART OF ./dev test (named so pytest does not collect it): on 2026-12-03 the resident,
cashier, station-staff and supervisor runs pass with the allow-list, but the administrator run still
finds 10 failures (booleans that accept non-booleans in write bodies, a 422 from a staff endpoint,
daily-totals.csv answering 422 to schema-valid dates, batch 400). Fix those, rename this file to
test_fuzz.py, and it runs on every CI run. Run it now with
``.venv/bin/pytest tests/service/openapi/fuzz_check.py -s``.

A client we did not write: schemathesis fuzzes every operation of the OpenAPI document against
the demo city, with a token of each role, all checks on and the stateful phase (OpenAPI links) on,
on SQLite and on PostgreSQL. Any 5xx or any failed check fails the test; the only exceptions are
the allow-list in ``schemathesis.toml``, each entry with its reason.

The seed is fixed and examples are bounded (``fuzzing.ROLES``) so a run takes a few minutes; the
figures are printed (``-s``) and written to ``fuzz-<database>.json`` in pytest's temporary folder.
"""

from __future__ import annotations

import json

import pytest

from tests.service.openapi.fuzzing import ROLES, fuzz

pytestmark = pytest.mark.timeout(1800)


def test_schemathesis_finds_nothing_on_any_operation_for_any_role(database_url, tmp_path):
    outcome = fuzz(database_url, tmp_path)
    summary = outcome.summary()
    (tmp_path / f"fuzz-{outcome.database}.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary))

    assert [run.role for run in outcome.runs] == [role for role, *_ in ROLES]
    assert outcome.operations >= 100
    assert outcome.requests > 1000  # it really ran
    assert summary["server_errors"] == 0, summary["statuses"]
    problems = {
        run.role: {"exit": run.exit_code, "failures": run.failures, "errors": run.errors, "tail": run.output[-4000:]}
        for run in outcome.runs
        if run.exit_code != 0 or run.failures or run.errors
    }
    assert problems == {}, json.dumps(problems, indent=1, ensure_ascii=False)
    for run in outcome.runs:
        assert run.report["test_cases"]["generated"] > 0, run.role
