"""The chat page in headless Chromium (Debian's chromium and chromedriver, `make browser`): a
person types a question, the page posts it as the Spring PetClinic front-end does, and the
answer appears. Skipped without the browser on a developer's machine; CI installs it, and there
a missing browser fails the test."""

from __future__ import annotations

import os
import shutil
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
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def ask_on_the_page(browser: Any, url: str, question: str) -> str:
    from selenium.webdriver.common.by import By  # noqa: PLC0415
    from selenium.webdriver.support.ui import WebDriverWait  # noqa: PLC0415

    browser.get(f"{url}/")
    before = len(browser.find_elements(By.CSS_SELECTOR, ".chat-bubble.bot"))
    field = browser.find_element(By.ID, "chatbox-input")
    field.send_keys(question)
    browser.find_element(By.ID, "chatbox-send").click()
    WebDriverWait(browser, 60).until(
        lambda b: len(b.find_elements(By.CSS_SELECTOR, ".chat-bubble.bot")) > before
    )
    return str(browser.find_elements(By.CSS_SELECTOR, ".chat-bubble.bot")[-1].text)


def test_a_question_typed_in_the_chat_box_is_answered(
    served: tuple[LocalCloud, GenAiApiServer], browser: Any
) -> None:
    _, server = served
    answer = ask_on_the_page(browser, server.url, "Which vets are radiologists?")
    assert "Helen Leary" in answer
    assert "Henry Stevens" in answer
    assert ("POST", "/api/genai/chatclient", 200) in server.requests


def test_when_no_model_answers_the_page_says_chat_is_unavailable(
    served: tuple[LocalCloud, GenAiApiServer], browser: Any
) -> None:
    cloud, server = served
    cloud.bedrock.inject(genai.HAIKU, "ServiceUnavailableException")
    cloud.bedrock.inject(genai.TITAN, "ServiceUnavailableException")
    try:
        assert (
            ask_on_the_page(browser, server.url, "Which vets do surgery?") == "Chat is currently unavailable"
        )
        assert ("POST", "/api/genai/chatclient", 503) in server.requests
    finally:
        cloud.bedrock.clear()
