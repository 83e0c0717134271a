"""Named image-folder datasets that are downloaded once into the cache."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from benchmarks.datasets._folders import default_cache_dir
from benchmarks.errors import UserError

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Archive:
    name: str
    url: str
    description: str


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


def fetch_archive(name: str, cache_dir: Path | None = None) -> Path:
    """Download the archive on first use; return the local zip."""
    archive = ARCHIVES[name]
    target = (cache_dir or default_cache_dir()) / "downloads" / f"{name}.zip"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    import urllib.request

    partial = target.with_suffix(".part")
    log.warning("downloading %s from %s (first use only)", name, archive.url)
    try:
        urllib.request.urlretrieve(archive.url, partial)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise UserError(
            f"could not download {name} from {archive.url} ({error}); check the network, "
            f"or download it yourself and pass the folder or zip path to --dataset"
        ) from None
    partial.rename(target)
    return target
