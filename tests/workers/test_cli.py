"""``greencoin run-job --date`` takes only a business date that is over."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from service.jobs.models import JobRun
from workers.cli import run_job_command


@pytest.mark.parametrize("offset", [0, 1, 400])
def test_a_business_date_not_over_yet_is_refused_and_nothing_runs(jobs_app, query, yesterday, offset):
    day = yesterday + dt.timedelta(days=1 + offset)
    for job in ("notice_period", "coin_expiry", "disclosure"):
        result = CliRunner().invoke(run_job_command, [job, "--date", day.isoformat()])
        assert result.exit_code == 2, result.output
        assert "not over yet" in result.output
    assert query(lambda s: s.scalar(select(func.count()).select_from(JobRun))) == 0


def test_a_malformed_date_is_refused_with_a_usage_error(jobs_app):
    result = CliRunner().invoke(run_job_command, ["coin_expiry", "--date", "2026-13-01"])
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output


def test_yesterday_runs(jobs_app, yesterday):
    result = CliRunner().invoke(run_job_command, ["coin_expiry", "--date", yesterday.isoformat()])
    assert result.exit_code == 0, result.output
    assert '"done": true' in result.output
