"""Console fixtures: Debian's headless chromium (installed here when missing) driven by
selenium, and a helper that signs a browser in to a running service."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service as DriverService
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait

from tests.service.conftest import RunningService, service_factory, start_worker

__all__ = ["service_factory", "start_worker"]

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def ensure_chromium() -> None:
    """Install Debian's chromium and its driver when missing (CI runs as root); a failure
    fails the tests, it does not skip them."""
    if shutil.which("chromium") and shutil.which("chromedriver"):
        return
    for argv in (
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "--no-install-recommends", "chromium", "chromium-driver"],
    ):
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            pytest.fail(f"cannot install chromium ({' '.join(argv)}): {done.stderr[-1000:]}")


@pytest.fixture(scope="session")
def browser() -> Iterator[webdriver.Chrome]:
    ensure_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    options.add_argument("--window-size=1280,900")
    driver = webdriver.Chrome(service=DriverService(DRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


class Shots:
    """Screenshots of each step, kept under the test's temp folder."""

    def __init__(self, driver: webdriver.Chrome, folder: Path) -> None:
        self.driver, self.folder, self.count = driver, folder, 0
        folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, name: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        self.driver.save_screenshot(str(path))
        return path


@pytest.fixture
def shots(browser: webdriver.Chrome, tmp_path: Path) -> Shots:
    browser.delete_all_cookies()
    return Shots(browser, tmp_path / "screenshots")


def sign_in(browser: webdriver.Chrome, service: RunningService, key: str | None = None) -> None:
    browser.get(service.url + "/admin/login")
    browser.find_element(By.NAME, "key").send_keys(key or service.admin_key)
    submit(browser, browser.find_element(By.CSS_SELECTOR, "form button[type=submit]"))


def submit(browser: webdriver.Chrome, button: WebElement) -> None:
    """Click a form's button and wait until the answer has replaced the page (on a busy
    machine the next step could otherwise still see the old one)."""
    button.click()

    def replaced(driver: webdriver.Chrome) -> bool:
        try:
            button.is_enabled()
        except WebDriverException:  # stale, or chromium's "node does not belong to the document"
            return bool(driver.execute_script("return document.readyState") == "complete")
        return False

    WebDriverWait(browser, 60).until(replaced)


def text(browser: webdriver.Chrome) -> str:
    return str(browser.find_element(By.TAG_NAME, "body").text)


Signer = Callable[[webdriver.Chrome, RunningService], None]
