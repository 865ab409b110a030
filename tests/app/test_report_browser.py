"""report.html of a real conversion, opened in headless Chromium (Debian's, driven by
Playwright): it renders, shows each person's thumbnail and the plots, and logs no errors."""

from __future__ import annotations

import json

import pytest

from tests.helpers import cut_video, debian_tool, run_cli

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@pytest.fixture(scope="module")
def report(demo_video_path, model_paths, tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    clip = cut_video(demo_video_path, root / "clip.mp4", 90)
    out = root / "out"
    proc = run_cli("convert", clip, "-o", out, "--no-preview", "-q")
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.mark.slow
def test_the_report_renders_in_chromium_without_errors(report, tmp_path):
    chromium = debian_tool("chromium", "chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    summary = json.loads((report / "report.json").read_text())
    people = summary["people"]
    assert people
    messages = []
    shot = tmp_path / "report.png"
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.on("console", lambda m: messages.append(f"console {m.type}: {m.text}"))
            page.on("pageerror", lambda e: messages.append(f"page error: {e}"))
            page.goto((report / "report.html").as_uri())
            page.screenshot(path=str(shot), full_page=True)
            images = page.eval_on_selector_all(
                "img", "els => els.map(e => [e.complete, e.naturalWidth, e.naturalHeight])")
            plots = page.eval_on_selector_all(
                "svg", "els => els.map(e => e.getBoundingClientRect().width)")
            headings = page.eval_on_selector_all("h2", "els => els.map(e => e.textContent)")
            legend = page.inner_text("body")
        finally:
            browser.close()
    assert messages == []
    assert shot.stat().st_size > 50_000  # a page with pictures, not a blank one
    # warnings first, then one section per person, each with a decoded thumbnail
    assert headings[0] == "Warnings"
    assert [h for h in headings if h.startswith("Person")] == [f"Person {p['id']}"
                                                              for p in people]
    assert len(images) == len(people)
    assert all(done and w > 20 and h == 220 for done, w, h in images), images
    assert len(plots) == 3 + len(people) and min(plots) > 300  # + a side/top view each
    for p in people:
        assert f"person {p['id']}" in legend
