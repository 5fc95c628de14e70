"""Every shell example of docs/integrate.md runs, in order, against the demo city (curl and jq)."""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.service.openapi.fuzzing import demo_app

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "integrate.md"


def shell_examples() -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", GUIDE.read_text(encoding="utf-8"), flags=re.S | re.M)


def test_the_guide_has_examples_for_each_topic():
    text = GUIDE.read_text(encoding="utf-8")
    for heading in ("Authentication", "idempotency and retries", "Errors", "Pagination"):
        assert heading.lower() in text.lower()
    assert len(shell_examples()) >= 6


def test_the_guide_examples_run_against_the_demo(tmp_path, sqlite_template):
    for tool in ("curl", "jq"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is needed to run the guide's examples (see .ci/run)")
    path = tmp_path / "guide.db"
    shutil.copy(sqlite_template, path)
    app = demo_app(f"sqlite:///{path}")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    script = "set -euo pipefail\n" + "\n".join(shell_examples())
    try:
        done = subprocess.run(
            ["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300,
            env={"PATH": "/usr/bin:/bin", "BASE": f"http://127.0.0.1:{server.server_port}"},
        )
    finally:
        server.shutdown()
        app.extensions["greencoin_db"][0].dispose()
    assert done.returncode == 0, f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
    assert done.stdout.count("true") >= 8  # every jq -e check printed its verdict
