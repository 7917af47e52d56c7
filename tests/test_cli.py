"""The real `pestle` command, run as a subprocess against a temporary database.

Every refusal is exactly one line on stderr starting with ``pestle: `` and a non-zero exit,
and a refused command writes nothing.
"""

import contextlib
import json
import os
import shlex
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic.script import ScriptDirectory

from pestle import config
from pestle.config import ConfigurationError, Settings
from pestle.migrate import alembic_config
from tests.postgres import Cluster, free_port

COMMAND_TIMEOUT = 60
SERVER_START_TIMEOUT = 30
SERVER_STOP_TIMEOUT = 15
PASSWORD = "Correct-Horse-Battery-9"
SECRET_KEY = "cli-test-signing-key-that-is-long-enough-for-hs256-0123456789"
DEMO_ADMIN = "admin@demo.pestle.dev"
DEMO_PHARMACIST = "pharmacist@demo.pestle.dev"
SQLITE_ONLY_MESSAGE = "pestle: --workers above 1 needs PostgreSQL (set PESTLE_DATABASE_URL)"
NO_SECRET_MESSAGE = "pestle: PESTLE_SECRET_KEY is required unless the database is an SQLite file"


def clean_env(**pestle: str) -> dict[str, str]:
    """The test's environment without any PESTLE_* variable, plus ``pestle`` (names unprefixed)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("PESTLE_")}
    env.update({f"PESTLE_{name.upper()}": value for name, value in pestle.items()})
    return env


def run_pestle(
    command: str, env: dict[str, str], cwd: Path, timeout: float = COMMAND_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """``pestle <command>``, the command split as a POSIX shell would."""
    return subprocess.run(
        [sys.executable, "-m", "pestle", *shlex.split(command)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_refused(result: subprocess.CompletedProcess[str], message: str, code: int = 1) -> None:
    """Exit ``code``, nothing on stdout, and exactly the line ``message`` on stderr."""
    assert (result.returncode, result.stdout, result.stderr) == (code, "", message + "\n")


@dataclass
class SqliteDb:
    """A temporary SQLite database file and the environment that points `pestle` at it."""

    path: Path
    cwd: Path

    @property
    def url(self) -> str:
        return f"sqlite+aiosqlite:///{self.path}"

    @property
    def secret_path(self) -> Path:
        return self.path.with_name(self.path.name + ".secret")

    def env(self, **pestle: str) -> dict[str, str]:
        return clean_env(database_url=self.url, **pestle)

    def run(self, command: str, **pestle: str) -> subprocess.CompletedProcess[str]:
        return run_pestle(command, env=self.env(**pestle), cwd=self.cwd)

    def query(self, sql: str, *parameters: Any) -> list[tuple[Any, ...]]:
        with contextlib.closing(sqlite3.connect(self.path)) as connection:
            return connection.execute(sql, parameters).fetchall()

    def users(self) -> list[tuple[str, str, str | None]]:
        """(email, role, customer name) of every user, by email."""
        rows = self.query(
            'SELECT u.email, u.role, c.name FROM "user" u '
            "LEFT JOIN customer c ON c.id = u.customer_id ORDER BY u.email"
        )
        return [(email, role, customer) for email, role, customer in rows]

    def customers(self) -> list[str]:
        return [name for (name,) in self.query("SELECT name FROM customer ORDER BY name")]

    def user_id(self, email: str) -> uuid.UUID:
        [(hex_id,)] = self.query('SELECT id FROM "user" WHERE email = ?', email)
        return uuid.UUID(hex_id)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated database, copied for each test that needs one (migrating takes a second)."""
    directory = tmp_path_factory.mktemp("template")
    template = SqliteDb(directory / "p.db", cwd=directory)
    result = template.run("db upgrade")
    assert result.returncode == 0, result.stderr
    return template.path


@pytest.fixture
def fresh_db(tmp_path: Path) -> SqliteDb:
    """A database file that does not exist yet."""
    return SqliteDb(tmp_path / "data" / "p.db", cwd=tmp_path)


@pytest.fixture
def migrated_db(tmp_path: Path, migrated_template: Path) -> SqliteDb:
    for part in migrated_template.parent.glob("p.db*"):
        shutil.copy(part, tmp_path / part.name)
    return SqliteDb(tmp_path / "p.db", cwd=tmp_path)


@dataclass
class Served:
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> list[dict[str, Any]]:
        """The server's output: one JSON object a line."""
        return [json.loads(line) for line in self.log_path.read_text().splitlines()]


@contextlib.contextmanager
def serving(args: list[str], env: dict[str, str], cwd: Path, port: int) -> Iterator[Served]:
    """`pestle serve ...` in its own process group, answering /healthz; always stopped after."""
    log_path = cwd / f"serve-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "pestle", "serve", "--host", "127.0.0.1", *args],
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"pestle serve exited with {process.returncode}: {log_path.read_text()}"
                )
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"pestle serve did not answer /healthz: {log_path.read_text()}")
            time.sleep(0.1)
        yield Served(base_url, process, log_path)
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL to the whole group if it does not stop in time."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=SERVER_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=SERVER_STOP_TIMEOUT)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # stray workers, if any


def process_group_gone(pgid: int, timeout: float = SERVER_STOP_TIMEOUT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def login(base_url: str, email: str, password: str) -> httpx.Response:
    return httpx.post(
        f"{base_url}/api/v1/auth/login", json={"email": email, "password": password}, timeout=30
    )


def verify(base_url: str, access_token: str) -> httpx.Response:
    return httpx.get(
        f"{base_url}/api/v1/auth/verify",
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=30,
    )


# --- pestle db upgrade and the signing key ----------------------------------------------------


def test_db_upgrade_creates_the_database_and_can_run_again(fresh_db: SqliteDb) -> None:
    for _ in range(2):
        result = fresh_db.run("db upgrade")
        assert (result.returncode, result.stdout, result.stderr) == (
            0,
            "database is up to date\n",
            "",
        )
    tables = {name for (name,) in fresh_db.query("SELECT name FROM sqlite_master")}
    assert {"user", "customer", "api_key", "alembic_version"} <= tables
    head = ScriptDirectory.from_config(alembic_config(Settings())).get_current_head()
    assert fresh_db.query("SELECT version_num FROM alembic_version") == [(head,)]
    assert fresh_db.users() == []
    # Migrating needs no signing key, so none is made yet.
    assert not fresh_db.secret_path.exists()


def test_signing_key_is_generated_once_into_a_private_file(fresh_db: SqliteDb) -> None:
    settings = Settings(database_url=fresh_db.url, secret_key=None)

    key = settings.signing_key()

    assert len(key) == 64
    assert stat.S_IMODE(fresh_db.secret_path.stat().st_mode) == 0o600
    assert fresh_db.secret_path.read_text() == key + "\n"
    assert Settings(database_url=fresh_db.url, secret_key=None).signing_key() == key


def test_signing_key_races_end_with_one_key(fresh_db: SqliteDb) -> None:
    racers = 16
    start = threading.Barrier(racers)
    keys: list[str] = []

    def race() -> None:
        start.wait()
        keys.append(Settings(database_url=fresh_db.url, secret_key=None).signing_key())

    threads = [threading.Thread(target=race) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(keys) == racers
    assert keys[0]
    assert set(keys) == {fresh_db.secret_path.read_text().strip()}


def test_an_empty_secret_file_is_refused(
    fresh_db: SqliteDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config, "SECRET_FILE_WAIT_SECONDS", 0.2)
    fresh_db.path.parent.mkdir(parents=True)
    fresh_db.secret_path.write_text("\n")

    with pytest.raises(ConfigurationError) as refused:
        Settings(database_url=fresh_db.url, secret_key=None).signing_key()

    assert str(refused.value) == (
        f"{fresh_db.secret_path} is empty: delete it, or set PESTLE_SECRET_KEY"
    )


def test_a_configured_secret_key_needs_no_file(fresh_db: SqliteDb) -> None:
    settings = Settings(database_url=fresh_db.url, secret_key=SECRET_KEY)
    assert settings.signing_key() == SECRET_KEY
    assert not fresh_db.secret_path.exists()


# --- pestle users create ----------------------------------------------------------------------


def test_users_create_makes_a_customer_once_and_staff_without_one(migrated_db: SqliteDb) -> None:
    first = migrated_db.run(
        f"users create --email Admin@Acme.example.com --password {PASSWORD} --role admin "
        "--customer Acme"
    )
    second = migrated_db.run(
        f"users create --email member@acme.example.com --password {PASSWORD} --role member "
        "--customer Acme"
    )
    staff = migrated_db.run(
        f"users create --email rph@pharmacy.example.com --password {PASSWORD} --role pharmacist "
        "--first-name Rita --last-name Pharm"
    )

    for result, email, role in (
        (first, "admin@acme.example.com", "admin"),
        (second, "member@acme.example.com", "member"),
        (staff, "rph@pharmacy.example.com", "pharmacist"),
    ):
        user_id = migrated_db.user_id(email)
        assert (result.returncode, result.stdout, result.stderr) == (
            0,
            f"created user {email} ({role}) with id {user_id}\n",
            "",
        )
    assert migrated_db.users() == [
        ("admin@acme.example.com", "admin", "Acme"),
        ("member@acme.example.com", "member", "Acme"),
        ("rph@pharmacy.example.com", "pharmacist", None),
    ]
    assert migrated_db.customers() == ["Acme"]
    assert migrated_db.query(
        'SELECT first_name, last_name FROM "user" WHERE email = ?', "rph@pharmacy.example.com"
    ) == [("Rita", "Pharm")]


USERS_CREATE_REFUSALS = {
    "missing option": (
        "--email new@acme.example.com --role admin --customer Acme",
        "pestle: Missing option '--password'.",
        2,
    ),
    "unknown role": (
        f"--email new@acme.example.com --password {PASSWORD} --role boss",
        "pestle: Unknown role 'boss'; use one of admin, member, pharmacy_admin, pharmacist, "
        "technician.",
        1,
    ),
    "customer role without customer": (
        f"--email new@acme.example.com --password {PASSWORD} --role member",
        "pestle: Role member is a customer role and needs a customer.",
        1,
    ),
    "staff role with customer": (
        f"--email new@acme.example.com --password {PASSWORD} --role technician --customer NewCo",
        "pestle: Role technician is pharmacy staff and belongs to no customer.",
        1,
    ),
    "password too short": (
        "--email new@acme.example.com --password short1A --role admin --customer NewCo",
        "pestle: A password needs at least 8 characters.",
        1,
    ),
    "password too simple": (
        "--email new@acme.example.com --password lowercase1 --role admin --customer NewCo",
        "pestle: A password shorter than 12 characters needs an upper-case letter, "
        "a special character.",
        1,
    ),
    "invalid email": (
        f"--email not-an-email --password {PASSWORD} --role pharmacist",
        "pestle: Invalid email address: An email address must have an @-sign.",
        1,
    ),
    "duplicate email": (
        f"--email ' TAKEN@acme.example.com ' --password {PASSWORD} --role admin --customer NewCo",
        "pestle: A user with email taken@acme.example.com already exists.",
        1,
    ),
    "blank customer name": (
        f"--email new@acme.example.com --password {PASSWORD} --role admin --customer '  '",
        "pestle: A customer name must have 1 to 200 characters.",
        1,
    ),
}


@pytest.mark.parametrize(
    ("options", "message", "code"),
    USERS_CREATE_REFUSALS.values(),
    ids=USERS_CREATE_REFUSALS.keys(),
)
def test_users_create_refusals_write_nothing(
    migrated_db: SqliteDb, options: str, message: str, code: int
) -> None:
    created = migrated_db.run(
        f"users create --email taken@acme.example.com --password {PASSWORD} --role admin "
        "--customer Acme"
    )
    assert created.returncode == 0, created.stderr

    assert_refused(migrated_db.run(f"users create {options}"), message, code)

    assert migrated_db.users() == [("taken@acme.example.com", "admin", "Acme")]
    assert migrated_db.customers() == ["Acme"]


def test_an_unknown_command_is_one_line(migrated_db: SqliteDb) -> None:
    assert_refused(migrated_db.run("frobnicate"), "pestle: No such command 'frobnicate'.", 2)
    assert_refused(migrated_db.run("users delete"), "pestle: No such command 'delete'.", 2)
    assert migrated_db.users() == []


def test_commands_on_a_database_without_schema_are_one_line(fresh_db: SqliteDb) -> None:
    fresh_db.path.parent.mkdir(parents=True)
    assert_refused(fresh_db.run("demo"), "pestle: database error: no such table: user")
    assert_refused(
        fresh_db.run(
            f"users create --email rph@pharmacy.example.com --password {PASSWORD} --role pharmacist"
        ),
        "pestle: database error: no such table: user",
    )


# --- pestle demo ------------------------------------------------------------------------------


DEMO_USERS = [
    (DEMO_ADMIN, "admin", "Demo Telehealth"),
    (DEMO_PHARMACIST, "pharmacist", None),
]
DEMO_CREATED = f"created demo user {DEMO_ADMIN}\ncreated demo user {DEMO_PHARMACIST}\n"
PASSWORD_LINE = "demo password (shown once): "


def test_demo_seeds_once_and_its_password_logs_in(migrated_db: SqliteDb) -> None:
    first = migrated_db.run("demo")
    second = migrated_db.run("demo")

    assert (first.returncode, first.stderr) == (0, "")
    assert first.stdout.startswith(DEMO_CREATED + PASSWORD_LINE)
    password = first.stdout.removeprefix(DEMO_CREATED + PASSWORD_LINE).removesuffix("\n")
    assert len(password) == 24
    assert "\n" not in password
    assert (second.returncode, second.stdout, second.stderr) == (
        0,
        "demo data already present\n",
        "",
    )
    assert migrated_db.users() == DEMO_USERS
    assert migrated_db.customers() == ["Demo Telehealth"]

    # The server makes the signing key; a restarted server reads the same one back.
    port = free_port()
    env = migrated_db.env(port=str(port))
    with serving([], env, migrated_db.cwd, port) as served:
        base_url = served.base_url
        assert stat.S_IMODE(migrated_db.secret_path.stat().st_mode) == 0o600
        key = migrated_db.secret_path.read_text()
        tokens = {}
        for email, role, _customer in DEMO_USERS:
            response = login(base_url, email, password)
            assert response.status_code == 200, response.text
            tokens[email] = response.json()["access_token"]
            verified = verify(base_url, tokens[email])
            assert verified.status_code == 200, verified.text
            user = verified.json()["user"]
            assert (user["email"], user["role"], user["is_active"]) == (email, role, True)
            assert user["id"] == str(migrated_db.user_id(email))
        assert login(base_url, DEMO_ADMIN, password + "x").status_code == 401

    with serving([], env, migrated_db.cwd, port) as served:
        assert migrated_db.secret_path.read_text() == key
        verified = verify(served.base_url, tokens[DEMO_PHARMACIST])
        assert verified.status_code == 200, verified.text
        assert verified.json()["user"]["email"] == DEMO_PHARMACIST


def test_demo_applies_pestle_demo_password(migrated_db: SqliteDb) -> None:
    chosen = "Chosen-Demo-Pass-1"
    first = migrated_db.run("demo", demo_password=chosen)
    assert (first.returncode, first.stdout, first.stderr) == (0, DEMO_CREATED, "")

    changed = "Changed-Demo-Pass-2"
    again = migrated_db.run("demo", demo_password=changed)
    assert (again.returncode, again.stdout, again.stderr) == (
        0,
        "demo data already present; password reset from PESTLE_DEMO_PASSWORD\n",
        "",
    )
    assert migrated_db.users() == DEMO_USERS

    port = free_port()
    with serving(["--port", str(port)], migrated_db.env(), migrated_db.cwd, port) as served:
        for email, role, _customer in DEMO_USERS:
            assert login(served.base_url, email, chosen).status_code == 401
            response = login(served.base_url, email, changed)
            assert response.status_code == 200, response.text
            assert response.json()["user"]["role"] == role


def test_demo_refuses_a_weak_pestle_demo_password(migrated_db: SqliteDb) -> None:
    assert_refused(
        migrated_db.run("demo", demo_password="weak"),
        "pestle: A password needs at least 8 characters.",
    )
    assert migrated_db.users() == []
    assert migrated_db.customers() == []


# --- pestle serve -----------------------------------------------------------------------------


def test_serve_with_workers_on_sqlite_is_refused(migrated_db: SqliteDb) -> None:
    assert_refused(migrated_db.run("serve --workers 2"), SQLITE_ONLY_MESSAGE)
    assert not migrated_db.secret_path.exists()


@pytest.fixture(scope="session")
def pg_url(pg_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> str:
    url = pg_cluster.url("postgres")
    cwd = tmp_path_factory.mktemp("pg-cli")
    upgraded = run_pestle(
        "db upgrade", env=clean_env(database_url=url, secret_key=SECRET_KEY), cwd=cwd
    )
    assert (upgraded.returncode, upgraded.stdout, upgraded.stderr) == (
        0,
        "database is up to date\n",
        "",
    )
    return url


def test_serve_with_workers_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = clean_env(database_url=pg_url, secret_key=SECRET_KEY)
    with serving(["--port", str(port), "--workers", "2"], env, tmp_path, port) as served:
        for _ in range(4):
            health = httpx.get(f"{served.base_url}/healthz", timeout=10)
            assert (health.status_code, health.json()) == (200, {"status": "ok"})
            ready = httpx.get(f"{served.base_url}/readyz", timeout=10)
            assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(timeout=SERVER_STOP_TIMEOUT) == 0
        assert process_group_gone(served.process.pid)

    log = served.log()
    # The workers log as JSON too: their startup, and every request they served.
    started = [e for e in log if e["message"].startswith("Started server process [")]
    assert len({entry["message"] for entry in started}) == 2
    readyz = [e for e in log if e["logger"] == "pestle.access" and e["path"] == "/readyz"]
    assert [(entry["method"], entry["status"]) for entry in readyz] == [("GET", 200)] * 4


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_on_postgresql_needs_a_secret_key(pg_url: str, tmp_path: Path, workers: str) -> None:
    result = run_pestle(
        f"serve --port {free_port()} --workers {workers}",
        env=clean_env(database_url=pg_url),
        cwd=tmp_path,
    )
    assert_refused(result, NO_SECRET_MESSAGE)


def test_an_unreachable_postgresql_is_one_line(tmp_path: Path) -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/postgres"
    result = run_pestle("db upgrade", env=clean_env(database_url=url), cwd=tmp_path)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith("pestle: database error: ")
    assert result.stderr.count("\n") == 1


# --- configuration ----------------------------------------------------------------------------

BAD_URL_MESSAGE = (
    "pestle: PESTLE_DATABASE_URL: Value error, "
    "use sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB"
)


@pytest.mark.parametrize(
    "command",
    [
        "db upgrade",
        "demo",
        "serve",
        f"users create --email a@b.example.com --password {PASSWORD} --role pharmacist",
    ],
    ids=lambda command: " ".join(command.split()[:2]),
)
def test_a_bad_database_url_is_one_line(tmp_path: Path, command: str) -> None:
    result = run_pestle(command, env=clean_env(database_url="mysql://x"), cwd=tmp_path)
    assert_refused(result, BAD_URL_MESSAGE)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "port",
            "http",
            "pestle: PESTLE_PORT: Input should be a valid integer, "
            "unable to parse string as an integer",
        ),
        (
            "log_level",
            "chatty",
            "pestle: PESTLE_LOG_LEVEL: Input should be 'DEBUG', 'INFO', 'WARNING' or 'ERROR'",
        ),
        (
            "database_url",
            "::::",
            "pestle: PESTLE_DATABASE_URL: Value error, not a database URL: "
            "Could not parse SQLAlchemy URL from given URL string",
        ),
        (
            "webhook_retry_statuses",
            "409,500,410",
            "pestle: PESTLE_WEBHOOK_RETRY_STATUSES: Value error, only 3xx and 4xx statuses "
            "other than 410 can be made retryable, not [410, 500]",
        ),
    ],
)
def test_bad_settings_are_one_line(
    migrated_db: SqliteDb, variable: str, value: str, message: str
) -> None:
    env = migrated_db.env()
    env[f"PESTLE_{variable.upper()}"] = value
    result = run_pestle("serve", env=env, cwd=migrated_db.cwd)
    assert_refused(result, message)
