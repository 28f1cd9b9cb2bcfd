"""The page in real headless Chromium: it shows the caption `caption()`
gives, and hovering or clicking a word redraws the heat map."""

import os
import shutil
import time

import pytest

from keras_captioning.serving import build_app
from tests.serving.conftest import serving

pytestmark = pytest.mark.backend_independent

CHROMEDRIVER = "/usr/bin/chromedriver"
# Where the test leaves its screenshot when this variable names a file
# (docs/_static/serve_page.png was made so).
SCREENSHOT_VARIABLE = "KERAS_CAPTIONING_SERVE_SCREENSHOT"


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="the page test needs selenium"
    )
    binary = chromium()
    if binary is None or not os.path.exists(CHROMEDRIVER):
        pytest.skip(
            "the page test needs Chromium and chromedriver "
            f"({CHROMEDRIVER}): apt-get install chromium chromium-driver"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1000,700",
    ):
        options.add_argument(argument)
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def wait_for(condition, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError("the page did not get there in time")


def test_page_shows_captions_and_attention(
    browser, captioner, image_files, tmp_path
):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    files = image_files[:2]
    expected = captioner.caption(files)
    app = build_app(captioner, model_name="tiny", max_batch_size=2)
    with serving(app) as url:
        browser.get(f"{url}/")
        browser.find_element(By.ID, "files").send_keys("\n".join(files))
        cards = wait_for(
            lambda: (
                [
                    card
                    for card in browser.find_elements(By.CSS_SELECTOR, ".card")
                    if card.get_attribute("data-state") == "done"
                ]
                if len(
                    browser.find_elements(By.CSS_SELECTOR, ".card[data-state]")
                )
                == len(files)
                else None
            )
        )
        shown = [
            card.find_element(By.CSS_SELECTOR, ".text").text for card in cards
        ]
        assert shown == expected
        card = cards[0]
        canvas = card.find_element(By.TAG_NAME, "canvas")

        def drawn():
            return browser.execute_script(
                "return arguments[0].toDataURL();", canvas
            )

        plain = drawn()
        words = card.find_elements(By.CSS_SELECTOR, ".word")
        assert [w.text for w in words] == expected[0].split()
        ActionChains(browser).move_to_element(words[0]).perform()
        first = drawn()
        assert first != plain
        assert canvas.get_attribute("data-word") == "0"
        words[-1].click()
        last = drawn()
        assert canvas.get_attribute("data-word") == str(len(words) - 1)
        assert "active" in words[-1].get_attribute("class")
        assert last != plain and last != first
        # Leaving the word keeps the clicked word's map pinned.
        ActionChains(browser).move_to_element(
            browser.find_element(By.TAG_NAME, "h1")
        ).perform()
        assert drawn() == last
        screenshot = os.environ.get(SCREENSHOT_VARIABLE) or str(
            tmp_path / "serve_page.png"
        )
        assert browser.save_screenshot(screenshot)
