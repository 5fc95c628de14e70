"""``greencoin import-service-records``: a scheme's historical volunteer hours."""

from __future__ import annotations

import click
from sqlalchemy import select

from .. import create_app
from ..auth.models import Staff
from ..auth.operations import principal_for_staff
from ..community.operations import get_station
from ..errors import DomainError
from ..extensions import db
from ..imports.cli import COMMIT_EVERY, report_results
from .history_import import import_service_records
from .sheet_files import read_sheet


@click.command("import-service-records")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--station", "station_id", type=int, required=True, help="the station the hours were served at (id)")
@click.option("--recorded-by", "recorder", required=True,
              help="username of the staff member who records the import (not an approver of its rows)")
@click.option("--report", type=click.Path(dir_okay=False), help="write a CSV with one result per row")
def import_service_records_command(path: str, station_id: int, recorder: str, report: str | None) -> None:
    """Import historical volunteer hours from a CSV or XLSX sign-in sheet with two more columns:
    status (approved / pending / rejected) and approver (a staff username). Safe to run again."""
    with open(path, "rb") as handle:
        raw = handle.read()
    app = create_app()
    results = []
    with app.app_context():
        session = db.session
        try:
            rows = read_sheet(path, raw)
            staff = session.scalars(select(Staff).where(Staff.username == recorder, Staff.active.is_(True))).first()
            if staff is None:
                raise click.ClickException(f"no active staff member {recorder!r}")
            principal = principal_for_staff(staff)
            station = get_station(session, station_id)
            principal.require_station(station.id, station.community_id)
            imported = import_service_records(session, principal, station.id, rows)
        except DomainError as exc:
            raise click.ClickException(f"{exc.code}: {exc.message}") from None
        for n, result in enumerate(imported, start=1):
            results.append(result)
            if n % COMMIT_EVERY == 0:
                session.commit()
        session.commit()
    report_results(results, report, every_row=True)


commands = [import_service_records_command]
