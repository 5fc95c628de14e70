"""The installed ``greencoin`` command: the service's commands (``service.cli``) plus the background
work (run any job now, reconcile, run the worker) and ``up``, the one-command demo that runs the
jobs in this process. Workers use the service, never the other way round."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sys

import click
from tqdm import tqdm

from service import cli as service_cli
from service import create_app
from service.demo import demo_logins, has_data, load_demo
from service.extensions import db
from service.localtime import today as local_today
from service.migrate import upgrade

from . import inprocess, jobs, runtime
from .schedule import DEFAULT_QUEUE, NIGHTLY_QUEUE, SCHEDULE, nightly

JOB_NAMES = [item.name for item in SCHEDULE] + ["nightly"]


def _echo(result) -> None:
    click.echo(json.dumps(result, ensure_ascii=False, default=str, indent=2))


def _business_date(_ctx, _param, value: str | None) -> str | None:
    """A business date that is over: a run for today or later would credit awards before their
    notice period ends, expire coins still being earned, or freeze an incomplete month's disclosure."""
    if value is None:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("give a date as YYYY-MM-DD") from None
    if day >= local_today(runtime.current().config["TIMEZONE"]):
        raise click.BadParameter(f"{day} is not over yet; the latest business date is yesterday")
    return day.isoformat()


@click.command("run-job")
@click.argument("name", type=click.Choice(JOB_NAMES))
@click.option(
    "--date", "business_date", default=None, callback=_business_date,
    help="a business date YYYY-MM-DD up to yesterday (default: every date not done, up to yesterday)",
)
def run_job_command(name: str, business_date: str | None) -> None:
    """Run a scheduled job now (``nightly`` = every nightly job in order), with a progress bar."""
    if name == "seal_chain":
        _echo({"sealed": jobs.seal_chain()})
        return
    if name == "nightly":
        jobs.seal_chain()  # as the schedule's sealer would have, so reconciliation sees a sealed chain
    chosen = nightly() if name == "nightly" else [item for item in SCHEDULE if item.name == name]
    selected = {item.name: item.func for item in chosen}
    results = {}
    with tqdm(total=len(selected), desc="jobs", unit="job") as bar:
        for job_name, func in selected.items():
            bar.set_postfix_str(job_name)
            if job_name == "star_tiers":
                with tqdm(desc="volunteers", unit="volunteer", leave=False) as inner:
                    results[job_name] = func(business_date, progress=inner.update)
            else:
                results[job_name] = func(business_date=business_date)
            bar.update(1)
    _echo(results)


@click.command("reconcile")
@click.option("--full/--incremental", default=True, show_default=True, help="check everything, or only what is new")
def reconcile_command(full: bool) -> None:
    """Reconcile the book now; exits 1 when discrepancies are found."""
    from service.jobs.reconciliation import FULL, INCREMENTAL

    with tqdm(total=1, desc="reconciling", unit="run") as bar:
        result = jobs.reconcile(FULL if full else INCREMENTAL, manual=True)
        bar.update(1)
    _echo(result)
    if result and result["status"] != "passed":
        sys.exit(1)


@click.command("worker")
@click.option("--burst", is_flag=True, help="with Redis: stop when the queues are empty")
def worker_command(burst: bool) -> None:
    """Run the background jobs: an RQ worker when REDIS_URL is set, else the in-process schedule."""
    app = runtime.current()
    url = app.config.get("REDIS_URL")
    if url:
        args = ["rq", "worker", "--with-scheduler", "--url", url, DEFAULT_QUEUE, NIGHTLY_QUEUE]
        if burst:
            args.append("--burst")
        click.echo(f"starting {' '.join(args[:3])} on queues {DEFAULT_QUEUE}, {NIGHTLY_QUEUE}")
        os.execvp(args[0], args)
    click.echo("no REDIS_URL: running the schedule in this process (Ctrl-C stops)")
    scheduler = inprocess.start(app)
    signal.signal(signal.SIGTERM, lambda *_: scheduler.stopped.set())
    try:
        while scheduler.is_alive():
            scheduler.join(1)
    except KeyboardInterrupt:
        scheduler.stop()



@click.command("up")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--seed", default=20261121, show_default=True)
def up_command(host: str, port: int, seed: int) -> None:
    """Migrate, load the demo data on first start, run the jobs in-process (without REDIS_URL), serve."""
    app = create_app()
    upgrade(app.config["DATABASE_URL"])
    with app.app_context():
        logins = demo_logins(db.session) if has_data(db.session) else load_demo(seed=seed, progress=True)
    service_cli.print_logins(logins)
    if not app.config.get("REDIS_URL"):
        inprocess.start(app)
    click.echo(f"Greencoin is running: http://{host}:{port}/  (API docs: http://{host}:{port}/api/v1/docs)")
    app.run(host=host, port=port, threaded=True, use_reloader=False)


commands = [run_job_command, reconcile_command, worker_command, up_command]
main = service_cli.main
for _command in commands:
    main.add_command(_command)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
