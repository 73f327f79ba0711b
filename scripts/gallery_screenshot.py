"""docs/gallery.png and docs/ads/rounds-strip.png, from a real job on the shipped ads model.

Starts the local stack (scripts/services.Stack: API, worker, sweeper, webhooks, Flower) on a
fresh var dir of its own (SQLite, embedded Redis), submits the 16 briefs of
scripts/demo_ads_briefs.txt (8 English, 8 Chinese) to the model "ads" with the project's client,
waits for the job, then opens its `gallery_url` in headless Chromium with no route but loopback
(tests/browser.py) and, once every image and the served CJK font have loaded, saves the whole
page. It also saves the round-by-round strip (`rounds_url`) of the item that went through the
most rounds. Nothing is picked by hand: the seed is 0, as in `make demo`.

    python -m scripts.gallery_screenshot [--rounds 2] [--out docs/gallery.png]
        [--strip docs/ads/rounds-strip.png] [--width 1600]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image

from client import Client, ClientConfig
from client import calls
from client.files import read_briefs
from config import Settings
from config.embedded import stop_embedded_redis
from scripts.demo import ADS_BRIEFS_FILE, create_api_key
from scripts.services import ROOT, Stack
from tests.browser import loaded_image_widths, offline_chromium

MAX_PAGE_HEIGHT = 16000  # pixels; Chromium's screenshots stay sharp well below its limit


def run_job(client: Client, rounds: int, timeout: float) -> tuple[dict[str, Any], list[dict]]:
    """The ads briefs through the stack, as `make demo` submits them; (job, its items)."""
    accepted = client.submit(read_briefs(ADS_BRIEFS_FILE), model="ads", rounds=rounds, seed=0)
    print(f"job {accepted['id']}: submitted, waiting (up to {timeout:.0f} s)")
    job = client.wait(accepted["id"], timeout_s=timeout, poll_s=2)
    items = client.items(job["id"])
    done = sum(item["status"] == "succeeded" for item in items)
    print(f"job {job['id']}: {job['status']}, {done}/{len(items)} items succeeded")
    return job, items


def save_strip(client: Client, items: list[dict], out: Path) -> dict | None:
    """The strip of the item with the most rounds whose strip differs from its image."""
    for item in sorted(items, key=lambda i: -i["rounds_run"]):
        if item["rounds_run"] < 2 or not item.get("rounds_url"):
            break
        strip = client.send(calls.image(item["rounds_url"])).content
        if strip != client.send(calls.image(item["image_url"])).content:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(strip)
            print(f"wrote {out}: item {item['index']} ({item['rounds_run']} rounds) "
                  f"{item['prompt']!r}")
            return item
    print("no item's rounds changed its image: no strip written")
    return None


def screenshot(url: str, out: Path, width: int) -> None:
    """The whole page at `url`, once its images and fonts have loaded."""
    driver = offline_chromium()
    try:
        driver.set_window_size(width, 1000)
        driver.get(url)
        widths = loaded_image_widths(driver)
        height, chrome = driver.execute_script(
            "return [document.documentElement.scrollHeight, outerHeight - innerHeight]")
        driver.set_window_size(width, min(MAX_PAGE_HEIGHT, int(height) + int(chrome)))
        time.sleep(0.5)  # one layout pass at the new size before the capture
        loaded_image_widths(driver)
        out.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(out))
    finally:
        driver.quit()
    compact_png(out)
    print(f"wrote {out}: {len(widths)} images, {sum(w > 0 for w in widths)} loaded, "
          f"page {height} px tall")


def compact_png(path: Path) -> None:
    """Rewrite a screenshot with a 256-colour palette (a page of flat colours and text loses
    nothing visible; the file is about a third of Chromium's)."""
    with Image.open(path) as image:
        palette = image.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT,
                                                dither=Image.Dither.NONE)
    palette.save(path, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="interactor rounds per item")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait for the job")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "gallery.png")
    parser.add_argument("--strip", type=Path, default=ROOT / "docs" / "ads" / "rounds-strip.png")
    parser.add_argument("--width", type=int, default=1600, help="browser window width")
    args = parser.parse_args()
    os.environ.setdefault("RUNTIME_THREADS", "1")  # the worker's torch: one core of a shared box
    with tempfile.TemporaryDirectory(prefix="gallery-shot-") as var_dir:
        settings = Settings(var_dir=Path(var_dir), database_url="", redis_url="",
                            storage_dir=Path(""))
        stack = Stack(settings, log_dir=Path(var_dir) / "logs")
        try:
            stack.migrate()
            stack.start()
            config = ClientConfig(base_url=stack.api_url, api_key=create_api_key(stack, "docs"))
            with Client(config) as client:
                job, items = run_job(client, args.rounds, args.timeout)
                save_strip(client, items, args.strip)
            screenshot(job["gallery_url"], args.out, args.width)
        finally:
            stack.stop()
            stop_embedded_redis(settings.var_dir)


if __name__ == "__main__":
    main()
