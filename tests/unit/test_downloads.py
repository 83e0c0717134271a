"""Named downloads go through keras.utils.get_file: a corrupt or partial file is caught and fetched again."""

from __future__ import annotations

import hashlib

import pytest
from helpers import make_class_folders, zip_folder

from benchmarks.datasets._downloads import Archive, fetch_archive
from benchmarks.errors import UserError


@pytest.fixture
def served(tmp_path):
    """A good archive "on the network" (a file:// URL) and its SHA-256."""
    good = zip_folder(make_class_folders(tmp_path / "insects", {"ants": 3, "bees": 3}), tmp_path / "served.zip")
    return good, hashlib.sha256(good.read_bytes()).hexdigest()


def _archives(url: str, sha256: str | None) -> dict[str, Archive]:
    return {"insects": Archive("insects", url, "test archive", sha256)}


def test_a_cached_file_that_fails_its_hash_is_rejected_and_fetched_again(served, tmp_path):
    good, digest = served
    cached = tmp_path / "cache" / "downloads" / "insects.zip"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(good.read_bytes()[:-50] + b"\0" * 50)  # same size, corrupted tail
    path = fetch_archive("insects", tmp_path / "cache", _archives(good.as_uri(), digest))
    assert path == cached and hashlib.sha256(path.read_bytes()).hexdigest() == digest


def test_a_partial_zip_without_a_pinned_hash_is_caught_by_its_crc_and_fetched_again(served, tmp_path):
    good, digest = served
    cached = tmp_path / "cache" / "downloads" / "insects.zip"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])  # a download cut halfway
    path = fetch_archive("insects", tmp_path / "cache", _archives(good.as_uri(), None))
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


def test_a_download_that_never_matches_its_hash_is_one_line(served, tmp_path):
    good, _ = served
    with pytest.raises(UserError, match="does not match its SHA-256") as error:
        fetch_archive("insects", tmp_path / "cache", _archives(good.as_uri(), "0" * 64))
    assert "\n" not in str(error.value)


def test_an_unreachable_archive_is_one_line(tmp_path):
    with pytest.raises(UserError, match="could not download insects from file:///nowhere/x.zip") as error:
        fetch_archive("insects", tmp_path / "cache", _archives("file:///nowhere/x.zip", None))
    assert "\n" not in str(error.value)
