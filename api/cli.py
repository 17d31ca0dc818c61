"""The ``linli`` command line."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from core.errors import DomainError

if TYPE_CHECKING:
    from dispatch.problem import DispatchProblem

app = typer.Typer(help="Linli 邻里: community home services and dispatch.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
demo_app = typer.Typer(help="The demo city.", no_args_is_help=True)
dispatch_app = typer.Typer(help="Dispatch: problems, plans and solves.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(dispatch_app, name="dispatch")


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Option("head", help="target revision")) -> None:
    """Migrate the database up (to head by default)."""
    from api import dbadmin

    dbadmin.upgrade(revision=revision)
    typer.echo(f"database at {dbadmin.current_revision()}")


@db_app.command("downgrade")
def db_downgrade(revision: str = typer.Option(..., help="target revision, or 'base'")) -> None:
    """Migrate the database down to a revision."""
    from api import dbadmin

    dbadmin.downgrade(revision=revision)
    typer.echo(f"database at {dbadmin.current_revision()}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's revision and the newest available."""
    from api import dbadmin

    typer.echo(f"current: {dbadmin.current_revision()}  head: {dbadmin.head_revision()}")


@demo_app.command("seed")
def demo_seed(
    seed: int = typer.Option(2026, help="random seed: the same seed gives the same city"),
    households: int = typer.Option(3000, min=1, help="number of households"),
    start_date: str | None = typer.Option(
        None,
        "--start-date",
        metavar="YYYY-MM-DD",
        help="first day of the demo week [default: Monday of this week, Asia/Shanghai]",
    ),
    if_empty: bool = typer.Option(
        False, "--if-empty", help="do nothing if the database already has households"
    ),
    progress: bool = typer.Option(
        True, "--progress/--no-progress", help="show a progress bar on stderr"
    ),
) -> None:
    """Build the deterministic demo city of Fuzhou: areas, households, providers, a week of
    orders."""
    import time
    from datetime import date

    from core.db import unit_of_work
    from marketplace.demo import seed as demo

    if start_date is None:
        first_day = demo.default_start_date()
    else:
        try:
            first_day = date.fromisoformat(start_date)
        except ValueError as exc:
            raise typer.BadParameter(
                f"{start_date!r} is not a date (YYYY-MM-DD)", param_hint="--start-date"
            ) from exc
    started = time.perf_counter()
    with unit_of_work() as session:
        if if_empty and not demo.is_empty(session):
            typer.echo("demo seed skipped: the database already has households")
            return
        summary = demo.seed_demo(
            session, seed=seed, households=households, start_date=first_day, progress=progress
        )
    typer.echo(f"{summary.line()} [{time.perf_counter() - started:.1f} s]")


@demo_app.command("history")
def demo_history(
    month: str | None = typer.Option(
        None, "--month", metavar="YYYY-MM", help="[default: the month before this week]"
    ),
    visits: int = typer.Option(5000, "--visits", min=1, help="completed visits to write"),
    seed: int = typer.Option(1, help="random seed: the same seed gives the same month"),
    if_empty: bool = typer.Option(
        False, "--if-empty", help="do nothing if the month already has visits"
    ),
) -> None:
    """A month of completed, verified visits on the demo city (orders, bookings, EVV records,
    ledger entries), for the audit to look at."""
    import time
    from datetime import timedelta

    from core.db import unit_of_work
    from core.errors import Conflict
    from marketplace.demo import history
    from marketplace.demo import seed as demo

    if month is None:
        last_of_previous = demo.default_start_date().replace(day=1) - timedelta(days=1)
        month = f"{last_of_previous.year:04d}-{last_of_previous.month:02d}"
    started = time.perf_counter()
    try:
        with unit_of_work() as session:
            summary = history.generate_month(session, month=month, visits=visits, seed=seed)
    except Conflict as exc:
        if if_empty:
            typer.echo(f"demo history skipped: {exc}")
            return
        raise
    typer.echo(f"{summary.line()} [{time.perf_counter() - started:.1f} s]")


@demo_app.command("accounts")
def demo_accounts(
    password: str = typer.Option(
        "linli-demo-2026", "--password", help="the password of every demo account (≥ 10 chars)"
    ),
    if_empty: bool = typer.Option(
        False, "--if-empty", help="do nothing if the demo accounts exist already"
    ),
) -> None:
    """One sign-in per role on the demo city (household, proxy, provider, its dispatcher, a
    worker, the platform dispatcher, two auditors, an administrator), all with one password:
    for trying the API, never on a real deployment."""
    from core.db import unit_of_work
    from marketplace.demo import accounts as demo_accounts_module

    if len(password) < 10:
        raise typer.BadParameter("at least 10 characters", param_hint="--password")
    with unit_of_work() as session:
        if if_empty and demo_accounts_module.has_accounts(session):
            typer.echo("demo accounts skipped: they exist already")
            return
        made = demo_accounts_module.seed_accounts(session, password)
    typer.echo(f"demo accounts (password {password!r}; sign in with POST /auth/token):")
    for account in made:
        typer.echo(f"  {account.username:<20} {account.role.value:<15} {account.stands_for}")


@demo_app.command("problem")
def demo_problem(
    orders: int = typer.Option(2000, help="orders in the day (a meal is a pickup and a delivery)"),
    workers: int = typer.Option(300, help="workers (at least one per trade: four)"),
    seed: int = typer.Option(2026, help="random seed: the same seed gives the same problem"),
    out: str | None = typer.Option(
        None, "--out", metavar="FILE", help="write the problem JSON here (default: stdout)"
    ),
    with_travel: bool = typer.Option(
        False, "--with-travel", help="include haversine travel matrices (large for big days)"
    ),
) -> None:
    """Write a realistic day over the demo city as a dispatch problem (JSON).

    No database: elderly care, cleaning, repair and meal delivery with every constraint type.
    """
    from dispatch import demo_problem

    problem = (
        demo_problem.realistic_day_with_travel(orders, workers, seed)
        if with_travel
        else demo_problem.realistic_day(orders, workers, seed)
    )
    _write_problem(problem, out)


@dispatch_app.command("build")
def dispatch_build(
    day: str = typer.Option(..., "--date", metavar="YYYY-MM-DD", help="the service date"),
    district: str | None = typer.Option(
        None, "--district", metavar="CODE", help="only this district (e.g. 350102)"
    ),
    out: str | None = typer.Option(
        None, "--out", metavar="FILE", help="write the problem JSON here (default: stdout)"
    ),
    with_travel: bool = typer.Option(
        False, "--with-travel", help="include haversine travel matrices (large for big days)"
    ),
) -> None:
    """Build the day's dispatch problem from the database and write it as JSON.

    Confirmed orders of the day and the workers available that day; a summary line goes to
    stderr.
    """
    from datetime import date

    from core.db import read_only
    from dispatch import builder

    try:
        service_date = date.fromisoformat(day)
    except ValueError as exc:
        raise ValueError(f"--date: {day!r} is not a date (YYYY-MM-DD)") from exc
    with read_only() as session:
        built = builder.build_problem(
            session, service_date, district_code=district, fill_travel=with_travel
        )
    _write_problem(built.problem, out)
    typer.echo(builder.describe(built), err=True)


@dispatch_app.command("solve")
def dispatch_solve(
    problem_file: str = typer.Argument(..., metavar="PROBLEM.json"),
    time_limit: float = typer.Option(10.0, "--time-limit", min=0.1, help="seconds"),
    out: str | None = typer.Option(None, "--out", metavar="PLAN.json", help="default: stdout"),
    seed: int = typer.Option(0, help="random seed (PyVRP warm start)"),
    pyvrp_share: float = typer.Option(
        0.5, "--pyvrp-share", min=0.0, max=0.95, help="share of the time for PyVRP's warm start"
    ),
) -> None:
    """Solve a problem file into a plan file; no database involved."""
    import json

    from dispatch import jsonio
    from dispatch.decompose import solve_by_parts
    from dispatch.solver import SolveParams
    from dispatch.travel import HaversineTravel, with_travel

    problem = jsonio.load_problem(problem_file)
    if problem.travel is None:
        problem = with_travel(problem, HaversineTravel())
    params = SolveParams(time_limit_s=time_limit, seed=seed, pyvrp_share=pyvrp_share)
    solution = solve_by_parts(problem, params)
    if out is None:
        typer.echo(json.dumps(jsonio.solution_to_dict(solution), ensure_ascii=False))
    else:
        jsonio.dump_solution(solution, out)
    typer.echo(
        f"{len(solution.assigned_job_ids)}/{len(problem.jobs)} jobs on {len(solution.routes)} "
        f"routes, {len(solution.unassigned)} unassigned, objective {solution.objective}",
        err=True,
    )


@dispatch_app.command("run")
def dispatch_run(
    day: str = typer.Option(..., "--date", metavar="YYYY-MM-DD", help="the service date"),
    district: str | None = typer.Option(None, "--district", metavar="CODE"),
    time_limit: float = typer.Option(10.0, "--time-limit", min=0.1, max=3600),
    wait: bool = typer.Option(
        False, "--wait/--queue", help="solve here and wait, or queue it for a worker"
    ),
    apply: bool = typer.Option(True, "--apply/--no-apply", help="book the planned orders"),
    parallel: int = typer.Option(
        0,
        "--parallel",
        min=0,
        max=64,
        help="solve the day's independent parts on this many Celery workers side by side",
    ),
) -> None:
    """Plan a day from the database as a solve run (queued for a worker, or solved here)."""
    from datetime import date

    from core.db import unit_of_work
    from dispatch import repository as dispatch_repo
    from dispatch import service as dispatch_service
    from dispatch import tasks

    try:
        service_date = date.fromisoformat(day)
    except ValueError as exc:
        raise ValueError(f"--date: {day!r} is not a date (YYYY-MM-DD)") from exc
    with unit_of_work() as session:
        run = dispatch_service.create_run(
            session,
            day=service_date,
            area_code=district,
            params={"time_limit_s": time_limit, "apply": apply, "parts_in_parallel": parallel},
            actor="cli",
        )
        run_id, public_id = run.id, run.public_id
    assert run_id is not None
    if not wait:
        from api.worker import build_celery

        build_celery()
        tasks.enqueue(run_id, time_limit)
        typer.echo(f"queued {public_id}")
        return
    if parallel >= 2:
        from api.worker import build_celery

        build_celery()  # the app the parts are sent with, from this process's settings
    outcome = tasks.execute_run(run_id)
    if outcome == "dispatched":
        outcome = _wait_for_run(run_id, deadline_s=time_limit * 2 + 120)
    with unit_of_work() as session:
        done = dispatch_service.get_run_or_raise(session, run_id)
        plan = dispatch_repo.get_plan(session, done.plan_id) if done.plan_id else None
        if plan is None:
            raise ValueError(f"run {public_id} {outcome}: {done.error or 'no plan'}")
        typer.echo(
            f"run {public_id} {outcome}: plan v{plan.version} for {plan.service_date} "
            f"({plan.area_code}), {plan.assigned} orders planned, {plan.unassigned} left out"
        )


def _wait_for_run(run_id: int, deadline_s: float) -> str:
    """Poll a run whose parts are with the workers until it finishes (or the deadline)."""
    import time

    from core.db import read_only
    from dispatch import service as dispatch_service
    from dispatch.models import FINISHED, RunStatus

    give_up = time.monotonic() + deadline_s
    while time.monotonic() < give_up:
        with read_only() as session:
            status = RunStatus(dispatch_service.get_run_or_raise(session, run_id).status)
        if status in FINISHED:
            return status.value
        time.sleep(0.5)
    raise ValueError("the run's parts are still with the workers; is a worker running?")


def _write_problem(problem: DispatchProblem, out: str | None) -> None:
    import json

    from dispatch import jsonio

    if out is None:
        typer.echo(json.dumps(jsonio.problem_to_dict(problem), ensure_ascii=False))
    else:
        jsonio.dump_problem(problem, out)


bench_app = typer.Typer(help="Benchmarks.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


@bench_app.command("vrptw")
def bench_vrptw(
    files: list[str] = typer.Argument(..., help=".vrp files or folders of them"),
    time_limit: float = typer.Option(10.0, "--time-limit", min=0.1),
    engines: str = typer.Option("linli,pyvrp,vroom", help="comma-separated engines"),
    seed: int = typer.Option(1),
    out: str | None = typer.Option(None, "--out", metavar="FILE.csv"),
) -> None:
    """Our solver beside PyVRP and VROOM on VRPLIB VRPTW instances, gaps to the best known."""
    from dispatch.bench.engines import ENGINES
    from dispatch.bench.vrptw import (
        HEADER,
        format_row,
        format_summary,
        run,
        summarize,
        write_csv,
    )

    names = [e.strip() for e in engines.split(",") if e.strip()]
    unknown = sorted(set(names) - set(ENGINES))
    if unknown:
        raise ValueError(f"unknown engines {unknown}; known: {sorted(ENGINES)}")
    typer.echo(HEADER)
    results = run(files, names, time_limit, seed, on_result=lambda r: typer.echo(format_row(r)))
    typer.echo(format_summary(summarize(results)))
    if out:
        write_csv(results, out)


policy_app = typer.Typer(help="Subsidy policy versions.", no_args_is_help=True)
ledger_app = typer.Typer(help="The subsidy ledger.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")
app.add_typer(ledger_app, name="ledger")
audit_app = typer.Typer(
    help="Audit: anomaly runs, findings, reports, ledger checkpoints.", no_args_is_help=True
)
app.add_typer(audit_app, name="audit")
account_app = typer.Typer(help="Sign-in accounts.", no_args_is_help=True)
app.add_typer(account_app, name="account")


@account_app.command("create")
def account_create(
    username: str = typer.Option(..., "--username"),
    role: str = typer.Option(..., "--role", help="admin, auditor, dispatcher, …"),
    civil_affairs: bool = typer.Option(False, "--civil-affairs", help="may see ID numbers"),
    password_env: str = typer.Option(
        "LINLI_NEW_PASSWORD", "--password-env", help="the environment variable holding it"
    ),
) -> None:
    """Create an account not tied to a household, provider or worker (the first administrator,
    auditors, platform dispatchers); the password is read from an environment variable."""
    import os

    from pydantic import ValidationError

    from core.db import unit_of_work
    from marketplace.accounts import service as accounts_service
    from marketplace.accounts.schemas import AccountCreate

    password = os.environ.get(password_env, "")
    if not password:
        raise ValueError(f"set {password_env} to the new account's password")
    try:
        data = AccountCreate.model_validate(
            {
                "username": username,
                "password": password,
                "role": role,
                "civil_affairs": civil_affairs,
            }
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"--{field.replace('_', '-')}: {first['msg']}") from exc
    with unit_of_work() as session:
        account = accounts_service.create_account(session, data)
        line = f"account {account.public_id} ({account.username}, {account.role}) created"
    typer.echo(line)


tariff_app = typer.Typer(help="Providers' prices.", no_args_is_help=True)
app.add_typer(tariff_app, name="tariff")


@tariff_app.command("set")
def tariff_set(
    provider: str = typer.Option(..., "--provider", metavar="PUBLIC_ID", help="the provider"),
    item: str = typer.Option(..., "--item", metavar="CODE", help="catalog item code"),
    price: str = typer.Option(..., "--price", metavar="YUAN", help="price per unit, e.g. 52.50"),
    night: int = typer.Option(0, "--night", help="night surcharge, percent (20:00–07:00)"),
    holiday: int = typer.Option(0, "--holiday", help="statutory holiday surcharge, percent"),
    urgent: int = typer.Option(0, "--urgent", help="same-day surcharge, percent"),
    radius_m: int = typer.Option(0, "--radius-m", help="free distance from the base, metres"),
    per_km: str = typer.Option("0", "--per-km", metavar="YUAN", help="per km beyond the radius"),
) -> None:
    """Set a provider's price and surcharges for one item (replaces the earlier one)."""
    from core.db import unit_of_work
    from core.money import Money
    from marketplace.catalog import service as catalog_service
    from marketplace.providers import service as providers_service
    from pricing import service as pricing_service

    unit_price, distance_price = Money.yuan(price), Money.yuan(per_km)
    with unit_of_work() as session:
        found = providers_service.get_by_public_id_or_raise(session, provider)
        row = catalog_service.get_item_by_code_or_raise(session, item)
        assert found.id is not None
        assert row.id is not None
        pricing_service.set_tariff(
            session,
            provider_id=found.id,
            item_id=row.id,
            unit_price_fen=unit_price.fen,
            night_percent=night,
            holiday_percent=holiday,
            urgent_percent=urgent,
            radius_m=radius_m,
            per_km_fen=distance_price.fen,
        )
        unit = row.unit
    typer.echo(f"{provider} {item}: {unit_price} per {unit}")


@tariff_app.command("list")
def tariff_list(
    provider: str = typer.Option(..., "--provider", metavar="PUBLIC_ID", help="the provider"),
) -> None:
    """Print a provider's own prices; other items sell at the catalog's reference price."""
    from core.db import read_only
    from core.money import Money
    from marketplace.catalog import service as catalog_service
    from marketplace.providers import service as providers_service
    from pricing import service as pricing_service

    with read_only() as session:
        found = providers_service.get_by_public_id_or_raise(session, provider)
        assert found.id is not None
        lines = []
        for t in pricing_service.tariffs_of_provider(session, found.id):
            row = catalog_service.get_item_or_raise(session, t.item_id)
            guide = f"guide {Money(row.guide_price_fen)}" if row.guide_price_fen else "no guide"
            lines.append(
                f"{row.code}\t{Money(t.unit_price_fen)}/{row.unit}\t{guide}\tnight "
                f"{t.night_percent}% holiday {t.holiday_percent}% urgent {t.urgent_percent}%"
                f"\t{Money(t.per_km_fen)}/km beyond {t.radius_m} m"
            )
    typer.echo("\n".join(lines) if lines else f"{provider} sells at the reference prices")


@policy_app.command("list")
def policy_list() -> None:
    """Print the stored policy versions, oldest first."""
    from core.db import read_only
    from pricing import service as pricing_service

    with read_only() as session:
        versions = pricing_service.policy_versions(session)
    for doc in versions:
        typer.echo(f"{doc.version}\tfrom {doc.effective_from.isoformat()}\t{doc.title}")


@policy_app.command("add")
def policy_add(
    file: str = typer.Argument(..., metavar="FILE.json", help="a policy document (JSON)"),
) -> None:
    """Store a new policy version; it applies to orders quoted from its effective date on."""
    import json
    from pathlib import Path

    from core.db import unit_of_work
    from pricing import service as pricing_service
    from pricing.policy import load_policy

    try:
        data = json.loads(Path(file).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{file} is not JSON: {exc}") from exc
    document = load_policy(data)
    with unit_of_work() as session:
        pricing_service.add_policy_version(session, document, actor="cli")
    typer.echo(
        f"policy {document.version} stored, in force for orders quoted from "
        f"{document.effective_from.isoformat()}"
    )


@ledger_app.command("verify")
def ledger_verify() -> None:
    """Walk the hash chain and replay the balances; exit 1 if anything is broken."""
    from core.db import read_only
    from pricing import ledger

    with read_only() as session:
        verdict = ledger.verify(session)
    if verdict.ok:
        typer.echo(f"ledger ok: {verdict.entries} entries")
        return
    if verdict.first_broken_id is not None or verdict.problem:
        typer.echo(f"ledger broken at entry {verdict.first_broken_id}: {verdict.problem}")
    else:
        more = len(verdict.balance_problems) - 1
        typer.echo(
            f"ledger broken: balances differ from the entries: {verdict.balance_problems[0]}"
            + (f" (and {more} more)" if more else "")
        )
    raise typer.Exit(1)


@ledger_app.command("statement")
def ledger_statement(
    provider: str = typer.Option(..., "--provider", metavar="PUBLIC_ID", help="the provider"),
    month: str = typer.Option(..., "--month", metavar="YYYY-MM", help="the service month"),
) -> None:
    """A provider's settlement for a service month: what each order earned, by payer."""
    from core.db import read_only
    from core.money import Money
    from marketplace.providers import service as providers_service
    from pricing import settlement

    with read_only() as session:
        found = providers_service.get_by_public_id_or_raise(session, provider)
        assert found.id is not None
        name = found.name
        statement = settlement.statement(session, found.id, month)
        reconciled = statement.reconciles(session)
    typer.echo(f"statement of {provider} ({name}) for {month}")
    header = ("order", "subsidy", "household", "insurance", "total")
    typer.echo(f"{header[0]:<26}" + "".join(f"{h:>12}" for h in header[1:]))
    rows = [
        (line.order_ref, line.subsidy_fen, line.household_fen, line.ltc_fen, line.total_fen)
        for line in statement.lines
    ]
    rows.append(
        (
            f"total ({len(statement.lines)} orders)",
            statement.subsidy_fen,
            statement.household_fen,
            statement.ltc_fen,
            statement.total_fen,
        )
    )
    for ref, *amounts in rows:
        typer.echo(f"{ref:<26}" + "".join(f"{Money(a)!s:>12}" for a in amounts))
    typer.echo(f"reconciles with the ledger: {'yes' if reconciled else 'NO'}")
    if not reconciled:
        raise typer.Exit(1)


@audit_app.command("run")
def audit_run(
    month: str = typer.Option(..., "--month", metavar="YYYY-MM", help="the service month"),
    rule: list[str] | None = typer.Option(
        None, "--rule", metavar="CODE", help="run only this rule (repeat for more)"
    ),
) -> None:
    """Run the anomaly rules over a month's visits and store the findings."""
    from audit import rules
    from audit import service as audit_service
    from core.db import unit_of_work

    with unit_of_work() as session:
        outcome = audit_service.run_month(session, month, actor="cli", only=rule or None)
        run = outcome.run
        line = (
            f"audit {run.public_id} of {month}: {run.visits} visits, {run.hits} hits, "
            f"{run.new_findings} new findings; ledger {'ok' if run.ledger_ok else 'BROKEN'}; "
            + ", ".join(f"{k} {v:.1f} s" for k, v in run.seconds.items())
        )
        counts = dict(run.hits_by_rule)
    typer.echo(line)
    for code in rules.RULES:
        if code in counts:
            typer.echo(f"  {code:<24}{counts[code]:>7}")


@audit_app.command("findings")
def audit_findings(
    month: str = typer.Option(..., "--month", metavar="YYYY-MM", help="the service month"),
    status: str | None = typer.Option(None, "--status", help="open|explained|confirmed|dismissed"),
    rule: str | None = typer.Option(None, "--rule", metavar="CODE", help="one rule's findings"),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000),
) -> None:
    """List a month's findings, oldest first."""
    from audit import repository as audit_repo
    from audit.models import FindingStatus
    from core.db import read_only
    from core.money import Money

    try:
        wanted = None if status is None else FindingStatus(status)
    except ValueError as exc:
        raise ValueError(
            f"--status: {status!r} is not one of open, explained, confirmed, dismissed"
        ) from exc
    with read_only() as session:
        rows = audit_repo.list_findings(session, month=month, status=wanted, rule=rule, limit=limit)
        lines = [
            f"{f.public_id}\t{f.status}\t{f.severity}\t{f.rule}\t{Money(f.subsidy_fen)}"
            f"\t{f.summary}"
            for f in rows
        ]
    typer.echo("\n".join(lines) if lines else f"no findings for {month}")


@audit_app.command("review")
def audit_review(
    finding: str = typer.Argument(..., metavar="FINDING_ID", help="the finding's public id"),
    to: str = typer.Option(..., "--to", help="explained|confirmed|dismissed"),
    reason: str = typer.Option(..., "--reason", metavar="CODE", help="a reason code"),
    note: str = typer.Option("", "--note"),
    actor: str = typer.Option(..., "--actor", help="who decides (kept in the history)"),
) -> None:
    """Move a finding on; confirming claws the subsidy back in the ledger."""
    from audit import service as audit_service
    from audit.models import FindingStatus, ReasonCode
    from core.db import unit_of_work
    from core.money import Money

    try:
        target, code = FindingStatus(to), ReasonCode(reason)
    except ValueError as exc:
        raise ValueError(
            f"--to must be explained, confirmed or dismissed and --reason one of "
            f"{', '.join(c.value for c in ReasonCode)}"
        ) from exc
    with unit_of_work() as session:
        found = audit_service.get_finding_or_raise(session, finding)
        done = audit_service.transition(
            session, found, target, reason_code=code, note=note, actor=actor
        )
        message = f"{done.public_id} {done.status}"
        if done.clawback_fen:
            message += f"; {Money(done.clawback_fen)} of subsidy clawed back"
    typer.echo(message)


@audit_app.command("export")
def audit_export(
    month: str = typer.Option(..., "--month", metavar="YYYY-MM", help="the service month"),
    fmt: str = typer.Option(..., "--format", metavar="csv|xlsx", help="csv files or a workbook"),
    out: Path = typer.Option(Path("."), "--out", metavar="DIR", help="folder to write into"),
    sample: int = typer.Option(50, "--sample", min=0, help="visits drawn for field checks"),
    seed: str = typer.Option("linli-field-check", "--seed", help="the sample's seed"),
) -> None:
    """Spend and hours by area, provider, group and month, EVV compliance, a field-check sample
    and the reconciliation with the ledger and the settlements; exit 1 if it does not reconcile."""
    from audit import export, reports
    from core.db import read_only

    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"--format must be csv or xlsx, got {fmt!r}")
    with read_only() as session:
        report = reports.month_report(session, month, sample_size=sample, sample_seed=seed)
        reconciliation = reports.reconcile(report, session)
    out.mkdir(parents=True, exist_ok=True)
    written = export.export_report(report, reconciliation, "csv" if fmt == "csv" else "xlsx", out)
    for path in written:
        typer.echo(str(path))
    if reconciliation.ok:
        typer.echo(f"reconciles with the ledger and the settlements to the fen ({month})")
        return
    problems = reconciliation.differences
    typer.echo(
        f"DOES NOT RECONCILE: {problems[0].describe()}"
        + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
    )
    raise typer.Exit(1)


@audit_app.command("public-key")
def audit_public_key() -> None:
    """Print the public key (base64) auditors verify checkpoints with, and its key id."""
    from audit import checkpoint as checkpoints

    key = checkpoints.public_key()
    typer.echo(f"public key: {key}")
    typer.echo(f"key id: {checkpoints.key_id(key)}")


@audit_app.command("checkpoint")
def audit_checkpoint(
    out: Path | None = typer.Option(
        None, "--out", metavar="DIR", help="folder to write to [default: <data dir>/checkpoints]"
    ),
) -> None:
    """Verify the ledger, sign its head and write ledger-checkpoint-YYYY-MM-DD.json (local date).

    Refuses a broken ledger. A later checkpoint of the same day replaces the earlier file.
    """
    from audit import checkpoint as checkpoints
    from core.db import read_only

    with read_only() as session:
        taken = checkpoints.take(session)
    path = checkpoints.write(taken, out or checkpoints.default_dir())
    typer.echo(
        f"{path}: entry {taken.head_id} (hash {taken.head_hash}), {taken.entries} entries, "
        f"key {taken.key_id}"
    )


@audit_app.command("verify-ledger")
def audit_verify_ledger(
    checkpoint_files: list[Path] | None = typer.Option(
        None, "--checkpoint", metavar="FILE", help="a kept checkpoint file (repeat for more)"
    ),
    checkpoints_dir: Path | None = typer.Option(
        None,
        "--checkpoints-dir",
        metavar="DIR",
        help="every ledger-checkpoint-*.json in this folder [default: <data dir>/checkpoints, "
        "if it exists and no --checkpoint is given]",
    ),
    public_key: str | None = typer.Option(
        None,
        "--public-key",
        metavar="B64",
        help="the key the checkpoints were signed with [default: this installation's]",
    ),
) -> None:
    """Verify the ledger and hold it against kept checkpoints; exit 1 if anything is broken.

    One line either way: what holds, or the first broken entry or checkpoint.
    """
    from audit import checkpoint as checkpoints
    from core.db import read_only

    kept = [checkpoints.load(p) for p in checkpoint_files or []]
    if checkpoints_dir is not None:
        kept += checkpoints.load_dir(checkpoints_dir)
    elif not kept and checkpoints.default_dir().is_dir():
        kept += checkpoints.load_dir(checkpoints.default_dir())
    key = public_key or checkpoints.public_key()
    checkpoints.key_id(key)  # a malformed key is an error before the database is read
    with read_only() as session:
        result = checkpoints.check(session, kept, key)
    typer.echo(result.summary())
    if not result.ok:
        raise typer.Exit(1)


@app.command("ping")
def ping_worker(timeout: float = typer.Option(20.0, help="seconds to wait")) -> None:
    """Send a ping task through the broker and print the worker's answer."""
    from api.worker import celery  # noqa: F401  (configures the default app)
    from core.tasks import ping

    reply = ping.apply_async(args=["cli"]).get(timeout=timeout)
    typer.echo(f"pong from {reply['hostname']} pid {reply['pid']}")


@app.command("worker")
def worker(
    pool: str | None = typer.Option(None, help="solo, prefork or threads"),
    concurrency: int | None = typer.Option(None, help="worker processes or threads"),
) -> None:
    """Run a Celery worker in the foreground."""
    from api import processes

    raise typer.Exit(processes.run_worker_foreground(pool=pool, concurrency=concurrency))


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8000),
    with_worker: bool = typer.Option(True, "--worker/--no-worker", help="start a Celery worker"),
) -> None:
    """Serve the API, with a Celery worker process beside it."""
    from api import processes

    processes.serve(host=host, port=port, with_worker=with_worker)


def _one_line_errors(func: Callable[[], Any]) -> Callable[[], Any]:
    def wrapper() -> Any:
        try:
            return func()
        except DomainError as exc:
            typer.echo(f"error: {exc.detail}", err=True)
            sys.exit(2)
        except (ValueError, FileNotFoundError, PermissionError) as exc:
            typer.echo(f"error: {exc}", err=True)
            sys.exit(2)

    return wrapper


@_one_line_errors
def main() -> Any:
    """Entry point of the ``linli`` console script."""
    return app()


if __name__ == "__main__":
    main()
