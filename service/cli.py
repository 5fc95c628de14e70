"""The service's ``greencoin`` commands (database, users, demo data, serving); ``workers.cli``
adds the background work and ``up``, and is the installed ``greencoin`` command."""

from __future__ import annotations

import sys

import click
from flask import Flask

from . import create_app, domains
from .apireference import current_markdown
from .auth.operations import create_staff
from .demo import load_demo
from .errors import DomainError
from .extensions import db
from .migrate import upgrade


def _app() -> Flask:
    return create_app()


@click.group(help="Greencoin (绿币) operations: database, users, demo data, jobs, serving.")
def main() -> None:
    pass


@main.command("migrate")
@click.option("--revision", default="head", show_default=True)
def migrate_command(revision: str) -> None:
    """Create or upgrade the database schema (Alembic)."""
    app = _app()
    upgrade(app.config["DATABASE_URL"], revision)
    click.echo(f"database at {revision}: {_safe_url(app.config['DATABASE_URL'])}")


@main.command("create-admin")
@click.option("--username", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", default="管理员")
@click.option("--community-id", type=int, default=None, help="omit for a city-wide administrator")
def create_admin_command(username: str, password: str, name: str, community_id: int | None) -> None:
    """Create the first (or another) administrator."""
    app = _app()
    with app.app_context():
        try:
            staff = db.run(
                lambda s: create_staff(
                    s, username=username, password=password, name=name, role="admin", community_id=community_id
                )
            )
        except DomainError as exc:
            raise click.ClickException(exc.message) from None
        click.echo(f"administrator {staff.username} created (id {staff.id})")


@main.command("demo")
@click.option("--seed", default=20261121, show_default=True)
@click.option("--residents", default=300, show_default=True, help="residents per community")
def demo_command(seed: int, residents: int) -> None:
    """Load deterministic demo data (refuses if the database already has communities)."""
    app = _app()
    with app.app_context():
        logins = load_demo(seed=seed, residents_per_community=residents, progress=True)
    print_logins(logins)


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
def serve_command(host: str, port: int) -> None:
    """Serve with the development server (production: gunicorn, see Procfile)."""
    _app().run(host=host, port=port, threaded=True)


@main.command("api-reference")
@click.option("--output", type=click.Path(dir_okay=False), default=None, help="write here (default: print)")
def api_reference_command(output: str | None) -> None:
    """The API reference (docs/api.md) as Markdown from the OpenAPI document."""
    text = current_markdown(_app())
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
        click.echo(f"wrote {output}")
    else:
        click.echo(text, nl=False)


def print_logins(logins: list[tuple[str, str, str]]) -> None:
    click.echo("Demo logins (username / password / role):")
    for username, password, role in logins:
        click.echo(f"  {username:<20} {password:<16} {role}")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _register_domain_commands() -> None:
    for module in domains.domain_modules("cli"):
        for command in module.commands:
            main.add_command(command)


_register_domain_commands()

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
