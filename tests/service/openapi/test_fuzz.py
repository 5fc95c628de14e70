"""A client we did not write: schemathesis fuzzes every operation of the OpenAPI document against
the demo city, with a token of each role, all checks on (ignored_auth, the same requests whatever the role, in
the administrator's run only) and the stateful phase (OpenAPI links) on, on SQLite and on
PostgreSQL. Any 5xx or any failed check fails the test; the only exceptions are the allow-list in
``schemathesis.toml``, each entry with its reason.

The seed is fixed and examples are bounded (``fuzzing.ROLES``: 3 examples per operation for the
resident, cashier, station staff and supervisor, fuzzing and stateful phases; 5 for the
administrator, with the examples and coverage phases too; stateful scenarios of at most 6 steps,
``schemathesis.toml``), so every run generates the same inputs and takes a few minutes. The
figures are printed (``-s``) and written to ``fuzz-<database>.json`` in pytest's temporary folder.

Figures of 2026-12-03 (schemathesis 4.32.5; ``pytest -n 2``: both databases side by side on the
two cores, nearly alone on the machine, load 2 to 3; CPU is the server process plus schemathesis,
PostgreSQL's own processes not counted):

    database    operations  requests  wall    CPU (server + schemathesis)
    SQLite      156         10,110    245 s   162 s (57 + 106)
    PostgreSQL  156         10,107    258 s   166 s (60 + 105)

The whole file took 4 min 35 s wall and 345 s CPU (user + system of pytest and its children). On
the machine shared with other jobs it took 5 min 56 s at load 5 to 7 and 8 min 31 s at load 7 to 10.

The administrator run is ~80 % of the requests (the coverage phase). Run it alone with
``.venv/bin/pytest tests/service/openapi/test_fuzz.py -s`` (or ``python -m tests.service.openapi.fuzzing URL``).
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
