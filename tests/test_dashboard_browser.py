"""End to end: Voila serves the dashboard; headless Chromium loads it, filters, and reads the plot."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

TRACES_JS = "() => document.querySelector('.js-plotly-plot').data.map(t => [t.meta, (t.x || []).length])"


def open_dashboard(browser, server, query: str = "", size: tuple[int, int] = (1400, 1000)):
    page = browser.new_page(viewport={"width": size[0], "height": size[1]}, accept_downloads=True)
    external: list[str] = []
    page.on(
        "request",
        lambda r: (
            external.append(r.url)
            if not r.url.startswith(("http://127.0.0.1", "data:", "blob:", "about:"))
            else None
        ),
    )
    page.goto(server.url + query, timeout=120_000)
    return page, external


def test_dashboard_plots_filters_and_stays_local(browser, voila, tmp_path: Path) -> None:
    server = voila()
    page, external = open_dashboard(browser, server, "?view=time&design=all")
    page.wait_for_selector(".js-plotly-plot .scatterlayer .trace", timeout=120_000)
    before = dict(page.evaluate(TRACES_JS))
    shown = [k for k, n in before.items() if n > 0]
    assert len(shown) >= 2, before
    # tick one therapy in the panel: its trials stay, with their control arms; the rest go, in place
    from explorer.dashboard.state import FilterState, Model
    from explorer.data import load

    from .conftest import DATA

    keep = shown[0]
    labels = page.evaluate("() => document.querySelector('.js-plotly-plot').data.map(t => t.name)")
    metas = [m for m, _ in page.evaluate(TRACES_JS)]
    therapies = page.locator(".explorer-filter[data-filter='therapies']")
    options = therapies.locator("label").all_text_contents()
    therapies.get_by_label(labels[metas.index(keep)], exact=True).check()
    rows = Model(load(DATA)).filtered(FilterState(designs=(), therapies=(keep,)))
    want = {t: len(g) + g["series_id"].nunique() for t, g in rows.groupby("therapy")}  # points + gaps
    page.wait_for_function(
        "([want]) => document.querySelector('.js-plotly-plot').data"
        ".filter(t => !String(t.meta).includes(':')).every(t => (t.x||[]).length === (want[t.meta] || 0))",
        arg=[want],
        timeout=30_000,
    )
    after = dict(page.evaluate(TRACES_JS))
    assert after[keep] == want[keep] > 0
    assert sum(after.values()) < sum(before.values())
    assert "therapy=" + keep in page.locator("a.explorer-share").get_attribute("href")
    assert "match" in page.locator(".explorer-status").inner_text()
    assert len(options) > 2  # "All" and the therapies in the data
    page.screenshot(path=str(tmp_path / "dashboard.png"))
    assert external == [], external
    page.close(run_before_unload=True)


def test_html_in_titles_shows_as_text(browser, voila, data_copy: Path) -> None:
    path = data_copy / "studies.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        r = csv.DictReader(fh)
        header, recs = r.fieldnames, list(r)
    payload = "<img src=x onerror=\"document.title='pwned'\"><b>Bold</b>"
    for rec in recs:
        rec["title"] = payload
        rec["label"] = "<i>Lbl</i> " + rec["label"]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        w.writeheader()
        w.writerows(recs)
    server = voila(data_copy)
    page, _ = open_dashboard(browser, server, "?view=studies&design=all")
    page.wait_for_selector(".explorer-studies", timeout=120_000)
    table_text = page.locator(".explorer-studies").inner_text()
    assert "<b>Bold</b>" in table_text  # shown literally, not rendered
    assert page.locator(".explorer-studies b").count() == 0
    assert page.locator(".explorer-studies img").count() == 0
    assert page.title() != "pwned"
    page.close(run_before_unload=True)


def test_broken_data_shows_clear_message(browser, voila, data_copy: Path) -> None:
    (data_copy / "outcomes.csv").write_text("outcome_id,study_id\nx,y\n", encoding="utf-8")
    server = voila(data_copy)
    page, _ = open_dashboard(browser, server)
    page.wait_for_selector(".explorer-error", timeout=120_000)
    text = page.locator(".explorer-error").inner_text()
    assert "could not be loaded" in text and "outcomes.csv:1:" in text
    assert "Traceback" not in page.content()
    page.close(run_before_unload=True)


def test_url_query_selects_the_starting_view(browser, voila) -> None:
    from explorer.dashboard.state import FilterState, Model
    from explorer.data import load

    from .conftest import DATA

    model = Model(load(DATA))
    rows = model.filtered(FilterState(windows=("short",)))
    therapy = rows[rows["role"] != "comparator"]["therapy"].value_counts().index[0]
    expected = model.filtered(FilterState(therapies=(therapy,), windows=("short",)))
    expected = expected[expected["therapy"] == therapy]  # its trials' control arms are other traces
    n_points = len(expected) + expected["series_id"].nunique()  # points plus one gap per arm
    server = voila()
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(server.url + f"?therapy={therapy}&window=short&view=time&junk=%3Cscript%3E", timeout=120_000)
    page.wait_for_selector(".js-plotly-plot .scatterlayer .trace", timeout=120_000)
    traces = dict(page.evaluate(TRACES_JS))
    assert traces[therapy] == n_points
    controls = model.filtered(FilterState(therapies=(therapy,), windows=("short",)))
    controls = controls[controls["therapy"] != therapy]
    assert (controls["role"] == "comparator").all()
    drawn = sum(n for k, n in traces.items() if k != therapy and ":" not in str(k))
    assert drawn == len(controls) + controls["series_id"].nunique()  # only its trials' control arms
    link = page.locator("a.explorer-share")
    assert link.get_attribute("href") == f"?therapy={therapy}&window=short&view=time"
    assert "junk" in page.locator(".explorer-notice").inner_text()
    page.close(run_before_unload=True)


def test_forest_leave_one_out_and_exports(browser, voila, tmp_path: Path) -> None:
    from .test_effects import build, trial

    data = build(
        tmp_path,
        trial("aaa2020", "10.1000/a", (3.0, 2.0, 40), (4.5, 2.5, 38)),
        trial("bbb2021", "10.1000/b", (2.5, 1.8, 50), (3.1, 2.0, 52)),
        trial("ccc2022", "10.1000/c", (4.0, 2.2, 30), (4.2, 2.1, 31)),
    )
    server = voila(data)
    page, external = open_dashboard(browser, server, "?view=forest&design=all")
    page.wait_for_selector(".js-plotly-plot .scatterlayer .trace", timeout=120_000)
    title = page.locator(".js-plotly-plot .gtitle").first
    before = title.text_content()
    assert before.startswith("Pooled")
    leave = page.locator(".widget-select-multiple select").last  # the forest's "Leave out" list
    first = leave.locator("option").first.inner_text().replace("\xa0", " ")
    leave.select_option(label=first)
    page.wait_for_function(
        "(b) => document.querySelector('.js-plotly-plot .gtitle').textContent !== b",
        arg=before,
        timeout=30_000,
    )
    assert title.text_content() != before
    assert first in page.locator(".explorer-muted").filter(has_text="left out").inner_text()
    # the CSV export downloads the rows of the current selection
    page.get_by_text("Download this selection").click()
    page.wait_for_selector("a.explorer-export", timeout=30_000)
    with page.expect_download() as info:
        page.locator("a.explorer-export", has_text="Data (CSV)").click()
    path = tmp_path / "export.csv"
    info.value.save_as(path)
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and {"study_id", "value", "locator", "dataset_version"} <= set(rows[0])
    assert external == []
    page.close(run_before_unload=True)


def test_empty_selection_message_in_browser(browser, voila) -> None:
    server = voila()
    page, _ = open_dashboard(browser, server, "?outcome=quality_of_life&window=immediate&view=time")
    page.wait_for_selector(".explorer-status", timeout=120_000)
    assert "No study arm with this outcome matches" in page.locator(".explorer-status").inner_text()
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)
    assert "No data for this selection" in page.locator(".js-plotly-plot").inner_text()
    page.close(run_before_unload=True)


LANDING = "table.explorer-sof"  # the findings table, the first view

SCREENSHOTS = [
    ("findings", "?design=all"),
    ("effect-direction", "?design=all&form=plot"),
    ("efficacy-over-time", "?view=time&design=all"),
    ("difference-pooled", "?view=time&show=difference&design=all&inferred=1"),
    ("published-pools", "?view=reviews&therapy=epidural_steroid"),
    ("leg-pain-vs-placebo", "?view=time&show=difference&outcome=leg_pain&therapy=epidural_steroid&comparator=placebo_sham"),
    ("safety", "?view=safety&design=all&therapy=epidural_steroid"),
    ("forest-plot", "?view=forest&design=all"),
    ("evidence-map", "?view=map&design=all"),
    ("summary", "?view=summary&design=all"),
]


def test_screenshots_of_every_view(browser, voila, tmp_path: Path) -> None:
    """Screenshots of the real dashboard; with EXPLORER_SCREENSHOTS=DIR they are kept there (the
    README's images come from this test: EXPLORER_SCREENSHOTS=docs/screenshots pytest -k screenshots)."""
    import os
    import shutil

    server = voila()
    keep = os.environ.get("EXPLORER_SCREENSHOTS")
    for name, query in SCREENSHOTS:
        page, external = open_dashboard(browser, server, query)
        page.wait_for_selector(".explorer-status", timeout=120_000)
        if name == "findings":
            page.wait_for_selector(LANDING, timeout=60_000)
        elif name == "published-pools":
            page.wait_for_selector("table.explorer-reviews", timeout=60_000)
        elif name != "summary":  # every other view draws a plot (the effect-direction one too)
            page.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
        page.wait_for_timeout(500)
        shot = tmp_path / f"{name}.png"
        page.screenshot(path=str(shot), full_page=False)
        assert shot.stat().st_size > 10_000
        assert external == []
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, Path(keep) / shot.name)
        page.close(run_before_unload=True)


def test_evidence_map_click_filters_every_view(browser, voila) -> None:
    server = voila()
    page, _ = open_dashboard(browser, server, "?view=map&design=all")
    page.wait_for_selector(".js-plotly-plot .scatterlayer .point", timeout=120_000)
    page.locator(".js-plotly-plot .scatterlayer .point").first.click(force=True)
    page.wait_for_function(
        "() => (document.querySelector('a.explorer-share')?.getAttribute('href') || '').includes('therapy=')",
        timeout=30_000,
    )
    href = page.locator("a.explorer-share").get_attribute("href")
    assert "therapy=" in href and "indication=" in href and "view=map" in href
    page.close(run_before_unload=True)


def test_preheated_pool_still_reads_the_url(browser, voila) -> None:
    server = voila(pool=1)
    page, external = open_dashboard(browser, server, "?view=studies&design=all&min_n=100")
    page.wait_for_selector(".explorer-studies", timeout=120_000)
    assert "min_n=100" in page.locator("a.explorer-share").get_attribute("href")
    assert external == []
    page.close(run_before_unload=True)


def test_full_server_says_so(browser, voila) -> None:
    server = voila(max_kernels=1)
    first, _ = open_dashboard(browser, server)
    first.wait_for_selector(".explorer-status", timeout=120_000)
    second = browser.new_page()
    response = second.goto(server.url, timeout=120_000)
    assert response is not None and response.status == 503
    assert "try again" in second.content()
    assert "Traceback" not in second.content()
    for page in (first, second):
        page.close(run_before_unload=True)


def test_kernel_death_is_explained_and_others_still_served(browser, voila) -> None:
    import os
    import signal

    server = voila()
    page, _ = open_dashboard(browser, server)
    page.wait_for_selector(LANDING, timeout=120_000)
    for pid in server.kernel_pids():
        os.kill(pid, signal.SIGKILL)
    page.wait_for_selector(".explorer-lost", timeout=60_000)
    assert "lost its connection" in page.locator(".explorer-lost").inner_text()
    assert page.get_by_role("button", name="Reload the page").is_visible()
    other, _ = open_dashboard(browser, server)  # the server keeps serving others
    other.wait_for_selector(LANDING, timeout=120_000)
    for p in (page, other):
        p.close(run_before_unload=True)


NOISE = ("DeprecationWarning", "is not trusted", "without encryption", "403")


def test_closing_the_page_shuts_its_kernel_down(browser, voila, tmp_path: Path) -> None:
    """A closed page's kernel goes within seconds (not at the idle culler's 10 minutes), and the
    server's log shows none of the per-viewer noise (nor a refused shutdown)."""
    import time

    server = voila(cull_idle=600)
    page, external = open_dashboard(browser, server)
    # The page's first sign that its kernel ran the notebook and is connected: the status line
    # (drawn at once, "Pooling the trials…" while the findings table is pooled behind it). This
    # test is about the kernel, not the table: it waits for nothing the kernel does later.
    page.wait_for_selector(".explorer-status", timeout=120_000)
    assert server.kernel_pids()
    page.close(run_before_unload=True)
    deadline = time.monotonic() + 60  # a cap far below the culler's 600 s; the loop ends when the kernel goes
    while server.kernel_pids() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert server.kernel_pids() == []
    assert external == []
    log = (tmp_path / "voila-0.log").read_text(encoding="utf-8", errors="replace")
    assert "Kernel shutdown" in log
    assert not [line for line in log.splitlines() if any(n in line for n in NOISE)], log


def test_plain_voila_in_the_repository_uses_our_template_and_settings(browser, tmp_path: Path) -> None:
    """``voila notebooks/dashboard.ipynb`` from the repository (as Voila users start a dashboard,
    without explorer serve or JUPYTER_PATH) serves our template: no request leaves the machine."""
    import os
    import subprocess
    import sys

    from explorer.serving.harness import free_port
    from explorer.serving.run import stop, wait_until_serving

    from .conftest import ROOT

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("JUPYTER_PATH", "JUPYTER_CONFIG_PATH")}
    with open(tmp_path / "voila.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "voila", "notebooks/dashboard.ipynb", f"--port={port}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            url = f"http://127.0.0.1:{port}/"
            assert wait_until_serving(proc, url, 60), (tmp_path / "voila.log").read_text()
            server = type("Served", (), {"url": url})()
            page, external = open_dashboard(browser, server)
            page.wait_for_selector(LANDING, timeout=120_000)
            assert "voila/templates/explorer/static/fontawesome" in page.content()
            assert external == [], external
            page.close(run_before_unload=True)
        finally:
            stop(proc)


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080), (1024, 768)])
def test_landing_findings_answer_and_open_a_forest_plot(browser, voila, size) -> None:
    """The first view is the findings table with CIs; a row opens its forest plot."""
    server = voila()
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    page.goto(server.url, timeout=120_000)
    page.wait_for_selector(LANDING, timeout=120_000)
    table = page.locator(LANDING)
    assert table.locator("tbody tr").count() >= 10
    assert "95% CI" in table.inner_text() or " to " in table.inner_text()
    assert "Answer (95% CI)" in table.locator("thead").inner_text() and "Trials by direction" in table.locator("thead").inner_text()
    # tab labels are not clipped: each label's text fits its box
    clipped = page.evaluate(
        "() => [...document.querySelectorAll('.lm-TabBar-tabLabel, .p-TabBar-tabLabel')]"
        ".filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)"
    )
    assert clipped == [], clipped
    # the filter panel: instructions first, a fixed width, every option label whole
    panel = page.locator(".explorer-panel")
    assert panel.locator("p").first.inner_text().startswith("Tick what to include")
    box = page.locator(".explorer-filters").bounding_box()
    assert box is not None and 280 <= box["width"] <= 320, box
    cut = page.evaluate(
        "() => [...document.querySelectorAll('.explorer-option span, .explorer-filter > summary')]"
        ".filter(e => e.offsetParent && e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)"
    )
    assert cut == [], cut
    if size[0] >= 1366:  # the whole findings table is in view ("In words" included); narrower, it scrolls
        wrap = page.locator(".explorer-sof-wrap")
        assert wrap.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), wrap.evaluate("e => [e.scrollWidth, e.clientWidth]")
    page.get_by_role("button", name="Forest plot").click()
    page.wait_for_selector(".js-plotly-plot .gtitle", timeout=60_000)
    assert "95% CI" in page.locator(".js-plotly-plot .gtitle").first.text_content()
    page.close(run_before_unload=True)


SIZES = [(1366, 768), (1920, 1080), (1024, 768)]


@pytest.mark.parametrize("size", SIZES)
def test_study_card_opens_with_a_doi_link(browser, voila, size) -> None:
    server = voila()
    page, external = open_dashboard(browser, server, "?view=studies&design=all", size)
    page.wait_for_selector(".explorer-studies", timeout=120_000)
    pick = page.locator(".widget-dropdown select").filter(has=page.locator("option", has_text="(pick a study)"))
    pick.select_option(index=1)
    page.wait_for_selector(".explorer-card a[href^='https://doi.org/10.']", timeout=30_000)
    assert "Every number in the data" in page.locator(".explorer-card").inner_text()
    assert external == []
    page.close(run_before_unload=True)


@pytest.mark.parametrize("size", SIZES)
def test_safety_table_matches_a_count_from_the_csvs(browser, voila, size) -> None:
    """Pain flares after epidural steroid: events added over rows, each arm's denominator once."""
    from .conftest import DATA

    with open(DATA / "arms.csv", newline="", encoding="utf-8") as fh:
        esi = {(r["study_id"], r["arm_id"]) for r in csv.DictReader(fh) if r["therapy"] == "epidural_steroid"}
    events, totals = 0, {}
    with open(DATA / "adverse_events.csv", newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            key = (r["study_id"], r["arm_id"])
            if key in esi and r["event_type"] == "pain_flare" and r["unit"] == "injections":
                events += int(r["events"])
                totals[key] = max(totals.get(key, 0), int(r["total"]))
    assert totals, "the bundled data hold pain-flare counts"
    server = voila()
    page, _ = open_dashboard(browser, server, "?view=safety&design=all&therapy=epidural_steroid", size)
    page.wait_for_selector(".explorer-table", timeout=120_000)
    text = page.locator(".explorer-table").last.inner_text()
    assert f"{events} of {sum(totals.values())} injections" in text
    # the figure draws the same rate: the per-injection bar of pain flare
    page.wait_for_selector(".js-plotly-plot .barlayer", timeout=60_000)
    bars = page.evaluate(
        "() => document.querySelector('.js-plotly-plot')._fullData"  # as drawn (arrays decoded)
        ".filter(t => t.meta === 'epidural_steroid:injections').map(t => [Array.from(t.x), Array.from(t.y)])"
    )
    assert bars, "a per-injection trace for epidural steroid"
    x, y = bars[0]
    flare = next(i for i, label in enumerate(x) if "flare" in label.lower())
    assert y[flare] == pytest.approx(100 * events / sum(totals.values()))
    page.close(run_before_unload=True)


def test_figure_for_a_slide_downloads_with_title_and_sources(browser, voila, tmp_path: Path) -> None:
    server = voila()
    page, external = open_dashboard(browser, server, "?view=time&design=all")
    page.wait_for_selector(".js-plotly-plot .scatterlayer .trace", timeout=120_000)
    page.locator(".js-plotly-plot").first.hover()
    button = page.locator(".modebar-btn[data-title^='Download for a slide']").first
    with page.expect_download(timeout=60_000) as info:
        button.click()
    path = tmp_path / "slide.png"
    info.value.save_as(path)
    assert info.value.suggested_filename.endswith("-slide.png")
    assert path.stat().st_size > 20_000
    import struct

    assert struct.unpack(">II", path.read_bytes()[16:24]) == (1600, 900)  # the PNG's own size
    assert external == []
    page.close(run_before_unload=True)


def test_transforaminal_question_in_two_clicks(browser, voila) -> None:
    """The README's first question: open Approach, tick Transforaminal epidural; the findings
    table then holds the transforaminal trials' comparisons, as the model computes them."""
    from explorer.dashboard.state import FilterState, Model
    from explorer.data import load

    from .conftest import DATA

    model = Model(load(DATA))
    want = model.findings(FilterState(approaches=("transforaminal",)))
    server = voila()
    page, external = open_dashboard(browser, server, "", (1366, 768))
    page.wait_for_selector(LANDING, timeout=120_000)
    approach = page.locator(".explorer-filter[data-filter='approaches']")
    approach.locator("summary").click()  # click 1: open the section
    approach.get_by_label("Transforaminal epidural", exact=True).check()  # click 2
    page.wait_for_function(
        "(n) => document.querySelectorAll('table.explorer-sof tbody tr').length === n", arg=len(want), timeout=60_000
    )
    page.wait_for_function(  # the status line is the last thing an update writes
        "() => !document.querySelector('.explorer-status').textContent.includes('Pooling')", timeout=60_000
    )
    assert "approach=transforaminal" in page.locator("a.explorer-share").get_attribute("href")
    rows = page.locator("table.explorer-sof tbody tr").all_inner_texts()
    placebo = want[(want["therapy"] == "epidural_steroid") & (want["comparator_kind"] == "placebo_sham")]
    assert sum("Epidural steroid injection vs placebo/sham" in r.replace("\n", " ") for r in rows) == len(placebo) > 0
    assert external == []
    page.close(run_before_unload=True)


def test_leg_pain_question_answered_with_published_pools(browser, voila) -> None:
    """'Does an epidural steroid injection reduce leg pain more than placebo, by how much, for how
    long?': the landing table shows, without typing, a published pool per window with its CI in
    points on 0-10, and the efficacy plot draws the same estimates as published pools."""
    from explorer.dashboard.state import FilterState, Model
    from explorer.data import load

    from .conftest import DATA

    model = Model(load(DATA))
    f = model.findings(FilterState())
    esi = f[(f["therapy"] == "epidural_steroid") & (f["comparator_kind"] == "placebo_sham") & (f["outcome"] == "pain")]
    published = esi[esi["published_k"] > 0]
    assert {"immediate", "short"} <= set(published["window"])
    server = voila()
    page, external = open_dashboard(browser, server, "", (1366, 768))
    page.wait_for_selector(LANDING, timeout=120_000)
    rows = [" ".join(r.split()) for r in page.locator("table.explorer-sof tbody tr").all_inner_texts()]
    mine = [r for r in rows if r.startswith("Epidural steroid injection vs placebo/sham") and " Pain " in f" {r} "]
    assert len(mine) == len(esi)
    for text in published["review_short"]:
        first = text.split("; ")[0]
        assert any(first in r for r in mine), first
    assert any("points on 0-10" in r and " to " in r for r in mine)
    page.close(run_before_unload=True)
    state = FilterState(therapies=("epidural_steroid",), comparators=("placebo_sham",), outcome="leg_pain", measure="difference")
    expected = sorted(model.published(state)["shown"].round(6).tolist())
    query = "?view=time&show=difference&outcome=leg_pain&therapy=epidural_steroid&comparator=placebo_sham"
    page, external2 = open_dashboard(browser, server, query, (1366, 768))
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=120_000)
    page.wait_for_function(
        "() => (document.querySelector('.js-plotly-plot').data || []).some(t => String(t.meta).endsWith(':published'))",
        timeout=60_000,
    )
    drawn = page.evaluate(
        "() => document.querySelector('.js-plotly-plot').data.filter(t => String(t.meta).endsWith(':published'))"
        ".flatMap(t => t.y)"
    )
    assert sorted(round(y, 6) for y in drawn) == expected and len(expected) >= 2
    assert external == [] and external2 == []
    page.close(run_before_unload=True)


def font_px(locator) -> float:
    return float(locator.evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))


def test_presentation_mode_scales_every_text_and_esc_leaves_it(browser, voila) -> None:
    """At 1920x1080 in presentation mode the findings table and the summary are at least 20 px
    (not only the plots' text), the plots take most of the screen's height, a control at the top
    leaves the mode, and so does Esc."""
    server = voila()
    page, external = open_dashboard(browser, server, "?present=1", (1920, 1080))
    page.wait_for_selector(LANDING, timeout=120_000)
    assert font_px(page.locator(LANDING)) >= 20
    assert font_px(page.locator(f"{LANDING} tbody td").first) >= 20
    assert font_px(page.locator(".explorer-status")) >= 20
    exit_button = page.get_by_role("button", name="Exit presentation mode (Esc)")
    box = exit_button.bounding_box()
    assert box is not None and box["y"] < 200, box  # at the top, not 3,400 px down
    page.get_by_role("tab", name="Summary").click()
    page.wait_for_selector(".explorer-summary", timeout=120_000)
    assert font_px(page.locator(".explorer-summary p").first) >= 20
    page.get_by_role("tab", name="Efficacy over time").click()
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=120_000)
    height = page.locator(".js-plotly-plot").first.evaluate("e => e.getBoundingClientRect().height")
    assert height >= 0.75 * 1080, height
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("Escape")
    page.wait_for_function("() => !document.querySelector('.explorer-present')", timeout=30_000)
    assert page.get_by_role("button", name="Presentation mode").is_visible()
    assert "present=1" not in (page.locator("a.explorer-share").get_attribute("href") or "")
    assert external == []
    page.close(run_before_unload=True)


@pytest.mark.parametrize("size", [(1024, 768), (1366, 768), (1920, 1080)])
def test_skip_link_sticky_panel_and_nothing_cut(browser, voila, size) -> None:
    """The first Tab stop is "Skip to results" (it moves the focus to the results); the filter
    panel is sticky beside the results; the findings table is not cut (its whole width fits, or
    its scrollbar is in view); the downloads open from the keyboard."""
    server = voila()
    page, external = open_dashboard(browser, server, "", size)
    page.wait_for_selector(LANDING, timeout=120_000)
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent.trim()") == "Skip to results"
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'explorer-results'")
    panel = page.locator(".explorer-filters")
    assert panel.evaluate("e => getComputedStyle(e).position") == "sticky"
    wrap = page.locator(".explorer-sof-wrap")
    right = wrap.evaluate("e => e.getBoundingClientRect().right")
    assert right <= size[0], right  # the table's box ends on the screen (no column cut by the tab)
    fits = wrap.evaluate("e => e.scrollWidth <= e.clientWidth + 1")
    if not fits:  # it scrolls inside a box no taller than the window: the scrollbar is in view
        bottom = wrap.evaluate("e => e.getBoundingClientRect().height")
        assert bottom <= size[1], bottom
    # a short window, so that the page scrolls at every width: the panel stays at the top
    page.set_viewport_size({"width": size[0], "height": 500})
    page.wait_for_function(  # the page's own signal: its layout has taken the new height
        "() => { let e = document.querySelector('.explorer-body').parentElement;"
        " while (e && !(e.scrollHeight > e.clientHeight + 1 && /auto|scroll/.test(getComputedStyle(e).overflowY)))"
        " e = e.parentElement; return !!e; }",
        timeout=30_000,
    )
    scrolled = page.evaluate(  # the page's own scroller (not a table's box) moves down 250 px
        "() => { let e = document.querySelector('.explorer-body').parentElement;"
        " while (e && !(e.scrollHeight > e.clientHeight + 1 && /auto|scroll/.test(getComputedStyle(e).overflowY)))"
        " e = e.parentElement; e = e || document.scrollingElement; e.scrollBy(0, 250); return e.scrollTop; }"
    )
    page.wait_for_timeout(300)
    start = page.evaluate("() => document.querySelector('.explorer-body').getBoundingClientRect().top")
    top = panel.evaluate("e => e.getBoundingClientRect().top")
    assert scrolled > 0 and start < -1, (scrolled, start)  # the results moved up ...
    assert -1 <= top <= 16, top  # ... the panel stayed in view (the page keeps 10 px of padding)
    button = page.get_by_role("button", name="Download this selection (data, citations)")
    button.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("a.explorer-export", timeout=30_000)
    assert external == []
    page.close(run_before_unload=True)
