"""The `pestle` command."""

import asyncio
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from pestle import migrate
from pestle.config import ConfigurationError, Settings
from pestle.db import Database
from pestle.exceptions import PestleError
from pestle.kit.logging import configure_logging

app = typer.Typer(
    help="Pestle: a compounding-pharmacy fulfilment server.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="Users and pharmacy staff.", no_args_is_help=True)
vocab_app = typer.Typer(help="The risk-factor vocabulary.", no_args_is_help=True)
inventory_app = typer.Typer(help="Inventory lots.", no_args_is_help=True)
orders_app = typer.Typer(help="Orders.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(vocab_app, name="vocab")
app.add_typer(inventory_app, name="inventory")
app.add_typer(orders_app, name="orders")


class CommandFailed(Exception):
    """A command could not do its work; the message is printed as one line."""


def _settings(**overrides: Any) -> Settings:
    try:
        return Settings(**{key: value for key, value in overrides.items() if value is not None})
    except ValueError as error:
        # pydantic's message spans several lines; the first error is enough to act on.
        first = error.errors()[0] if hasattr(error, "errors") else None
        if first is not None:
            field = ".".join(str(part) for part in first["loc"])
            raise CommandFailed(f"PESTLE_{field.upper()}: {first['msg']}") from None
        raise CommandFailed(str(error)) from None


@contextmanager
def _database_errors() -> Iterator[None]:
    """An unreachable database or a missing schema is one line, not a driver's traceback."""
    try:
        yield
    except (SQLAlchemyError, OSError) as error:
        cause = error.orig if isinstance(error, DBAPIError) else error
        lines = str(cause).strip().splitlines()
        reason = lines[0] if lines else type(cause).__name__
        raise CommandFailed(f"database error: {reason}") from None


def _with_database(settings: Settings, work: Any) -> Any:
    async def run() -> Any:
        database = Database(settings)
        try:
            return await work(database)
        finally:
            await database.dispose()

    with _database_errors():
        return asyncio.run(run())


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on [PESTLE_HOST].")] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Port to listen on [PESTLE_PORT].")
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="API processes; more than one needs PostgreSQL.")
    ] = 1,
) -> None:
    """Serve the API."""
    settings = _settings(host=host, port=port)
    if workers > 1 and settings.is_sqlite:
        raise CommandFailed("--workers above 1 needs PostgreSQL (set PESTLE_DATABASE_URL)")
    settings.signing_key()  # fail now, not in each worker, when no key can be had
    configure_logging(settings.log_level)
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "access_log": False,
        "log_config": None,
        "proxy_headers": False,
    }
    if workers > 1:
        # Each worker process builds its own app from the same PESTLE_* environment.
        uvicorn.run("pestle.cli:create_worker_app", factory=True, workers=workers, **options)
    else:
        from pestle.app import create_app

        uvicorn.run(create_app(settings), **options)


def create_worker_app() -> Any:
    """The app of one `serve --workers` process, which starts with logging unconfigured."""
    from pestle.app import create_app

    settings = Settings()
    configure_logging(settings.log_level)
    return create_app(settings)


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(min=1, help="Sends in flight at once.")] = 32,
    poll: Annotated[
        float, typer.Option(min=0.05, help="Seconds between looks for work when idle.")
    ] = 0.5,
) -> None:
    """Deliver events to webhooks, email and SMS; run several on PostgreSQL to share the work."""
    import signal

    from pestle.worker.loop import Worker

    settings = _settings()
    configure_logging(settings.log_level)

    async def run(database: Database) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await Worker(database, settings, concurrency=concurrency, poll=poll).run_forever(stop)

    _with_database(settings, run)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    settings = _settings()
    with _database_errors():
        migrate.upgrade(settings)
    typer.echo("database is up to date")


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="Login email.")],
    password: Annotated[str, typer.Option(help="Password (policy: see README).")],
    role: Annotated[
        str, typer.Option(help="admin, member, pharmacy_admin, pharmacist or technician.")
    ],
    customer: Annotated[
        str | None, typer.Option(help="Customer name (created if new); customer roles only.")
    ] = None,
    first_name: Annotated[str, typer.Option()] = "",
    last_name: Annotated[str, typer.Option()] = "",
) -> None:
    """Create a user; a new customer name creates the customer too."""
    from pestle.users.service import user_service

    async def create(database: Database) -> str:
        async with database.transaction() as session:
            user = await user_service.create(
                session,
                email=email,
                password=password,
                role=role,
                customer_name=customer,
                first_name=first_name,
                last_name=last_name,
            )
            return f"created user {user.email} ({user.role}) with id {user.id}"

    typer.echo(_with_database(_settings(), create))


@vocab_app.command("load")
def vocab_load(
    file: Annotated[Path, typer.Argument(help="RXNCONSO.RRF of an RxNorm release (rrf/).")],
) -> None:
    """Load the drugs of an RxNorm release; loading it again adds nothing."""
    from pestle.vocabulary.service import vocabulary_service

    async def load(database: Database) -> int:
        async with database.transaction() as session:
            loaded: int = await vocabulary_service.load_rxnconso(session, file)
            return loaded

    loaded = _with_database(_settings(), load)
    typer.echo(f"loaded {loaded} concepts from {file}")


@inventory_app.command("scan-expiring")
def inventory_scan_expiring(
    days: Annotated[
        int, typer.Option(min=0, max=3650, help="Report lots expiring within this many days.")
    ] = 30,
) -> None:
    """Emit inventory.lot_expiring once per lot and customer for lots about to expire."""
    from pestle.inventory.service import inventory_service

    async def scan(database: Database) -> int:
        async with database.transaction() as session:
            emitted: int = await inventory_service.scan_expiring(session, days)
            return emitted

    emitted = _with_database(_settings(), scan)
    typer.echo(
        f"emitted {emitted} inventory.lot_expiring events (lots expiring within {days} days)"
    )


@orders_app.command("scan-stuck")
def orders_scan_stuck() -> None:
    """Mark the orders that cannot go on for want of a prescription, and clear the others;
    order.stuck is raised once per episode."""
    from pestle.orders.stuck import ScanCounts, scan_stuck

    settings = _settings()

    async def scan(database: Database) -> ScanCounts:
        async with database.transaction() as session:
            return await scan_stuck(session, settings.app_url)

    counts = _with_database(settings, scan)
    typer.echo(
        f"orders: {counts.stuck} newly stuck, {counts.cleared} cleared, "
        f"{counts.still_stuck} still stuck"
    )


@app.command()
def demo() -> None:
    """Seed the demo customer and users; safe to run again."""
    from pestle import demo as demo_data

    settings = _settings()
    password = settings.demo_password.get_secret_value() if settings.demo_password else None
    seeded = _with_database(settings, lambda database: demo_data.seed(database, password))
    for email in seeded.created:
        typer.echo(f"created demo user {email}")
    if seeded.password is not None and password is None:
        typer.echo(f"demo password (shown once): {seeded.password}")
    elif not seeded.created:
        typer.echo(
            "demo data already present"
            + ("; password reset from PESTLE_DEMO_PASSWORD" if password else "")
        )


def main(argv: list[str] | None = None) -> None:
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="pestle", standalone_mode=False)
    except typer.TyperException as error:
        # Usage errors: one line, not click's boxed usage text.
        if error.format_message():
            print(f"pestle: {error.format_message()}", file=sys.stderr)
        sys.exit(error.exit_code)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        print("pestle: aborted", file=sys.stderr)
        sys.exit(1)
    except (CommandFailed, ConfigurationError, PestleError) as error:
        print(f"pestle: {error}", file=sys.stderr)
        sys.exit(1)
    sys.exit(result if isinstance(result, int) else 0)
