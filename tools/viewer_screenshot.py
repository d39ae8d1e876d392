"""Screenshots of a viewer page in headless chromium (for docs/):

    python tools/viewer_screenshot.py VIEW.html OUT_PREFIX FRAME [FRAME ...]

writes OUT_PREFIX_<frame>.png (1200x700) for each frame, with the browser the tests use
(tests/browser_harness.py: Debian's chromium + chromedriver through selenium).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from browser_harness import chromium, wait_for


def main(page: str, prefix: str, frames: list[int]) -> None:
    with chromium() as d:
        d.get(Path(page).resolve().as_uri())
        wait_for(d, "window.structpose && window.structpose.ready")
        for f in frames:
            d.execute_async_script("const done = arguments[arguments.length - 1];"
                                   f"window.structpose.setFrame({f}).then(done);")
            d.save_screenshot(f"{prefix}_{f}.png")
            print(f"wrote {prefix}_{f}.png")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], [int(f) for f in sys.argv[3:]])
