"""The benchmark's results file: each item rewrites its own section and keeps everything else."""

from __future__ import annotations

from benchmarks.perf.report import Row, Section, render, update_results


def _section(key: str, value: str) -> Section:
    return Section(key, f"title {key}", f"python -m benchmarks.perf --only {key}", "setup",
                   [Row("ratio", value, ">= 0.95", value >= "0.95")], machine="cpu", date="today")


def test_a_section_is_replaced_in_place_and_other_sections_are_kept(tmp_path):
    path = tmp_path / "RESULTS.md"
    path.write_text("# Performance results\n\nintro\n\n## Memory over trials\n\nwritten by another tool\n")
    update_results([_section("cache", "0.50"), _section("pipeline", "0.90")], path)
    update_results([_section("pipeline", "0.99")], path)
    text = path.read_text()
    assert "## Memory over trials\n\nwritten by another tool" in text
    assert text.count("<!-- perf:pipeline:start -->") == 1 and "0.90" not in text and "| ratio | 0.99 |" in text
    assert text.index("perf:pipeline:start") < text.index("perf:cache:start")  # benchmark order, whatever the call order
    assert "| ratio | 0.50 | >= 0.95 | NOT met |" in text


def test_a_section_names_its_command_machine_and_date():
    text = render(_section("asha", "1.00"))
    assert "Command: `python -m benchmarks.perf --only asha`" in text
    assert "Machine: cpu" in text and "Date: today" in text
