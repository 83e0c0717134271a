"""tfds names: a malformed name, or an unknown version, config or option, is a one-line error that says the fix;
a dataset that is not prepared and whose download hosts do not answer is one too, within seconds.

No test here reads tfds data or reaches the network: the builders fail before anything is prepared, and the
connection check and tfds's download are replaced.
"""

from __future__ import annotations

import os
import threading
import time

import pytest
import tensorflow_datasets as tfds

from benchmarks.datasets import _network, _tfds, load_dataset
from benchmarks.errors import UserError

CASES = {
    "cifar10:99.9.9": r"tfds dataset 'cifar10' has no version 99\.9\.9; it has 3\.0\.2: write cifar10 for the latest or cifar10:3\.0\.2",
    "my/ds:1.2/x=1": r"'my/ds:1\.2/x=1' is not a tensorflow-datasets name: write dataset\[/config\]\[:x\.y\.z\], e\.g\. cifar10",
    "cifar10:": r"'cifar10:' is not a tensorflow-datasets name",
    "cifar10:abc": r"'cifar10:abc' has a version that is not x\.y\.z: write dataset",
    "cifar10/plain_text": r"tfds dataset 'cifar10' has no config 'plain_text'; it has none: write cifar10$",
    "cifar10/x=1": r"tfds dataset 'cifar10' does not take the option\(s\) x given in 'cifar10/x=1'",
    "CIFAR10": r"unknown dataset 'CIFAR10'.*did you mean cifar10",
}


@pytest.fixture
def no_community_lists(monkeypatch):
    """Fail any look-up of tfds's community datasets: their list is on the network."""
    original = tfds.list_builders

    def local_only(*args, with_community_datasets=True, **kwargs):
        assert not with_community_datasets, "listing community datasets would reach the network"
        return original(*args, with_community_datasets=False, **kwargs)

    monkeypatch.setattr(tfds, "list_builders", local_only)


@pytest.mark.parametrize("name", list(CASES))
def test_bad_tfds_names_are_one_line_errors_with_the_fix(name, no_community_lists):
    with pytest.raises(UserError, match=CASES[name]) as caught:
        load_dataset(name)
    assert "\n" not in str(caught.value)


def test_a_config_that_does_not_exist_names_the_ones_that_do(no_community_lists):
    with pytest.raises(UserError, match=r"has no config 'nope'; its configs are .*: write [a-z_0-9]+/"):
        load_dataset("imagenet2012_corrupted/nope")


def test_a_good_version_still_loads():
    with tfds.testing.mock_data(num_examples=60):
        data = load_dataset("cifar10:3.0.2", validation_fraction=0.2)
    assert data.num_classes == 10 and len(data.validation) == 12


# --------------------------------------------------------------------------- not prepared, no network
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"


class Stop(Exception):
    """Raised instead of a real download."""


@pytest.fixture
def downloads(monkeypatch):
    """tfds's download replaced: each call is recorded (dataset, data dir) and stops there."""
    calls = []

    def download_and_prepare(self, *args, **kwargs):
        calls.append((self.name, str(self.data_dir_root)))
        raise Stop("no download in tests")

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", download_and_prepare)
    return calls


@pytest.fixture
def connections(monkeypatch):
    """The connection check replaced: ``connections.error`` (an OSError or None) is what every attempt gives."""
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)

    class Connections(list):
        error: OSError | None = OSError(-2, "Name or service not known")

    tried = Connections()

    def connect(host, port, timeout):
        tried.append((host, port))
        if tried.error is not None:
            raise tried.error

    monkeypatch.setattr(_network, "connect", connect)
    return tried


def test_no_network_is_a_one_line_error_at_once_naming_the_folder_host_and_fix(
    tmp_path, monkeypatch, downloads, connections
):
    monkeypatch.chdir(tmp_path)  # a relative --data-dir is the user's folder, resolved here
    started = time.monotonic()
    with pytest.raises(UserError) as caught:
        load_dataset("cifar10", data_dir="tfds-data")
    assert time.monotonic() - started < 2
    message = str(caught.value)
    folder = os.path.join(str(tmp_path), "tfds-data")
    assert "\n" not in message
    assert f"tfds dataset 'cifar10' is not prepared in {folder}" in message
    assert "could not connect to www.cs.toronto.edu:443 ([Errno -2] Name or service not known)" in message
    assert (
        "tfds.builder('cifar10', data_dir=" + repr(folder) + ").download_and_prepare()" in message
        and message.endswith(f"--data-dir {folder}")
    )
    assert connections == [("www.cs.toronto.edu", 443)]
    assert downloads == [], "no download may start when no host answers"
    assert not os.path.exists(folder), "a failed check leaves no folder behind"


def test_the_suggested_command_prepares_that_folder(tmp_path, downloads, connections):
    """The command the error gives is real tfds: run as written, it prepares the dataset in the folder it names."""
    import re

    with pytest.raises(UserError) as caught:
        load_dataset("cifar10:3.0.2", data_dir=str(tmp_path))
    command = re.search(r'python -c "([^"]+)"', str(caught.value)).group(1)
    with pytest.raises(Stop):
        exec(command, {})
    assert downloads == [("cifar10", str(tmp_path))]


def test_a_timeout_says_so(tmp_path, downloads, connections):
    connections.error = TimeoutError("timed out")
    with pytest.raises(UserError, match=r"could not connect to www\.cs\.toronto\.edu:443 \(timed out\)"):
        load_dataset("cifar10:3.0.2", data_dir=str(tmp_path))
    assert downloads == []


def test_a_host_that_answers_lets_tfds_download(tmp_path, downloads, connections):
    connections.error = None
    with pytest.raises(UserError, match=r"could not prepare tfds dataset 'cifar10' \(Stop: no download in tests\)"):
        load_dataset("cifar10", data_dir=str(tmp_path))
    assert connections == [("www.cs.toronto.edu", 443)] and downloads == [("cifar10", str(tmp_path))]


def test_a_cached_download_needs_no_network(tmp_path, downloads, connections):
    from tensorflow_datasets.core.download import resource

    builder = tfds.builder("cifar10", data_dir=str(tmp_path))
    cached = tmp_path / "downloads" / resource.get_dl_fname(CIFAR10_URL, builder.url_infos[CIFAR10_URL].checksum)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"archive")
    resource.get_info_path(cached).write_text("{}")
    with pytest.raises(UserError, match="could not prepare"):
        load_dataset("cifar10", data_dir=str(tmp_path))
    assert connections == [] and downloads == [("cifar10", str(tmp_path))]


def test_without_download_urls_tfds_decides_as_before(tmp_path, monkeypatch, downloads, connections):
    """Manual-download datasets and datasets without checksums have no hosts to try."""
    monkeypatch.setattr(tfds.builder_cls("cifar10"), "url_infos", None)
    with pytest.raises(UserError, match="could not prepare"):
        load_dataset("cifar10", data_dir=str(tmp_path))
    assert connections == [] and downloads == [("cifar10", str(tmp_path))]


def test_a_proxy_is_what_gets_tried(monkeypatch):
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    monkeypatch.setenv("no_proxy", "")
    assert _network.address(CIFAR10_URL) == ("proxy.example", 3128)
    monkeypatch.delenv("https_proxy")
    monkeypatch.delenv("HTTPS_PROXY", raising=False)
    assert _network.address(CIFAR10_URL) == ("www.cs.toronto.edu", 443)
    assert _network.address("http://example.org:8080/x.zip") == ("example.org", 8080)
    assert _network.address("gs://bucket/x.zip") is None


def test_the_first_host_that_answers_wins(monkeypatch):
    release = threading.Event()

    def connect(host, port, timeout):
        if host == "slow.example":
            release.wait(timeout)
            raise OSError("timed out")

    monkeypatch.setattr(_network, "connect", connect)
    started = time.monotonic()
    try:
        assert _network.unreachable([("slow.example", 443), ("fast.example", 443)], timeout=5) is None
    finally:
        release.set()
    assert time.monotonic() - started < 1


def test_every_host_is_named_when_none_answers(monkeypatch):
    def connect(host, port, timeout):
        raise ConnectionRefusedError(111, "Connection refused") if host == "a.example" else OSError("no route")

    monkeypatch.setattr(_network, "connect", connect)
    assert _network.unreachable([("a.example", 443), ("b.example", 80)]) == (
        "a.example:443 ([Errno 111] Connection refused); b.example:80 (no route)"
    )
    many = [(f"h{i}.example", 443) for i in range(5)]
    assert _network.unreachable(many).endswith("h2.example:443 (no route) and 2 more")
