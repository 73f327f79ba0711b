"""The files the client reads and writes: a briefs file in, and what `download` writes out.

Briefs: one per line in UTF-8; blank lines and `#` comments are skipped.

Layout of the output directory:
- `NNN.png`: item NNN's final image (items without an image have none);
- `sheet.png`: the job's contact sheet;
- `copy.txt`: one line per item, `NNN<TAB>text`, the item's ad copy if the model wrote one,
  else its last control text;
- `results.json`: the job and every item as the API returned them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def parse_briefs(text: str, source: str = "briefs") -> list[str]:
    """One brief per line; blank lines and lines starting with # are skipped."""
    briefs = [line.strip() for line in text.splitlines()]
    briefs = [b for b in briefs if b and not b.startswith("#")]
    if not briefs:
        raise ValueError(f"{source} holds no briefs (one per line)")
    return briefs


def read_briefs(path: Path) -> list[str]:
    """The briefs in a UTF-8 text file (see parse_briefs)."""
    return parse_briefs(Path(path).read_text(encoding="utf-8"), str(path))


def image_name(item: dict[str, Any]) -> str:
    return f"{int(item['index']):03d}.png"


def item_copy(item: dict[str, Any]) -> str:
    """The item's copy (an ads model field) or its last control text, on one line."""
    texts = item.get("control_texts") or [""]
    copy = item.get("copy") or texts[-1] or ""
    if isinstance(copy, dict):
        copy = " / ".join(str(v) for v in copy.values())
    return " ".join(str(copy).split())


def write_job_files(out_dir: Path, job: dict[str, Any], items: list[dict[str, Any]],
                    images: dict[str, bytes], sheet: bytes) -> Path:
    """Writes the layout above into `out_dir` (created if needed) and returns it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, data in images.items():
        (out_dir / name).write_bytes(data)
    (out_dir / "sheet.png").write_bytes(sheet)
    lines = [f"{int(item['index']):03d}\t{item_copy(item)}" for item in items]
    (out_dir / "copy.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    results = {"job": job, "items": items}
    (out_dir / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False),
                                          encoding="utf-8")
    return out_dir
