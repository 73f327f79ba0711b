"""Headless Chromium for the page tests (/docs, the gallery): Debian's chromium and
chromium-driver (.ci/run installs them), with no route out but loopback, and the API served on
a loopback port by uvicorn in a thread."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn

from api.main import create_app
from config import Settings

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
DEAD_PROXY = "http://127.0.0.1:9"  # every non-loopback request goes here and fails: no route out
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="needs Debian's chromium and chromium-driver (.ci/run installs them)")


def offline_chromium():  # noqa: ANN201 - a selenium WebDriver
    """Headless Chromium whose only route is loopback, logging every request it makes."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--proxy-server={DEAD_PROXY}", "--host-resolver-rules=MAP * ~NOTFOUND, "
                "EXCLUDE 127.0.0.1", "--window-size=1280,4000"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return webdriver.Chrome(options=options,
                            service=webdriver.ChromeService(executable_path=CHROMEDRIVER))


def loaded_image_widths(driver, selector: str = "img") -> list[int]:  # noqa: ANN001
    """Once the page's images matching `selector` have decoded (or failed) and its fonts are
    ready: each one's naturalWidth (0 for an image that did not load)."""
    driver.set_script_timeout(60)
    return driver.execute_async_script(
        "const done = arguments[1]; const images = [...document.querySelectorAll(arguments[0])];"
        "Promise.all(images.map(i => i.decode().catch(() => null)))"
        ".then(() => document.fonts.ready)"
        ".then(() => done(images.map(i => i.naturalWidth)));", selector)


def requested_urls(driver) -> list[str]:  # noqa: ANN001
    events = (json.loads(entry["message"])["message"] for entry in driver.get_log("performance"))
    return [event["params"]["request"]["url"] for event in events
            if event["method"] == "Network.requestWillBeSent"]


@contextmanager
def served_app(settings: Settings) -> Iterator[str]:
    """The API on these settings on a free loopback port; yields its base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
