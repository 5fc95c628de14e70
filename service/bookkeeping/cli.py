"""``greencoin verify-statement``: check a downloaded statement offline (no database, no server)."""

from __future__ import annotations

import json
import sys

import click

from ledger.merkle import verify_statement


@click.command("verify-statement")
@click.argument("statement_file", type=click.File("rb"))
@click.option("--head", required=True, help="the published block hash (GET /api/v1/ledger/merkle-head, the disclosure sheet)")
def verify_statement_command(statement_file, head):
    """Check that every line of a statement JSON is in the sealed books that lead to HEAD."""
    try:
        document = json.loads(statement_file.read().decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        click.echo("not a statement file (expected the JSON download)", err=True)
        sys.exit(2)
    problems = verify_statement(document, head.strip())
    lines = document.get("lines", [])
    proven = sum(1 for line in lines if line.get("proof"))
    for problem in problems:
        click.echo(f"FAIL {problem}")
    if problems:
        sys.exit(1)
    click.echo(f"OK {proven} of {len(lines)} lines proven in the books leading to {head.strip()[:16]}…"
               + (f"; {len(lines) - proven} newer lines are not in a block yet" if proven < len(lines) else ""))


commands = [verify_statement_command]
