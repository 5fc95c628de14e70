"""``greencoin import-residents`` and ``greencoin import-opening-balances``."""

from __future__ import annotations

import csv
import sys
from collections import Counter

import click
from tqdm import tqdm

COMMIT_EVERY = 500  # rows per database transaction: progress is kept, the write lock is released


def _run_import(path: str, importer, report: str | None) -> None:
    from .. import create_app
    from ..extensions import db
    from .operations import read_csv

    with open(path, encoding="utf-8-sig") as handle:
        rows = read_csv(handle.read())
    app = create_app()
    results = []
    with app.app_context():
        session = db.session
        for n, result in enumerate(tqdm(importer(session, rows), total=len(rows), desc="rows"), start=1):
            results.append(result)
            if n % COMMIT_EVERY == 0:
                session.commit()
        session.commit()
    report_results(results, report)


def report_results(results: list[dict], report: str | None, *, every_row: bool = False) -> None:
    """Print the counts and the rows with an error (``every_row``: every row), write the CSV report,
    and exit 1 when a row failed."""
    counts = Counter(r["status"] for r in results)
    click.echo(", ".join(f"{status}: {n}" for status, n in sorted(counts.items())) or "no rows")
    for result in results:
        if every_row or result["status"] == "error":
            click.echo(_row_line(result), err=result["status"] == "error")
    if report:
        columns = list(dict.fromkeys(key for r in results for key in r))
        with open(report, "w", encoding="utf-8-sig", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=columns)
            writer.writeheader()
            writer.writerows(results)
    if counts.get("error"):
        sys.exit(1)


def _row_line(result: dict) -> str:
    person = " ".join(str(result[k]) for k in ("volunteer_number", "name") if result.get(k))
    head = f"  row {result['row']}" + (f" {person}" if person else "")
    if result["status"] == "error":
        column = f"column {result['column']}: " if result.get("column") else ""
        return f"{head}: error: {column}{result['code']}: {result['message']}"
    extra = ", ".join(f"{k} {result[k]}" for k in ("service_record_id", "record_status", "coins") if result.get(k) is not None)
    return f"{head}: {result['status']}" + (f" ({extra})" if extra else "")


@click.command("import-residents")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--report", type=click.Path(dir_okay=False), help="write a CSV with one result per row")
def import_residents_command(path: str, report: str | None) -> None:
    """Import residents from a CSV (community_code, name, phone, national_id, household, birth_date)."""
    from .operations import import_residents

    _run_import(path, import_residents, report)


@click.command("import-opening-balances")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--report", type=click.Path(dir_okay=False), help="write a CSV with one result per row")
def import_opening_balances_command(path: str, report: str | None) -> None:
    """Import opening balances (community_code, volunteer_number, coins, hours_minutes,
    lifetime_hours_minutes, note); safe to run again."""
    from .operations import import_opening_balances

    _run_import(path, import_opening_balances, report)


commands = [import_residents_command, import_opening_balances_command]
