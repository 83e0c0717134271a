"""--address: --help documents every value it takes, ``local`` included; an address where nothing listens is a
one-line error at once (Ray's own client retries it for minutes)."""

from __future__ import annotations

import re
import socket
import time

import pytest

from benchmarks.errors import UserError


def test_help_names_address_local_and_what_it_does():
    from runners.search import build_parser

    text = " ".join(build_parser().format_help().split())
    address = text[text.rindex("--address ADDRESS"):][:400]  # its entry in the list of flags, not the usage line
    for value in ("auto", "host:port", "ray://host:port"):
        assert value in address, address
    # `local` as a value (not only "a local Ray"), said to start a new local Ray.
    assert re.search(r"\blocal\b(?! Ray)", address) and re.search(r"\bnew local Ray\b", address), address


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_whether_an_address_answers():
    from runners.tuning import _answers

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert _answers(f"127.0.0.1:{port}") is True and _answers(f"ray://127.0.0.1:{port}") is True
    assert _answers(f"127.0.0.1:{closed_port()}") is False
    assert _answers("auto") is None and _answers("local") is None  # Ray's to resolve


def test_an_address_where_nothing_listens_is_a_one_line_error_at_once():
    from runners.options import SearchOptions
    from runners.tuning import start_ray

    address = f"127.0.0.1:{closed_port()}"
    options = SearchOptions(dataset="digits", space="default", budget="smoke", num_samples=1, epochs=1, image_size=32,
                            sampler="tpe", scheduler="asha", weights=None, seed=0, address=address, max_concurrent=None,
                            cpus_per_trial=1.0, gpus_per_trial=0.0, results="results", db="sqlite://", name="x",
                            data_dir=None, val_fraction=0.15, test_fraction=0.15)
    started = time.monotonic()
    with pytest.raises(UserError) as error:
        start_ray(options)
    assert time.monotonic() - started < 30
    assert str(error.value) == (f"cannot connect to Ray at {address!r} (nothing answers at {address}); "
                                "start it with `ray start --head` or drop --address")
