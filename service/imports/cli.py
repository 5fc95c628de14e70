"""``greencoin import-residents`` and ``greencoin import-opening-balances``."""

from __future__ import annotations

import csv
import sys
from collections import Counter

import click
from tqdm import tqdm

from .. import create_app
from ..extensions import db
from .operations import BATCH_ROWS, import_opening_balances, import_residents, iter_csv

COMMIT_EVERY = 500  # rows per database transaction for row-by-row imports (import-service-records)
# Columns of the per-row report (``--report``); a result leaves out what does not apply to it.
REPORT_COLUMNS = ("row", "status", "code", "column", "message", "member_id", "volunteer_number", "postings")
SHOWN_ERRORS = 100  # printed to the terminal; the report file has every row


def _count_rows(path: str) -> int:
    """Lines after the header: the progress bar's total (a cell with a line break only makes it high)."""
    with open(path, "rb") as handle:
        return max(sum(1 for _ in handle) - 1, 0)


def run_import(app, path: str, importer, *, report: str | None = None, progress: bool = True) -> Counter:
    """Stream the CSV at ``path`` through ``importer`` in the app's database, committing after every
    batch (progress is kept and the write lock released); one result line per row in ``report``."""
    counts: Counter = Counter()
    errors = []
    out = open(report, "w", encoding="utf-8-sig", newline="") if report else None  # noqa: SIM115 (closed below)
    try:
        writer = csv.DictWriter(out, fieldnames=REPORT_COLUMNS, extrasaction="ignore") if out else None
        if writer:
            writer.writeheader()
        with app.app_context(), open(path, encoding="utf-8-sig", newline="") as handle:
            session = db.session
            bar = tqdm(total=_count_rows(path), desc="rows", unit="rows", disable=not progress)
            for n, result in enumerate(importer(session, iter_csv(handle)), start=1):
                if n % BATCH_ROWS == 0:  # the importer yields a batch's results once they are written
                    session.commit()
                counts[result["status"]] += 1
                if result["status"] == "error" and len(errors) < SHOWN_ERRORS:
                    errors.append(result)
                if writer:
                    writer.writerow(result)
                bar.update()
            session.commit()
            bar.close()
    finally:
        if out:
            out.close()
    if progress:
        click.echo(", ".join(f"{status}: {n}" for status, n in sorted(counts.items())) or "no rows")
        for result in errors:
            click.echo(_row_line(result), err=True)
        if counts.get("error", 0) > len(errors):
            click.echo(f"  … {counts['error'] - len(errors)} more errors (see --report)", err=True)
    return counts


def report_results(results: list[dict], report: str | None, *, every_row: bool = False) -> None:
    """Print the counts and the rows with an error (``every_row``: every row), write the CSV report,
    and exit 1 when a row failed (row-by-row imports that hold their results)."""
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


def _run_import(path: str, importer, report: str | None) -> None:
    counts = run_import(create_app(), path, importer, report=report)
    if counts.get("error"):
        sys.exit(1)


@click.command("import-residents")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--report", type=click.Path(dir_okay=False), help="write a CSV with one result per row")
def import_residents_command(path: str, report: str | None) -> None:
    """Import residents from a CSV (community_code, name, phone, national_id, household, birth_date)."""
    _run_import(path, import_residents, report)


@click.command("import-opening-balances")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--report", type=click.Path(dir_okay=False), help="write a CSV with one result per row")
def import_opening_balances_command(path: str, report: str | None) -> None:
    """Import opening balances (community_code, volunteer_number, coins, hours_minutes,
    lifetime_hours_minutes, note); safe to run again."""
    _run_import(path, import_opening_balances, report)


commands = [import_residents_command, import_opening_balances_command]
