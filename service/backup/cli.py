"""``greencoin backup export FILE``, ``greencoin backup verify FILE`` and ``greencoin backup restore FILE``."""

from __future__ import annotations

import sys

import click
from tqdm import tqdm

from .. import create_app
from ..errors import DomainError
from ..extensions import db
from .operations import export_backup, verify_backup
from .restore import BackupRefused, restore_backup


@click.group("backup", help="Export a portable backup, verify one without a database, or restore one.")
def backup_group() -> None:
    pass


@backup_group.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def export_command(path: str) -> None:
    """Write every table as JSON lines, headed by row counts and the sealed chain head."""
    app = create_app()
    with app.app_context(), open(path, "w", encoding="utf-8") as out:
        bar = tqdm(desc="tables", unit="table")
        header = export_backup(db.session, out, progress=lambda table, rows: bar.update(1))
        bar.close()
    total = sum(header["counts"].values())
    click.echo(f"{total} rows written to {path}; chain head #{header['chain_head']['seq']} {header['chain_head']['chain_hash']}")


@backup_group.command("verify")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def verify_command(path: str) -> None:
    """Recompute hashes, chain, sums and balances from the file alone; exit 1 on any discrepancy."""
    with open(path, encoding="utf-8") as lines:
        header, found = verify_backup(lines)
    for item in found[:50]:
        click.echo(f"  {item.check} {item.subject}: expected {item.expected}, found {item.actual}", err=True)
    if found:
        click.echo(f"backup NOT valid: {len(found)} discrepancies", err=True)
        sys.exit(1)
    click.echo(f"backup valid: {sum(header['counts'].values())} rows, chain head #{header['chain_head']['seq']}")


@backup_group.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def restore_command(path: str) -> None:
    """Restore a verified backup into an empty, migrated database (refused if the file does not
    verify or the database holds any row)."""
    app = create_app()
    engine = app.extensions["greencoin_db"][0]
    bar = tqdm(desc="rows", unit="row")
    try:
        header = restore_backup(engine, path, progress=lambda table, rows: bar.update(rows))
    except BackupRefused as refused:
        bar.close()
        for item in refused.found[:50]:
            click.echo(f"  {item.check} {item.subject}: expected {item.expected}, found {item.actual}", err=True)
        click.echo(f"restore refused: the backup does not verify ({len(refused.found)} discrepancies); nothing written",
                   err=True)
        sys.exit(1)
    except DomainError as exc:
        bar.close()
        click.echo(f"restore refused: {exc.message}; nothing written", err=True)
        sys.exit(1)
    bar.close()
    head = header["chain_head"]
    click.echo(f"restored {sum(header['counts'].values())} rows; chain head #{head['seq']} {head['chain_hash']}")


commands = [backup_group]
