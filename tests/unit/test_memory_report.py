"""The memory-over-trials benchmark's report: its own section of RESULTS.md, and the figures it derives."""

from __future__ import annotations

from perf.memory_over_trials import SECTION, summary, table, write_section


def rows(peaks, others, drivers):
    return [{"n": i + 1, "trial_id": f"t{i}", "start": {},
             "end": {"worker_pid": 100 + i, "worker_peak_rss_mb": p, "other_ray_processes": 2,
                     "other_ray_rss_mb": o, "driver_rss_mb": d}}
            for i, (p, o, d) in enumerate(zip(peaks, others, drivers))]


def test_summary_compares_the_first_and_last_five_trials():
    text = summary(rows([800] * 5 + [810] * 5 + [900] * 5, [300] * 15, [700] * 10 + [760] * 5))
    assert "trial worker's peak RSS: 800 MiB (trials 1-5) -> 900 MiB (trials 11-15), +100 MiB" in text
    assert "other Ray processes' RSS at a trial's end: 300 MiB (trials 1-5) -> 300 MiB (trials 11-15), +0 MiB" in text
    assert "driver RSS: 700 MiB (trials 1-5) -> 760 MiB (trials 11-15), +60 MiB" in text
    assert "15 distinct worker processes for 15 trials" in text
    assert table(rows([812.4], [300], [700])).splitlines()[-1] == "| 1 | 100 | 812 | 2 | 300 | 700 |"


def test_the_section_is_replaced_and_the_others_kept(tmp_path):
    path = tmp_path / "RESULTS.md"
    path.write_text("# Benchmark results\n\n## Speed\n\nfast\n")
    write_section(path, "first")
    write_section(path, "second")
    text = path.read_text()
    assert text.count(SECTION) == 1 and "second" in text and "first" not in text
    assert text.startswith("# Benchmark results\n\n## Speed\n\nfast\n")
    path.write_text(text + "## Later\n\nkept\n")
    write_section(path, "third")
    assert path.read_text().endswith("## Later\n\nkept\n") and "third" in path.read_text()
