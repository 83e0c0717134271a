"""Named image-folder datasets that are downloaded once into the cache."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from benchmarks.datasets._folders import default_cache_dir
from benchmarks.datasets._network import address, unreachable
from benchmarks.errors import UserError

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Archive:
    """A named download: where it is, what it is, and its SHA-256 where it is pinned.

    ``sha256`` None: the publisher gives none and it could not be computed where this was written (no network);
    the zip's own per-member CRC-32 checks still catch a corrupt or partial file.
    """

    name: str
    url: str
    description: str
    sha256: str | None = None


ARCHIVES: dict[str, Archive] = {
    "hymenoptera": Archive(
        "hymenoptera",
        "https://download.pytorch.org/tutorial/hymenoptera_data.zip",
        "ants vs bees (PyTorch transfer-learning tutorial), 2 classes, train/val folders",
    ),
    "fruits360": Archive(
        "fruits360",
        "https://github.com/Horea94/Fruit-Images-Dataset/archive/refs/heads/master.zip",
        "Fruits-360, 100x100 images in Training/Test folders",
    ),
}


def archive_unavailable(name: str, cache_dir: Path | None = None) -> str | None:
    """Why the named archive cannot be had now (not in the cache and its host does not answer); None if it can."""
    archive = ARCHIVES[name]
    if ((cache_dir or default_cache_dir()) / "downloads" / f"{name}.zip").exists():
        return None
    host = address(archive.url)
    why = host and unreachable([host])
    return f"not downloaded yet and {archive.url} cannot be reached: {why}" if why else None


def fetch_archive(name: str, cache_dir: Path | None = None, archives: dict[str, Archive] | None = None) -> Path:
    """The archive's zip in the cache, downloaded on first use through ``keras.utils.get_file``.

    ``get_file`` checks the SHA-256 where one is pinned, and fetches again a cached file that does not match. Every
    zip is then tested member by member (CRC-32); a corrupt or partial one is deleted and fetched once more. What
    still fails is a one-line error. Extraction is ours (``_folders``), which refuses members that would land
    outside its folder.
    """
    import keras

    archive = (archives or ARCHIVES)[name]
    folder = (cache_dir or default_cache_dir()) / "downloads"
    folder.mkdir(parents=True, exist_ok=True)
    for attempt in (1, 2):
        if not (folder / f"{name}.zip").exists():
            log.warning("downloading %s from %s (first use only)", name, archive.url)
        try:
            path = Path(keras.utils.get_file(
                fname=f"{name}.zip", origin=archive.url, file_hash=archive.sha256, hash_algorithm="sha256",
                cache_dir=str(folder), cache_subdir="", force_download=attempt > 1))
        except ValueError as error:  # the download does not match its SHA-256
            raise UserError(f"the download of {name} from {archive.url} does not match its SHA-256 ({error}); "
                            "try again later, or download it yourself and pass the zip to --dataset") from None
        except Exception as error:  # noqa: BLE001  (urllib's and get_file's many network errors)
            first = (str(error).splitlines() or [type(error).__name__])[0][:200]
            raise UserError(
                f"could not download {name} from {archive.url} ({first}); check the network, "
                f"or download it yourself and pass the folder or zip path to --dataset"
            ) from None
        broken = _broken_zip(path)
        if broken is None:
            return path
        log.warning("the cached %s is %s; fetching it again", name, broken)
        path.unlink(missing_ok=True)
    raise UserError(f"the download of {name} from {archive.url} is {broken}; try again later, "
                    "or download it yourself and pass the zip to --dataset")


def _broken_zip(path: Path) -> str | None:
    """Why ``path`` is not a sound zip (its CRC-32s are checked), or None."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        return f"not a complete zip ({error})"
    return None if bad is None else f"corrupt (member {bad} fails its CRC check)"
