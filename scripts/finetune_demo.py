"""`make finetune-demo`: teach the model a colour word it has never seen, end to end over HTTP.

The concept is the brand colour "ember" (余烬色 in Chinese), which means the palette's orange
(alpaca.concepts.DEMO_GLOSSARY). The demo

1. renders 200 (caption, image) pairs of it from the creative domain's train split and zips them
   with captions.jsonl (out/finetune-demo/dataset.zip);
2. starts the local stack (API, a worker on the generate and finetune queues, the sweeper);
3. uploads the zip (POST /v1/datasets) and prints what was accepted;
4. starts a fine-tune of the default model on it (POST /v1/finetunes) and follows its phase,
   step and loss until it is done;
5. prints the judge's scores before -> after: on new prompts that use the new word, on the
   constraints that word states, and on the held-out set (forgetting), with steps and wall
   times, and the model lineage from GET /v1/models;
6. runs a generation job that names the new model, and stops what it started.

`--base-checkpoint DIR` fine-tunes another checkpoint folder instead of the shipped default
(it is registered for the demo tenant first). Figures go to out/finetune-demo/report.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
import zipfile
from pathlib import Path

import httpx

from config import Settings
from config.embedded import socket_path, stop_embedded_redis
from scripts.demo import create_api_key
from scripts.services import ROOT, Stack

TENANT = "finetune-demo"
TERMINAL = {"succeeded", "failed", "canceled", "partial"}
OUT = ROOT / "out" / "finetune-demo"


def build_zip(n: int, seed: int) -> bytes:
    """n concept pairs as a dataset zip: one PNG per pair and captions.jsonl."""
    from PIL import Image

    from alpaca.concepts import DEMO_GLOSSARY, demo_pairs

    buffer, lines = io.BytesIO(), []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for i, (caption, image) in enumerate(demo_pairs(DEMO_GLOSSARY, n, seed)):
            png = io.BytesIO()
            Image.fromarray(image).save(png, format="PNG")
            archive.writestr(f"images/{i:04d}.png", png.getvalue())
            lines.append(json.dumps({"file": f"images/{i:04d}.png", "caption": caption},
                                    ensure_ascii=False))
        archive.writestr("captions.jsonl", "\n".join(lines) + "\n")
    return buffer.getvalue()


def register_base(stack: Stack, checkpoint: Path) -> str:
    """Register a checkpoint folder for the demo tenant; returns the name to fine-tune."""
    from alpaca import checkpoint_version
    from kinds.checkpoint_files import file_sha256
    from store import session_scope
    from store.catalog import register_model
    from store.tenants import get_or_create_tenant

    version = checkpoint_version(checkpoint)
    with session_scope(stack.settings.effective_database_url) as session:
        tenant = get_or_create_tenant(session, TENANT)
        register_model(session, name="demo-base", version=version,
                       checkpoint_path=str(checkpoint.resolve()),
                       sha256=file_sha256(checkpoint / "model.safetensors"),
                       tenant_id=tenant.id, metrics={"note": "registered by the demo"})
    return "demo-base"


def upload(client: httpx.Client, data: bytes) -> dict:
    response = client.post("/v1/datasets", files={"file": ("ember.zip", data, "application/zip")},
                           data={"name": "ember brand colour"})
    response.raise_for_status()
    dataset = response.json()
    reasons = sorted({f["reason"] for f in dataset["files"] if f["reason"]})
    print(f"dataset {dataset['id']}: {dataset['accepted_files']} pairs accepted, "
          f"{dataset['rejected_files']} rejected {reasons or ''}")
    return dataset


def follow(client: httpx.Client, finetune_id: str, timeout: float) -> dict:
    """Poll the fine-tune until it is terminal, drawing phase, step and loss on stderr."""
    deadline, last = time.monotonic() + timeout, ""
    while True:
        job = client.get(f"/v1/finetunes/{finetune_id}").json()
        p = job["progress"]
        loss = f"{p['loss']:.3f}" if p["loss"] is not None else "-"
        line = (f"\r{job['status']:<9} {p['phase']:<11} step {p['step']:>4}/{p['steps']} "
                f"loss {loss} checkpoint {p['checkpoint_step']}")
        if line != last:
            sys.stderr.write(line)
            last = line
        if job["status"] in TERMINAL:
            sys.stderr.write("\n")
            return job
        if time.monotonic() > deadline:
            raise TimeoutError(f"fine-tune {finetune_id} still {job['status']} after "
                               f"{timeout:.0f}s")
        time.sleep(1.0)


def _pct(value: float | None) -> str:
    return "  n/a" if value is None else f"{100 * value:5.1f}"


def report(job: dict, models: list[dict], walls: dict[str, float]) -> dict:
    m = job["metrics"] or {}
    concept, heldout = m.get("concept", {}), m.get("heldout", {})
    rows = [
        ("new concept, whole prompt (judge)", concept.get("before"), concept.get("after")),
        ("new concept, what the word states", concept.get("checks_before"),
         concept.get("checks_after")),
        ("held-out set (judge)", heldout.get("before"), heldout.get("after")),
    ]
    print(f"\n{'figure':<36} before ->  after   (n={concept.get('n')}, "
          f"{m.get('rounds')} rounds)")
    for name, before, after in rows:
        print(f"{name:<36} {_pct(before)} -> {_pct(after)}")
    print(f"{'ceiling: same prompts, word orange':<36} {_pct(concept.get('known_words_before'))}"
          f"    (the base model with the known word)")
    print(f"\nsteps {m.get('steps')}, training {m.get('train_wall_s')} s, whole job "
          f"{m.get('job_wall_s')} s, fine-tune request to done {walls['finetune']:.0f} s, "
          f"demo {walls['demo']:.0f} s")
    print("lineage (GET /v1/models):")
    for model in models:
        print(f"  {model['name']:<24} {model['version']}  parent {model['parent_version']}")
    return {"finetune": job, "models": models, "walls": walls}


def generate_with(client: httpx.Client, name: str) -> dict:
    prompts = ["an ember star", "two ember circles on a blue background", "一个余烬色爱心"]
    body = {"items": [{"prompt": p, "seed": i} for i, p in enumerate(prompts)], "rounds": 0,
            "model": name}
    job_id = client.post("/v1/jobs", json=body).raise_for_status().json()["id"]
    deadline = time.monotonic() + 120
    while (job := client.get(f"/v1/jobs/{job_id}").json())["status"] not in TERMINAL:
        if time.monotonic() > deadline:
            raise TimeoutError(f"generation job {job_id} still {job['status']}")
        time.sleep(0.5)
    items = client.get(f"/v1/jobs/{job_id}/items").json()["items"]
    print(f"generation job {job_id} with model '{name}' ({job['model_version']}): {job['status']}")
    for item in items:
        print(f"  {item['prompt']!r} -> {(item['control_texts'] or [''])[-1]!r}")
    return job


def run(args: argparse.Namespace) -> dict:
    started = time.monotonic()
    OUT.mkdir(parents=True, exist_ok=True)
    data = build_zip(args.pairs, args.seed)
    (OUT / "dataset.zip").write_bytes(data)
    print(f"built {args.pairs} pairs of 'ember' (= orange): {OUT / 'dataset.zip'} "
          f"({len(data)} bytes)")
    os.environ.setdefault("VAR_DIR", str(ROOT / "var" / "finetune-demo"))  # its own stack state
    settings = Settings()
    redis_was_running = settings.redis_url or socket_path(settings.var_dir).exists()
    stack = Stack(settings, log_dir=settings.var_dir / "logs")
    try:
        stack.migrate()
        stack.start()
        key = create_api_key(stack, TENANT)
        base = "default"
        if args.base_checkpoint:
            base = register_base(stack, Path(args.base_checkpoint))
        with httpx.Client(base_url=stack.api_url, headers={"Authorization": f"Bearer {key}"},
                          timeout=60) as client:
            dataset = upload(client, data)
            body = {"dataset_id": dataset["id"], "base_model": base, "steps": args.steps,
                    "learning_rate": args.lr, "name": f"ember-{int(time.time())}",
                    "glossary": {"ember": "orange", "余烬色": "橙色"}}
            asked = time.monotonic()
            finetune = client.post("/v1/finetunes", json=body).raise_for_status().json()
            print(f"fine-tune {finetune['id']} of '{base}' queued: {args.steps} steps")
            job = follow(client, finetune["id"], args.timeout)
            walls = {"finetune": time.monotonic() - asked}
            if job["status"] != "succeeded":
                raise RuntimeError(f"fine-tune ended {job['status']}: {job['error']}")
            models = client.get("/v1/models").json()["models"]
            walls["demo"] = time.monotonic() - started
            out = report(job, models, walls)
            generate_with(client, body["name"])
        (OUT / "report.json").write_text(json.dumps(out, indent=1, ensure_ascii=False))
        print(f"report: {OUT / 'report.json'}")
        return out
    finally:
        stack.stop()
        if not redis_was_running:
            stop_embedded_redis(settings.var_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=200, help="pairs in the dataset")
    parser.add_argument("--steps", type=int, default=int(os.environ.get("DEMO_STEPS", 200)))
    parser.add_argument("--lr", type=float, default=5e-4, help="peak learning rate")
    parser.add_argument("--seed", type=int, default=0, help="seed of the demo pairs")
    parser.add_argument("--base-checkpoint", default=None,
                        help="fine-tune this checkpoint folder instead of the shipped default")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait")
    args = parser.parse_args()
    run(args)


if __name__ == "__main__":
    main()
