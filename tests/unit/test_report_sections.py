"""Report sections are modules the report lists: a new one shows up in both formats, with its plot listed."""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import pytest

from reports import plots, sections
from reports.build import PLOT_LIST, main
from reports.document import Paragraph, Section, Table
from reports.sections.base import Context, figure

PARAGRAPH = "Tiny section: every dataset gets a word of its own."


class TinySection:
    """A section declared the way the listed modules are: build(context) and the plot kinds it writes."""

    PLOTS = ("tiny",)

    @staticmethod
    def build(context: Context) -> Section:
        path = context.plot_path("tiny")
        fig, ax = plt.subplots(figsize=(2, 2))
        ax.plot([0, 1], [0, 1])
        plots.save(fig, path)
        return context.subsection("Tiny", "tiny").add(
            Paragraph(PARAGRAPH),
            Table(
                ["Dataset", "Trials"],
                [[context.dataset or "all", str(len(context.trials))]],
                caption="Tiny table",
                numeric=[False, True],
                css_class="tiny",
            ),
            figure(path, f"Tiny plot of {context.dataset}"),
        )


@pytest.fixture
def one_dataset(fake_results):
    fake_results.run("s1", "beans", [{"trial_id": "a", "backbone": "custom_cnn", "val_accuracy": 0.7},
                                     {"trial_id": "b", "backbone": "mobilenet_v2", "val_accuracy": 0.8}])  # fmt: skip
    return fake_results


def _build(fake, out, capsys) -> tuple[list[str], str, str]:
    assert main(["--db", fake.url, "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    wrote = [line.removeprefix("wrote ") for line in captured.out.splitlines() if line.startswith("wrote ")]
    return wrote, (out / "leaderboard.md").read_text(), (out / "index.html").read_text()


def test_a_listed_section_module_is_rendered_in_both_formats_and_its_plot_listed(one_dataset, tmp_path, capsys,
                                                                                  monkeypatch):  # fmt: skip
    monkeypatch.setattr(sections, "DATASET_SECTIONS", [*sections.DATASET_SECTIONS, TinySection])
    out = tmp_path / "report"
    wrote, markdown, page = _build(one_dataset, out, capsys)
    plot = out / "plots" / "01-beans-tiny.png"
    assert str(plot) in wrote and plot.stat().st_size > 1000
    assert "### Tiny" in markdown and PARAGRAPH in markdown
    assert "**Tiny table**\n\n| Dataset | Trials |\n|:---|---:|\n| beans | 2 |" in markdown
    assert "![Tiny plot of beans](plots/01-beans-tiny.png)" in markdown
    assert '<section id="dataset-1-beans-tiny"><h3>Tiny</h3>' in page and f"<p>{PARAGRAPH}</p>" in page
    assert '<table class="tiny">' in page and '<td class="text-cell">beans</td><td class="num">2</td>' in page
    assert '<img src="plots/01-beans-tiny.png" alt="Tiny plot of beans">' in page
    assert '<li><a href="#dataset-1-beans-tiny">Tiny</a></li>' in page  # in the table of contents
    assert markdown.index("### Tiny") > markdown.index("### Accuracy against cost")  # last in the dataset's list
    # The plots build lists are exactly the figures of the report, in order.
    images = [out / src for src in re.findall(r'<img src="([^"]+)"', page)]
    assert wrote[2:] == [str(path) for path in images]
    # A later build without the section removes its plot (it was listed), and leaves other files alone.
    (out / "plots" / "mine.png").write_bytes(b"a user's file")
    monkeypatch.undo()
    wrote, markdown, _ = _build(one_dataset, out, capsys)
    assert not plot.exists() and str(plot) not in wrote and "Tiny" not in markdown
    assert (out / "plots" / "mine.png").exists()
    assert (out / "plots" / PLOT_LIST).read_text().splitlines() == [path.rsplit("/", 1)[1] for path in wrote[2:]]


def test_a_report_wide_section_is_built_once(one_dataset, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sections, "SECTIONS", [*sections.SECTIONS[:1], TinySection, *sections.SECTIONS[1:]])
    wrote, markdown, page = _build(one_dataset, tmp_path / "report", capsys)
    assert str(tmp_path / "report" / "plots" / "tiny.png") in wrote
    assert markdown.count(PARAGRAPH) == 1 and "| all | 2 |" in markdown  # no dataset: the context has all trials
    assert "\n## Tiny\n" in markdown and page.index('<section id="tiny"><h2>Tiny</h2>') < page.index('id="backbones"')


def test_plot_names_are_recognised_from_the_listed_sections(monkeypatch):
    for name in ("family-comparison.png", "02-gone-cost.png", "01-beans-confusion-matrix.png", "12-a-b-progress.png"):
        assert sections.is_plot_name(name), name
    for name in ("mine.png", "02-x-other.png", "2-beans-cost.png", "02--cost.png", "01-Beans-cost.png", "01-tiny.png"):
        assert not sections.is_plot_name(name), name
    assert not sections.is_plot_name("01-beans-tiny.png")
    monkeypatch.setattr(sections, "DATASET_SECTIONS", [*sections.DATASET_SECTIONS, TinySection])
    assert sections.is_plot_name("01-beans-tiny.png")
