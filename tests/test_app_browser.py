"""The app in a real browser: Debian's chromium driven by Playwright (never a downloaded one).

Set RECO_SCREENSHOTS=docs/screenshots to also keep the screenshots (tmp_path otherwise).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.fake_index import build_fake_index
from tests.test_app_e2e import serve
from tests.test_conversation import NEED

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
WAIT_MS = 60_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.is_file(), reason="/usr/bin/chromium absent (apt-get install chromium)"
    ),
]


@pytest.fixture(scope="module")
def url(tmp_path_factory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("browser")
    env = {**build_fake_index(root), "RECO_FEEDBACK_DB": str(root / "feedback.sqlite3")}
    with serve(env, root / "app.log") as address:
        yield address


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(url)
    page.locator("#besoin textarea").wait_for()
    yield page
    context.close()


def _keep(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    folder = os.environ.get("RECO_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(folder) / name)
    return path


def _send(page, text: str) -> None:
    page.locator("#besoin textarea").fill(text)
    page.locator("#envoyer").click()


def _wait_answers(page, count: int) -> None:
    page.wait_for_function(
        """n => [...document.querySelectorAll('#chat .bot-row')]
                 .filter(r => !r.innerText.includes('Je cherche')).length >= n""",
        arg=count,
    )


def test_need_shows_cards_then_follow_up(page, tmp_path):
    assert page.get_by_text("Bonjour").first.is_visible()
    _send(page, NEED)
    _wait_answers(page, 1)
    chat = page.locator("#chat")
    assert chat.get_by_text("Limites").first.is_visible()
    assert chat.get_by_text("Perspectives").first.is_visible()
    assert chat.locator("h3").count() >= 3  # the action cards
    assert _keep(page, tmp_path, "chat-answer.png").stat().st_size > 10_000
    _send(page, "dans le 62")
    _wait_answers(page, 2)
    assert chat.get_by_text("Filtres actifs").first.is_visible()
    assert "Pas-de-Calais" in page.locator("#chat .bot-row").last.inner_text()


def test_example_click_sends_the_need(page):
    page.locator("#chat").get_by_text("Des ados traînent le soir").first.click()
    _wait_answers(page, 1)
    assert "J'ai compris" in page.locator("#chat .bot-row").last.inner_text()


def test_markup_is_shown_as_text(page):
    _send(page, "<script>window.pwned = 1</script><img src=x onerror='window.pwned = 2'> jardin")
    _wait_answers(page, 1)
    assert page.evaluate("window.pwned === undefined")
    assert "<script>" in page.locator("#chat .user-row").last.inner_text()


def test_trainer_tab_and_map(page, tmp_path):
    page.get_by_role("tab", name="Formateurs").click()
    page.get_by_text("Carte des actions").first.wait_for()
    cells = page.locator("#actions [role=gridcell]")
    cells.first.wait_for()
    assert page.locator("#actions [role=row]").count() > 10
    cells.first.click()
    page.get_by_text("Identifiant :").first.wait_for()
    _keep(page, tmp_path, "trainer-tab.png")
    page.get_by_role("button", name="Plus comme ceci").click()
    page.get_by_text("Actions les plus proches").first.wait_for()
    page.locator("canvas, svg").last.scroll_into_view_if_needed()
    _keep(page, tmp_path, "trainer-map.png")


def test_report_tab_makes_a_report(page, tmp_path):
    pytest.importorskip("recommender.reports.report")
    needs = tmp_path / "besoins.txt"
    needs.write_text("aide aux devoirs\njardin partagé\n\nsorties familles\n", encoding="utf-8")
    page.get_by_role("tab", name="Rapport").click()
    page.locator("input[type=file]").last.set_input_files(str(needs))
    page.get_by_text("besoins.txt").first.wait_for()
    page.get_by_label("Markdown").check()
    page.get_by_role("button", name="Générer le rapport").click()
    page.get_by_text("Rapport prêt").first.wait_for()
    assert "3 besoin(s)" in page.get_by_text("Rapport prêt").first.inner_text()
    assert page.locator("a[data-testid=download-link][href$='rapport.md']").count() == 1
