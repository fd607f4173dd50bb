"""What the commands tell an operator: one line and a non-zero exit for bad input, bad settings and
a database that cannot be opened (never a traceback); the port bound first; the JSON log format."""

from __future__ import annotations

import json
import logging
import socket
import sys

import pytest

from signaling.__main__ import main
from signaling.logs import JsonFormatter
from signaling.startup import StartupError, bind, listening_line

HEADER = "code,name,name_en,category,department,level,difficulty\n"


@pytest.fixture
def run(monkeypatch, tmp_path, capsys):
    """main(argv) on a database under tmp_path: (exit code, stdout lines, stderr lines)."""
    monkeypatch.setenv("VW_SECRET_KEY", "test-secret")
    monkeypatch.setenv("VW_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'vw.db'}")

    def run(*argv: str) -> tuple[int, list[str], list[str]]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out.splitlines(), err.splitlines()
    return run


def _one_line(err: list[str]) -> str:
    assert len(err) == 1, err
    assert "Traceback" not in err[0]
    return err[0]


def test_catalog_import_of_a_missing_file(run, tmp_path):
    code, out, err = run("catalog", "import", str(tmp_path / "missing.csv"))
    assert code == 1 and out == []
    assert "No such file or directory (nothing was imported)" in _one_line(err)


def test_catalog_import_of_a_bad_row_names_its_line(run, tmp_path):
    path = tmp_path / "items.csv"
    path.write_text(HEADER + "SI-900,开户,Open,tax,税务局,district,2\nSI-901,,Blank name,tax,税务局,district,9\n")
    code, out, err = run("catalog", "import", str(path))
    assert code == 1 and out == []
    assert _one_line(err).startswith(f"{path}: line 3: ")
    assert not (tmp_path / "vw.db").exists()  # checked before the database is opened


def test_queue_import_of_a_missing_file(run, tmp_path):
    code, _out, err = run("queue", "import", str(tmp_path / "queues.csv"))
    assert code == 1
    assert "nothing was imported" in _one_line(err)


def test_user_add_with_a_database_that_does_not_answer_hides_the_password(run):
    code, out, err = run("user", "add", "ops", "--role", "admin", "--password", "long-enough",
                         "--database-url", "postgresql+asyncpg://vw:s3cret@127.0.0.1:1/vw")
    assert code == 1 and out == []
    line = _one_line(err)
    assert line.startswith("virtual-window: cannot open the database postgresql+asyncpg://vw:***@127.0.0.1:1/vw: ")
    assert line.endswith(" (nothing was changed)")
    assert "s3cret" not in line


def test_user_add_with_a_database_url_that_is_none(run):
    code, _out, err = run("user", "add", "ops", "--role", "admin", "--password", "long-enough",
                          "--database-url", "not a url")
    assert code == 2
    assert _one_line(err).startswith("virtual-window: 'not a url' is not a database URL")


def test_a_bad_setting_stops_a_command_too(run, monkeypatch, tmp_path):
    monkeypatch.setenv("VW_TRUSTED_PROXIES", "10.0.0.0/8,proxy.example")
    code, _out, err = run("catalog", "import", str(tmp_path / "items.csv"))
    assert code == 2
    assert _one_line(err) == "virtual-window: VW_TRUSTED_PROXIES: 'proxy.example' is not an IP address or network"


def test_a_second_bind_on_the_port_is_one_line():
    first = bind("127.0.0.1", 0)
    try:
        port = first[0].getsockname()[1]
        assert listening_line(first) == (f"Virtual Window listening on http://127.0.0.1:{port} — "
                                         "caller page /, console /console, admin /admin")
        with pytest.raises(StartupError) as refused:
            bind("127.0.0.1", port)
        assert str(refused.value) == (f"cannot listen on 127.0.0.1:{port}: Address already in use "
                                      "(is another server running on it?)")
    finally:
        for sock in first:
            sock.close()
    with socket.create_server(("127.0.0.1", port)):  # closed: the port is free again
        pass


def test_json_records_carry_extras_and_tracebacks():
    formatter = JsonFormatter()
    record = logging.LogRecord("signaling.engine", logging.WARNING, __file__, 1, "session %s: %s", ("s1", "超时"), None)
    record.session_id = "s1"
    entry = json.loads(formatter.format(record))
    assert entry["level"] == "WARNING" and entry["logger"] == "signaling.engine"
    assert entry["message"] == "session s1: 超时" and entry["session_id"] == "s1"
    assert entry["time"].endswith("Z") and "exc" not in entry
    try:
        raise ValueError("bad")
    except ValueError:
        failed = logging.LogRecord("signaling", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = formatter.format(failed)
    assert "\n" not in line  # one line, the traceback inside
    assert json.loads(line)["exc"].splitlines()[-1] == "ValueError: bad"
