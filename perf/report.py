"""Result tables, the machine they were measured on, and their sections of ``benchmarks/RESULTS.md``."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
from importlib import metadata
from pathlib import Path

__all__ = ["Row", "Section", "machine", "render", "update_results"]

RESULTS = Path(__file__).resolve().parents[1] / "RESULTS.md"
TITLE = "# Performance results"
INTRO = (
    "Measured by `python -m perf` (see the README's Performance section). Each section below is\n"
    "rewritten by the command it names; figures are ratios or counts taken in one run, both sides back to back,\n"
    "on the machine it names. Sections written by other tools are kept as they are."
)


@dataclasses.dataclass
class Row:
    """One line of a result table: what was measured, its value, and the target it is judged against, if any."""

    measure: str
    value: str
    target: str = ""
    met: bool | None = None  # None: no target

    @property
    def verdict(self) -> str:
        """``met`` or ``NOT met`` against the target; empty for a row without one."""
        return "" if self.met is None else ("met" if self.met else "NOT met")


@dataclasses.dataclass
class Section:
    """One item's part of RESULTS.md: its command, setup, rows and notes, and the machine and date of the run.

    ``key`` names its markers in the file, so a later run of the item replaces this section and only it.
    """

    key: str  # pipeline, harness, cache, asha, e2e, gpu, time-to-accuracy
    title: str
    command: str
    setup: str  # what was measured, in a sentence or two
    rows: list[Row]
    notes: list[str] = dataclasses.field(default_factory=list)
    machine: str = ""
    date: str = ""


def _version(package: str) -> str:
    for name in (package, f"{package}-cpu"):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "not installed"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages as ``1.4 / 0.3 / 0.1``, or ``?`` where the system has none."""
    try:
        return " / ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def machine() -> str:
    """CPU model and cores, memory, GPUs, library versions: one line, from the environment a run records."""
    from records.environment import collect_environment

    env = collect_environment()
    packages = ["tensorflow", "keras", "ray", "optuna"]
    if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        packages.append(os.environ["KERAS_BACKEND"])
    versions = ", ".join(f"{p} {_version(p)}" for p in packages)
    cpu = f"{env['cpu']['model']}, {env['cpu']['cores']} cores"
    memory = env["memory_bytes"]
    gpus = [str(gpu.get("name")) for gpu in env["gpus"]]
    return (f"{cpu}, {memory / 2**30:.0f} GiB" if memory else cpu) + (
        f", {', '.join(gpus) if gpus else 'no GPU'}; Python {env['python']}, {versions}"
    )


def now() -> str:
    """The current UTC time to the minute (``2024-05-01 14:03 UTC``), as a section's date."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def table(rows: list[Row]) -> list[str]:
    """The Markdown lines of a measure/value/target/verdict table of ``rows``, header first."""
    lines = ["| measure | value | target | |", "|---|---|---|---|"]
    lines += [f"| {r.measure} | {r.value} | {r.target} | {r.verdict} |" for r in rows]
    return lines


def render(section: Section) -> str:
    """The Markdown of one section, between its markers."""
    lines = [
        f"<!-- perf:{section.key}:start -->",
        f"## {section.title}",
        "",
        f"Command: `{section.command}`  ",
        f"Machine: {section.machine}  ",
        f"Date: {section.date}",
        "",
        section.setup,
        "",
        *table(section.rows),
    ]
    if section.notes:
        lines += ["", *[f"- {note}" for note in section.notes]]
    lines.append(f"<!-- perf:{section.key}:end -->")
    return "\n".join(lines)


ORDER = ("pipeline", "harness", "cache", "asha", "e2e", "gpu", "time-to-accuracy")


def update_results(sections: list[Section], path: Path = RESULTS) -> Path:
    """Replace these sections in ``path`` (or add them, in benchmark order), keeping everything else."""
    text = path.read_text() if path.exists() else f"{TITLE}\n\n{INTRO}\n"
    for section in sections:
        block = render(section)
        pattern = re.compile(rf"<!-- perf:{section.key}:start -->.*?<!-- perf:{section.key}:end -->", re.S)
        if pattern.search(text):
            text = pattern.sub(lambda _: block, text)
            continue
        # Before the first later perf section, else after the last earlier one, else at the end.
        later = [k for k in ORDER[ORDER.index(section.key) + 1 :] if f"<!-- perf:{k}:start -->" in text]
        if later:
            at = text.index(f"<!-- perf:{later[0]}:start -->")
            text = text[:at] + block + "\n\n" + text[at:]
        else:
            earlier = [k for k in ORDER[: ORDER.index(section.key)] if f"<!-- perf:{k}:end -->" in text]
            if earlier:
                end = f"<!-- perf:{earlier[-1]}:end -->"
                at = text.index(end) + len(end)
                text = text[:at] + "\n\n" + block + text[at:]
            else:
                text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text if text.endswith("\n") else text + "\n")
    return path
