"""Headless chromium for the browser tests (Debian's chromium + chromedriver, driven by selenium)."""
from __future__ import annotations

import contextlib
import shutil
import tempfile
import time

FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--force-device-scale-factor=1", "--window-size=1200,700",
         # WebGL without a GPU: chromium's software rasteriser, which recent chromium allows only when asked
         "--enable-unsafe-swiftshader", "--use-angle=swiftshader"]


@contextlib.contextmanager
def chromium():
    """A selenium Chrome driver on a fresh profile; never downloads a browser or a driver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert browser and driver, "Debian's chromium / chromium-driver are missing: run `make setup`"
    with tempfile.TemporaryDirectory() as profile:
        opts = webdriver.ChromeOptions()
        for a in FLAGS + [f"--user-data-dir={profile}"]:
            opts.add_argument(a)
        opts.binary_location = browser
        d = webdriver.Chrome(service=Service(driver), options=opts)
        try:
            yield d
        finally:
            d.quit()


def wait_for(d, script: str, timeout: float = 30.0) -> None:
    """Poll ``return <script>`` until truthy; fail with the page's status line."""
    deadline = time.time() + timeout
    while not d.execute_script(f"return !!({script})"):
        assert time.time() < deadline, d.execute_script(
            "const s = document.getElementById('status'); return s ? s.textContent : document.title")
        time.sleep(0.05)
