"""``greencoin backup export FILE`` and ``greencoin backup verify FILE``."""

from __future__ import annotations

import sys

import click
from tqdm import tqdm


@click.group("backup", help="Export a portable backup, or verify one without a database.")
def backup_group() -> None:
    pass


@backup_group.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def export_command(path: str) -> None:
    """Write every table as JSON lines, headed by row counts and the sealed chain head."""
    from .. import create_app
    from ..extensions import db
    from .operations import export_backup

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
    from .operations import verify_backup

    with open(path, encoding="utf-8") as lines:
        header, found = verify_backup(lines)
    for item in found[:50]:
        click.echo(f"  {item.check} {item.subject}: expected {item.expected}, found {item.actual}", err=True)
    if found:
        click.echo(f"backup NOT valid: {len(found)} discrepancies", err=True)
        sys.exit(1)
    click.echo(f"backup valid: {sum(header['counts'].values())} rows, chain head #{header['chain_head']['seq']}")


commands = [backup_group]
