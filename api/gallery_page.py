"""The gallery's HTML: one server-rendered page per job, no script, no front-end build.

Every item's image (scaled up; pixel art stays sharp with `image-rendering: pixelated`), its
prompt, its copy when the model wrote one, the control text of every round and, under them, the
round-by-round strip when the rounds changed the image; its status and error; a filter by
status. Chinese text is set in the Noto Sans CJK font the project installs,
served by the API itself, so the page reads the same on a machine without CJK fonts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

STATUSES = ("succeeded", "failed", "running", "pending", "canceled")

STYLE = """
@font-face { font-family: "AlpacaCJK"; src: url("{font_url}"); font-display: block; }
body { font-family: "AlpacaCJK", sans-serif; margin: 1.5rem; color: #1d1d1f; background: #fafafa; }
nav a { margin-right: .8rem; } nav a.on { font-weight: bold; text-decoration: none; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 1rem; }
figure { margin: 0; padding: .8rem; background: #fff; border: 1px solid #ddd; border-radius: 6px; }
figure img { width: 100%; max-height: 600px; object-fit: contain; image-rendering: pixelated;
  background: #eee; }
.status { font-size: .8rem; text-transform: uppercase; letter-spacing: .05em; }
.failed { color: #b00020; } .succeeded { color: #1b7f3b; }
ol { padding-left: 1.2rem; font-size: .85rem; } .copy { font-weight: bold; }
.rounds { display: block; font-size: .8rem; } .rounds img { display: block; width: 100%;
  max-height: 240px; object-fit: contain; object-position: left; margin-top: .3rem; }
"""


@dataclass(frozen=True)
class Card:
    """One item as the page shows it."""

    index: int
    status: str
    prompt: str
    image_url: str | None
    rounds_url: str | None  # the round-by-round strip, where the rounds changed the image
    control_texts: Sequence[str]
    payload: dict[str, Any] | None
    error: str | None


def render(job: dict[str, Any], cards: Sequence[Card], *, page_url: str, font_url: str,
           status: str | None) -> str:
    """The page of a job: header, filter links, one figure per item."""
    title = f"Job {escape(job['id'])}"
    return "\n".join([
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{title}</title>", f"<style>{STYLE.replace('{font_url}', font_url)}</style>",
        "</head><body>", f"<h1>{title}</h1>", _summary(job), _filters(page_url, status),
        '<main class="grid">', *(_figure(card) for card in cards), "</main></body></html>",
    ])


def _summary(job: dict[str, Any]) -> str:
    return (f'<p><span class="status {escape(job["status"])}">{escape(job["status"])}</span> '
            f'&middot; {job["done"]} of {job["total"]} done, {job["failed"]} failed '
            f'&middot; model {escape(job["model"])}</p>')


def _filters(page_url: str, current: str | None) -> str:
    links = [_link(page_url, None, "all", current is None)]
    links += [_link(page_url, s, s, current == s) for s in STATUSES]
    return "<nav>" + "".join(links) + "</nav>"


def _link(page_url: str, status: str | None, label: str, on: bool) -> str:
    url = page_url + (f"&status={status}" if status else "")
    return f'<a href="{escape(url)}"{" class=on" if on else ""}>{escape(label)}</a>'


def _figure(card: Card) -> str:
    image = (f'<img src="{escape(card.image_url)}" alt="item {card.index}" loading="lazy">'
             if card.image_url else "")
    rounds = "".join(f"<li>{escape(text)}</li>" for text in card.control_texts)
    error = f'<p class="failed">{escape(card.error)}</p>' if card.error else ""
    return (f'<figure id="item-{card.index}" data-status="{escape(card.status)}">{image}'
            f'<figcaption><span class="status {escape(card.status)}">#{card.index} '
            f'{escape(card.status)}</span><p>{escape(card.prompt)}</p>{_copy(card.payload)}'
            f'{error}<ol start="0" title="control text per round">{rounds}</ol>'
            f"{_strip(card)}</figcaption></figure>")


def _strip(card: Card) -> str:
    """The round-by-round strip under the control texts it illustrates, linked to itself."""
    if not card.rounds_url:
        return ""
    url = escape(card.rounds_url)
    return (f'<a class="rounds" href="{url}">round by round ({len(card.control_texts)} rounds)'
            f'<img src="{url}" alt="item {card.index} round by round" loading="lazy"></a>')


def _copy(payload: dict[str, Any] | None) -> str:
    copy = (payload or {}).get("copy")
    if not isinstance(copy, dict):
        return ""
    lines = [escape(str(v)) for k, v in copy.items() if isinstance(v, str) and v
             and k != "language"]  # the ad's own words only, not the code of their language
    return f'<p class="copy">{"<br>".join(lines)}</p>' if lines else ""
