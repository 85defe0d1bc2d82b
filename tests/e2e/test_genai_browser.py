"""The chat page in headless Chromium (Debian's chromium and chromedriver, `make browser`): a
person types a question, the page posts it as the Spring PetClinic front-end does, and the
answer appears as rendered Markdown; text from PetClinic's data never becomes markup; while a
request runs the page shows it is thinking and Send is disabled; a refusal shows its reason; a
long word wraps; the page has a favicon and no console errors. Screenshots are saved in
artifacts/genai-browser/ (gitignored; TEST_ARTIFACTS overrides the folder) for a person to look
at. Skipped without the browser on a developer's machine; CI installs it, and there a missing
browser fails the test."""

from __future__ import annotations

import os
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from petclinic_local import genai
from petclinic_local.cloud import LocalCloud
from petclinic_local.genai_api import GenAiApiServer

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("genai-browser")]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path(shutil.which("chromedriver") or "/usr/bin/chromedriver")
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS") or Path(__file__).resolve().parents[2] / "artifacts")


def _browser_or_skip() -> None:
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return
    message = f"no {CHROMIUM} or chromedriver: run `make browser` (apt-get install chromium chromium-driver)"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must run this test", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[LocalCloud, GenAiApiServer]]:
    _browser_or_skip()
    with LocalCloud() as cloud, GenAiApiServer(cloud) as server:
        yield cloud, server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _browser_or_skip()
    from selenium import webdriver  # noqa: PLC0415
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=900,800"):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(browser: Any, name: str) -> Path:
    folder = ARTIFACTS / "genai-browser"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    assert browser.save_screenshot(str(path)), path
    return path


def bot_bubbles(browser: Any) -> list[Any]:
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    return list(browser.find_elements(By.CSS_SELECTOR, ".chat-bubble.bot:not(.thinking)"))


def send(browser: Any, url: str, question: str, *, fresh: bool = True) -> None:
    """Type (or, for a long text, set) the question and press Send."""
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    if fresh:
        browser.get(f"{url}/")
    field = browser.find_element(By.ID, "chatbox-input")
    if len(question) > 200:
        browser.execute_script("arguments[0].value = arguments[1];", field, question)
    else:
        field.send_keys(question)
    browser.find_element(By.ID, "chatbox-send").click()


def ask_on_the_page(browser: Any, url: str, question: str, *, fresh: bool = True) -> Any:
    """The bot's bubble that answers ``question`` (a WebElement)."""
    from selenium.webdriver.support.ui import WebDriverWait  # noqa: PLC0415

    before = 0 if fresh else len(bot_bubbles(browser))
    send(browser, url, question, fresh=fresh)
    WebDriverWait(browser, 60).until(lambda b: len(bot_bubbles(b)) > before)
    return bot_bubbles(browser)[-1]


def test_an_answer_is_rendered_as_markdown(served: tuple[LocalCloud, GenAiApiServer], browser: Any) -> None:
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    _, server = served
    answer = ask_on_the_page(browser, server.url, "Which vets are radiologists?")
    assert "Helen Leary" in answer.text
    assert "Henry Stevens" in answer.text
    assert "**" not in answer.text  # today's **Helen Leary** showed its asterisks
    assert "Helen Leary" in [strong.text for strong in answer.find_elements(By.TAG_NAME, "strong")]
    assert ("POST", "/api/genai/chatclient", 200) in server.requests
    screenshot(browser, "markdown-answer")


def test_text_from_petclinics_data_never_becomes_markup(
    served: tuple[LocalCloud, GenAiApiServer], browser: Any
) -> None:
    """Owners stored before the tools validated their input: their names reach the answer."""
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    cloud, server = served
    owners = cloud.petclinic_http.data.owners
    hostile = {
        98: ("<img src=x onerror=window.hacked=1>", "<script>window.hacked=2</script>"),
        99: ("[click](javascript:window.hacked=3)", "&lt;b&gt;Bold&lt;/b&gt;"),
    }
    for owner_id, (first, last) in hostile.items():
        owners[owner_id] = {**owners[1], "id": owner_id, "firstName": first, "lastName": last, "pets": []}
    try:
        answer = ask_on_the_page(browser, server.url, "List the owners of the clinic, please.")
    finally:
        for owner_id in hostile:
            del owners[owner_id]
    assert "<img src=x onerror=window.hacked=1>" in answer.text
    assert "<script>window.hacked=2</script>" in answer.text
    assert "[click](javascript:window.hacked=3)" in answer.text
    assert "<b>Bold</b>" in answer.text or "&lt;b&gt;Bold&lt;/b&gt;" in answer.text
    for tag in ("img", "script", "a", "b"):
        assert answer.find_elements(By.TAG_NAME, tag) == [], tag
    assert browser.execute_script("return window.hacked === undefined")
    screenshot(browser, "hostile-data-as-text")


def test_while_a_request_runs_the_page_is_thinking_and_send_is_disabled(
    served: tuple[LocalCloud, GenAiApiServer], browser: Any
) -> None:
    from selenium.webdriver.common.by import By  # noqa: PLC0415
    from selenium.webdriver.support.ui import WebDriverWait  # noqa: PLC0415

    cloud, server = served
    cloud.bedrock.inject(genai.HAIKU, latency=2.0)
    try:
        send(browser, server.url, "Which vets do surgery?")
        button = browser.find_element(By.ID, "chatbox-send")
        thinking = WebDriverWait(browser, 10).until(
            lambda b: b.find_elements(By.CSS_SELECTOR, ".chat-bubble.thinking")
        )
        assert thinking[0].is_displayed()
        assert thinking[0].text.startswith("Thinking")
        assert not button.is_enabled()
        screenshot(browser, "thinking")
        WebDriverWait(browser, 60).until(bot_bubbles)
    finally:
        cloud.bedrock.clear()
    assert "Rafael Ortega" in bot_bubbles(browser)[-1].text
    assert browser.find_elements(By.CSS_SELECTOR, ".chat-bubble.thinking") == []
    assert button.is_enabled()


def test_a_refusal_is_shown_with_its_reason(served: tuple[LocalCloud, GenAiApiServer], browser: Any) -> None:
    _, server = served
    answer = ask_on_the_page(browser, server.url, "x" * 2500)
    assert answer.text == "The message is 2500 characters long; the limit is 2000."
    assert "error" in (answer.get_attribute("class") or "")
    assert ("POST", "/api/genai/chatclient", 400) in server.requests
    screenshot(browser, "refusal-with-reason")


def test_when_no_model_answers_the_page_says_chat_is_unavailable(
    served: tuple[LocalCloud, GenAiApiServer], browser: Any
) -> None:
    cloud, server = served
    cloud.bedrock.inject(genai.HAIKU, "ServiceUnavailableException")
    cloud.bedrock.inject(genai.TITAN, "ServiceUnavailableException")
    try:
        answer = ask_on_the_page(browser, server.url, "Which vets do surgery?")
        assert answer.text == "Chat is currently unavailable"
        assert "error" in (answer.get_attribute("class") or "")
        assert ("POST", "/api/genai/chatclient", 503) in server.requests
    finally:
        cloud.bedrock.clear()


def test_a_long_word_wraps_inside_its_bubble(served: tuple[LocalCloud, GenAiApiServer], browser: Any) -> None:
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    _, server = served
    word = "Supercalifragilistic" * 12
    ask_on_the_page(browser, server.url, f"hello {word}")
    [mine] = browser.find_elements(By.CSS_SELECTOR, ".chat-bubble.user")
    assert word in mine.text.replace("\n", "")
    widths = browser.execute_script(
        "const b = arguments[0], m = document.getElementById('chatbox-messages');"
        "return [b.scrollWidth, b.clientWidth, m.scrollWidth, m.clientWidth];",
        mine,
    )
    assert widths[0] <= widths[1] + 1, widths
    assert widths[2] <= widths[3] + 1, widths
    screenshot(browser, "long-word-wraps")


def test_the_page_has_a_favicon_and_no_console_errors(
    served: tuple[LocalCloud, GenAiApiServer], browser: Any
) -> None:
    _, server = served
    browser.get_log("browser")  # drop what earlier tests logged
    ask_on_the_page(browser, server.url, "hello")
    href = browser.execute_script("return document.querySelector('link[rel=icon]').href")
    for path in (href, f"{server.url}/favicon.ico"):
        with urllib.request.urlopen(path, timeout=10) as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "image/svg+xml"
            assert response.read().startswith(b"<svg")
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []
    assert ("GET", "/favicon.svg", 200) in server.requests
