"""The service's ``greencoin`` commands (database, users, demo data, serving); ``workers.cli``
adds the background work and ``up``, and is the installed ``greencoin`` command."""

from __future__ import annotations

import dataclasses
import sys

import click
from flask import Flask
from tqdm import tqdm

from . import create_app, demo_city, domains
from .apireference import current_markdown
from .auth.operations import create_staff
from .demo import has_data, load_demo
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
@click.option("--size", type=click.Choice(["small", *demo_city.SIZES]), default="small", show_default=True,
              help="small: three communities with every domain's records; town (1 M entries) and city "
                   "(~2.2 M residents, ~20 M entries): a year of ledger history, loaded in bulk")
@click.option("--residents", type=int, default=None, help="residents per community (small: 300)")
@click.option("--communities", type=int, default=None, help="town and city: how many communities")
@click.option("--entries", type=int, default=None, help="town and city: ledger entries in the year")
def demo_command(seed: int, size: str, residents: int | None, communities: int | None, entries: int | None) -> None:
    """Load deterministic demo data (refuses if the database already has communities)."""
    app = _app()
    if size == "small":
        if communities is not None or entries is not None:
            raise click.UsageError("--communities and --entries set the size of a town or a city (--size town|city)")
        with app.app_context():
            logins = load_demo(seed=seed, residents_per_community=300 if residents is None else residents,
                               progress=True)
        print_logins(logins)
        return
    overrides = {"residents": residents, "communities": communities, "entries": entries}
    if any(value is not None and value < 1 for value in overrides.values()):
        raise click.UsageError("--residents, --communities and --entries must be at least 1")
    chosen = dataclasses.replace(demo_city.SIZES[size], **{k: v for k, v in overrides.items() if v is not None})
    with app.app_context():
        if has_data(db.session):
            raise click.ClickException("the database already has data; demo data goes into an empty database")
        bars: dict[str, tqdm] = {}

        def progress(stage: str, done: int, total: int) -> None:
            bar = bars.get(stage) or bars.setdefault(stage, tqdm(total=total, desc=stage, unit=""))
            bar.update(done - bar.n)

        demo_city.load_city(db.session, chosen, seed=seed, progress=progress)
        for bar in bars.values():
            bar.close()
        logins = demo_city.city_logins(db.session)
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
