"""``--mlflow`` and ``--register-model`` are checked before any trial: one-line errors, and MLFLOW_TRACKING_URI."""

from __future__ import annotations

import http.server
import importlib.util
import socket
import threading

import pytest

from benchmarks.errors import UserError
from runners.flags import build_parser
from runners.options import options_from_args
from runners.search import main
from runners.tracking import INSTALL

BASE = ["--weights", "none", "--budget", "smoke", "--space", "custom_cnn"]


def _options(*flags: str):
    return options_from_args(build_parser().parse_args([*BASE, *flags]))


def _dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


@pytest.fixture
def healthy_server():
    """An HTTP server on localhost that answers MLflow's ``/health`` (and nothing else)."""

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200 if self.path == "/health" else 404)
            self.end_headers()
            self.wfile.write(b"OK")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_tracking_is_off_by_default_and_the_flag_or_the_environment_turns_it_on(monkeypatch, healthy_server):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert _options().mlflow == "" and _options().register_model == ""
    assert _options("--mlflow", healthy_server, "--register-model", "m").mlflow == healthy_server
    monkeypatch.setenv("MLFLOW_TRACKING_URI", healthy_server)
    assert _options().mlflow == healthy_server


def test_an_unreachable_server_is_a_one_line_error_before_anything_starts(monkeypatch, capsys):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    url = _dead_url()
    with pytest.raises(UserError, match="the tracking server does not answer"):
        _options("--mlflow", url)
    assert main([*BASE, "--mlflow", url]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: --mlflow {url}: ") and "\n" not in err


def test_register_model_needs_a_server_and_mlflow_missing_names_the_extra(monkeypatch, healthy_server):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    with pytest.raises(UserError, match="--register-model needs a tracking server"):
        _options("--register-model", "digits-best")
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else find_spec(name, *a))
    with pytest.raises(UserError) as error:
        _options("--mlflow", healthy_server)
    assert INSTALL in str(error.value) and INSTALL == 'pip install -e ".[mlflow]"'
