"""Zips: empty, corrupt and path-escaping archives, and zips inside a zip, are one-line errors; nothing is written
outside the cache."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from helpers import make_class_folders, write_zip, zip_folder
from PIL import Image

from benchmarks.datasets import load_dataset
from benchmarks.datasets._folders import extract_zip
from benchmarks.errors import UserError


def png(seed: int = 0) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def one_line_error(path, cache, match: str) -> str:
    with pytest.raises(UserError, match=match) as caught:
        extract_zip(path, cache)
    message = str(caught.value)
    assert "\n" not in message
    assert not any((cache / "extracted").glob("*"))  # no extraction, complete or not, is left behind
    return message


def corrupt(path, member: str, byte: int) -> None:
    """Overwrite the first byte of ``member``'s stored data in the zip at ``path``."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    data = bytearray(path.read_bytes())
    name_length = int.from_bytes(data[info.header_offset + 26:info.header_offset + 28], "little")
    extra_length = int.from_bytes(data[info.header_offset + 28:info.header_offset + 30], "little")
    data[info.header_offset + 30 + name_length + extra_length] = byte
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("members", [{}, {"insects/": b"", "insects/ants/": b""}], ids=["no-members", "only-folders"])
def test_an_empty_zip_is_a_user_error(tmp_path, members):
    archive = write_zip(tmp_path / "empty.zip", members)
    one_line_error(archive, tmp_path / "cache", "empty.zip is an empty zip archive; zip the dataset folder")
    with pytest.raises(UserError, match="empty zip archive"):
        load_dataset(str(archive))


@pytest.mark.parametrize(
    "compression, byte, reason",
    [(zipfile.ZIP_STORED, 0x00, "Bad CRC-32"), (zipfile.ZIP_DEFLATED, 0x07, "Error -3 while decompressing")],
    ids=["bad-crc", "zlib-error"],
)
def test_a_corrupt_member_is_named_and_nothing_stays_extracted(tmp_path, compression, byte, reason):
    members = {f"insects/{c}/img{i}.png": png(i) for c in ("ants", "bees") for i in range(4)}
    archive = write_zip(tmp_path / "insects.zip", members, compression=compression)
    corrupt(archive, "insects/bees/img2.png", byte)
    message = one_line_error(archive, tmp_path / "cache", "has a member that cannot be extracted")
    assert "'insects/bees/img2.png'" in message and reason in message


@pytest.mark.parametrize(
    "name",
    ["../evil.png", "insects/../../evil.png", "{tmp}/evil.png", "C:/evil.png", "insects\\..\\..\\evil.png"],
    ids=["dot-dot", "nested-dot-dot", "absolute", "drive", "backslashes"],
)
def test_a_member_escaping_the_folder_is_refused_before_anything_is_written(tmp_path, name):
    name = name.format(tmp=tmp_path.as_posix())
    members = {"insects/ants/a.png": png(1), name: png(2), "insects/bees/b.png": png(3)}
    archive = write_zip(tmp_path / "evil.zip", members)
    message = one_line_error(archive, tmp_path / "cache", "would be written outside the extraction folder")
    assert repr(name) in message
    assert not list(tmp_path.rglob("evil.png"))
    assert not (tmp_path / "cache" / "extracted").exists()


def test_hidden_files_and_macos_metadata_are_ignored(tmp_path, image_folder):
    archive = zip_folder(image_folder, tmp_path / "insects.zip")
    with zipfile.ZipFile(archive, "a") as extra:
        extra.writestr("__MACOSX/insects/ants/._img000.png", b"resource fork")
        extra.writestr("__MACOSX/insects/._ants", b"resource fork")
        extra.writestr("insects/.DS_Store", b"finder")
        extra.writestr("insects/ants/._img001.png", b"resource fork")
        extra.writestr("insects/bees/.thumbnails/img000.png", png(4))  # a valid image, but hidden
        extra.writestr("insects/wasps/__MACOSX/img000.png", png(5))
        extra.writestr("insects/.trash/img000.png", png(6))
    data = load_dataset(str(archive))
    assert data.class_names == ("ants", "bees", "wasps")
    assert sum(len(data.split(s)) for s in ("train", "validation", "test")) == 60


def test_a_zip_extracts_once_and_only_when_complete(tmp_path):
    root = make_class_folders(tmp_path / "insects", {"ants": 6, "bees": 6})
    archive = zip_folder(root, tmp_path / "insects.zip")
    first = extract_zip(archive, tmp_path / "cache")
    assert (first / ".complete").exists() and (first / "insects" / "ants" / "img000.png").exists()
    assert extract_zip(archive, tmp_path / "cache") == first
    assert [p.name for p in (tmp_path / "cache" / "extracted").iterdir()] == [first.name]  # no scratch folder left


@pytest.mark.parametrize("inner", ["insects.zip", "download/insects.zip"], ids=["at-the-top", "in-a-folder"])
def test_a_zip_inside_a_zip_is_one_line_naming_the_inner_archive_to_pass(tmp_path, inner):
    root = make_class_folders(tmp_path / "insects", {"ants": 6, "bees": 6})
    inside = zip_folder(root, tmp_path / "insects.zip")
    fork = "__MACOSX/" + inner.replace("insects.zip", "._insects.zip")  # macOS's copy: no zip, not named
    outer = write_zip(tmp_path / "outer.zip", {inner: inside.read_bytes(), fork: b"resource fork"})
    expected = r"holds zip archive\(s\) instead of images \((download/)?insects\.zip\)"
    with pytest.raises(UserError, match=expected) as caught:
        load_dataset(str(outer))
    message = str(caught.value)
    assert "\n" not in message
    suggested = message.rsplit("--dataset ", 1)[1]
    assert suggested.endswith(inner) and load_dataset(suggested).class_names == ("ants", "bees")


def test_a_zip_beside_the_images_of_a_class_is_ignored(tmp_path):
    root = make_class_folders(tmp_path / "insects", {"ants": 6, "bees": 6})
    write_zip(root / "bees" / "more.zip", {"x.png": png(1)})
    archive = zip_folder(root, tmp_path / "insects.zip")
    data = load_dataset(str(archive))
    assert sum(len(data.split(s)) for s in ("train", "validation", "test")) == 12
