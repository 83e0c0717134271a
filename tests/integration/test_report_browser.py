"""The HTML report in a real browser: headless Chromium loads it from disk, every image loads,
and each leaderboard table has one row per stored trial it claims to show."""

from __future__ import annotations

import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from reports import tables
from reports.data import load_results

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="headless browser check needs /usr/bin/chromium (apt-get install -y chromium)"
)

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--virtual-time-budget=5000",
]

# Counted after the load event: images that did not decode, and rows per leaderboard table.
CHECK = """
<script>
function reportCheck() {
  const images = Array.from(document.images);
  document.body.dataset.images = String(images.length);
  document.body.dataset.brokenImages = String(images.filter(i => !i.complete || i.naturalWidth === 0).length);
  const rows = kind => Array.from(document.querySelectorAll("table." + kind))
    .map(t => t.dataset.dataset + "=" + t.tBodies[0].rows.length).join(";");
  document.body.dataset.leaderboardRows = rows("leaderboard");
  document.body.dataset.finalistRows = rows("finalists");
  document.body.dataset.checked = "yes";
}
if (document.readyState === "complete") reportCheck(); else window.addEventListener("load", reportCheck);
</script>
"""


def _chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


class _Dom(HTMLParser):
    """Collects <body> data attributes, <img> sources and the tbody rows of each leaderboard table."""

    def __init__(self) -> None:
        super().__init__()
        self.body: dict[str, str] = {}
        self.images: list[str] = []
        self.leaderboards: list[dict[str, object]] = []
        self._table: dict[str, object] | None = None
        self._in_body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "body":
            self.body = values
        elif tag == "img":
            self.images.append(values.get("src", ""))
        elif tag == "table" and "leaderboard" in values.get("class", "").split():
            self._table = {"attrs": values, "rows": 0}
        elif tag == "tbody" and self._table is not None:
            self._in_body = True
        elif tag == "tr" and self._table is not None and self._in_body:
            self._table["rows"] = int(self._table["rows"]) + 1  # type: ignore[call-overload]

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_body = False
        elif tag == "table" and self._table is not None:
            self.leaderboards.append(self._table)
            self._table = None


def _checked(out: Path, profile: Path) -> _Dom:
    """``out/index.html`` loaded in Chromium with the check script; the DOM it left."""
    page = (out / "index.html").read_text(encoding="utf-8")
    probe = out / "_browser_check.html"  # beside index.html, so the relative image paths resolve the same way
    probe.write_text(page.replace("</body>", CHECK + "</body>"), encoding="utf-8")
    try:
        done = _chromium(profile, "--dump-dom", probe.as_uri())
    finally:
        probe.unlink()
    assert done.returncode == 0, done.stderr[-2000:]
    dom = _Dom()
    dom.feed(done.stdout)
    assert dom.body.get("data-checked") == "yes", "the check script did not run: " + done.stdout[:500]
    return dom


def test_report_loads_in_chromium_with_every_image_and_row(rich_report, tmp_path):
    out: Path = rich_report.out
    page = (out / "index.html").read_text(encoding="utf-8")
    dom = _checked(out, tmp_path / "profile")

    expected_images = page.count("<img ")
    assert expected_images == 12
    assert int(dom.body["data-images"]) == expected_images == len(dom.images)
    assert dom.body["data-broken-images"] == "0", dom.images

    # One leaderboard per dataset; rows shown = rows claimed = finished searched trials in the database (top 10).
    data = load_results(rich_report.url)
    assert [t["attrs"]["data-dataset"] for t in dom.leaderboards] == data.datasets  # type: ignore[index]
    for table in dom.leaderboards:
        attrs = table["attrs"]
        dataset = attrs["data-dataset"]  # type: ignore[index]
        stored = len(tables.finished(tables.searched(data.trials[data.trials["dataset"] == dataset])))
        assert table["rows"] == int(attrs["data-rows"]) == min(10, stored), dataset  # type: ignore[index]
        assert int(attrs["data-finished"]) == stored  # type: ignore[index]
    assert dom.body["data-leaderboard-rows"] == "beans=9;digits=6"
    assert dom.body["data-finalist-rows"] == ""  # nothing was repeated


def test_repeats_show_in_the_finalists_tables_and_never_in_the_leaderboards(finalists_report, tmp_path):
    dom = _checked(finalists_report.out, tmp_path / "profile")
    assert dom.body["data-broken-images"] == "0", dom.images
    data = load_results(finalists_report.url)
    repeats = tables.repeats(data.trials).groupby("dataset").size()
    searched = tables.finished(tables.searched(data.trials)).groupby("dataset").size()
    assert dom.body["data-finalist-rows"] == ";".join(f"{d}={repeats[d]}" for d in data.datasets if d in repeats)
    assert dom.body["data-leaderboard-rows"] == ";".join(f"{d}={searched[d]}" for d in data.datasets)
    assert dom.body["data-finalist-rows"] == "cifar=2;flowers=10" and dom.body["data-leaderboard-rows"] == (
        "cifar=2;digits=2;flowers=5"
    )


def test_report_screenshot_is_not_blank(rich_report, tmp_path):
    from PIL import Image

    shot = tmp_path / "report.png"
    page = (rich_report.out / "index.html").as_uri()
    done = _chromium(tmp_path / "profile", f"--screenshot={shot}", "--window-size=1400,3000", page)
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    with Image.open(shot) as image:
        assert image.size == (1400, 3000)
        colors = image.convert("RGB").resize((350, 750)).getcolors(maxcolors=1_000_000)
    assert colors is not None and len(colors) > 200  # text, tables and a plot, not an empty page
