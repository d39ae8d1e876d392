"""Screenshots of a viewer page in headless chromium (for docs/):

    python tools/viewer_screenshot.py VIEW.html OUT_PREFIX FRAME [FRAME ...]

writes OUT_PREFIX_<frame>.png at 1200x700 for each frame (Debian's chromium + chromedriver, selenium).
"""
import sys
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--force-device-scale-factor=1", "--window-size=1200,700", "--enable-unsafe-swiftshader",
         "--use-angle=swiftshader"]


def main(page: str, prefix: str, frames: list[int]) -> None:
    with tempfile.TemporaryDirectory() as profile:
        opts = webdriver.ChromeOptions()
        for a in FLAGS + [f"--user-data-dir={profile}"]:
            opts.add_argument(a)
        opts.binary_location = "/usr/bin/chromium"
        d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
        try:
            d.get(Path(page).resolve().as_uri())
            while not d.execute_script("return !!(window.structpose && window.structpose.ready)"):
                time.sleep(0.05)
            for f in frames:
                d.execute_async_script("const done = arguments[arguments.length - 1];"
                                       f"window.structpose.setFrame({f}).then(done);")
                d.save_screenshot(f"{prefix}_{f}.png")
                print(f"wrote {prefix}_{f}.png")
        finally:
            d.quit()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], [int(f) for f in sys.argv[3:]])
