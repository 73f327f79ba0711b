"""`alpaca`: the command line for the alpaca-jobs API (also `python -m client`).

    alpaca submit briefs.txt --model ads --rounds 2 --wait --out DIR
    alpaca status JOB | alpaca cancel JOB | alpaca download JOB --out DIR | alpaca models
    alpaca webhooks verify delivery.json --secret whsec_...

Configuration: ALPACA_API_URL (default http://127.0.0.1:8000) and ALPACA_API_KEY, or --api-url
and --api-key. API errors print `error: <status> <code>: <message>` and exit with status 1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from client.config import ClientConfig
from client.errors import ApiError
from client.files import parse_briefs, read_briefs
from client.progress import JobProgress
from client.sync import Client
from client.webhooks import DEFAULT_TOLERANCE_S, Delivery, WebhookVerificationError, verify

app = typer.Typer(help="Submit and follow alpaca-jobs batches.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
webhooks_app = typer.Typer(help="Webhook deliveries (Standard Webhooks).", no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")
out = Console()
err = Console(stderr=True)


@app.callback()
def main(ctx: typer.Context,
         api_url: Annotated[str | None, typer.Option(help="default: ALPACA_API_URL")] = None,
         api_key: Annotated[str | None, typer.Option(help="default: ALPACA_API_KEY")] = None,
         ) -> None:
    ctx.obj = ClientConfig.from_env(api_url, api_key)


@contextmanager
def api(ctx: typer.Context) -> Iterator[Client]:
    """A Client for the command; an ApiError or a bad argument becomes a one-line error, exit 1."""
    try:
        with Client(ctx.obj) as client:
            yield client
    except (ApiError, ValueError, TimeoutError, OSError) as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err.print("interrupted: a submitted job keeps running (alpaca status JOB)")
        raise typer.Exit(130) from None


def briefs_from(path: Path) -> list[str]:
    """The briefs in `path`, or on stdin for `-`."""
    if str(path) == "-":
        return parse_briefs(typer.get_text_stream("stdin").read(), "stdin")
    return read_briefs(path)


@app.command()
def submit(ctx: typer.Context,
           briefs: Annotated[Path, typer.Argument(help="one brief per line; - for stdin")],
           model: str = "default",
           rounds: Annotated[int | None, typer.Option(help="interactor rounds")] = None,
           seed: Annotated[int | None, typer.Option(help="base seed")] = None,
           wait: Annotated[bool, typer.Option(help="follow the job, then download it")] = False,
           out_dir: Annotated[Path | None, typer.Option("--out", help="default out/JOB")] = None,
           timeout: Annotated[float, typer.Option(help="seconds to wait")] = 3600) -> None:
    """Submit the briefs in a file as one job."""
    with api(ctx) as client:
        accepted = client.submit(briefs_from(briefs), model=model, rounds=rounds, seed=seed)
        out.print(f"submitted job {accepted['id']}", highlight=False)
        if wait:
            with JobProgress(err, accepted["id"]) as progress:
                job = client.wait(accepted["id"], on_progress=progress, timeout_s=timeout)
            print_job(job)
            save(client, job["id"], out_dir)


@app.command()
def status(ctx: typer.Context, job_id: str,
           as_json: Annotated[bool, typer.Option("--json", help="the full JSON")] = False) -> None:
    """A job's status and progress."""
    with api(ctx) as client:
        job = client.status(job_id)
    if as_json:
        out.print_json(data=job)
    else:
        print_job(job)


@app.command()
def cancel(ctx: typer.Context, job_id: str) -> None:
    """Cancel a job (a running one stops at its next round)."""
    with api(ctx) as client:
        print_job(client.cancel(job_id))


@app.command()
def download(ctx: typer.Context, job_id: str,
             out_dir: Annotated[Path | None, typer.Option("--out", help="default out/JOB")] = None,
             ) -> None:
    """Download a job's PNGs, contact sheet, copy and results.json."""
    with api(ctx) as client:
        save(client, job_id, out_dir)


@app.command()
def models(ctx: typer.Context) -> None:
    """The models you can submit to."""
    with api(ctx) as client:
        rows = client.models()
    table = Table("name", "version", "scope", "parent")
    for model in rows:
        table.add_row(model["name"], model["version"], model["scope"],
                      model["parent_version"] or "")
    out.print(table)


@webhooks_app.command("verify")
def verify_delivery(
        delivery: Annotated[Path, typer.Argument(help='JSON {"headers": {...}, "body": "..."}')],
        secret: Annotated[str, typer.Option(envvar="ALPACA_WEBHOOK_SECRET", help="whsec_...")],
        tolerance: Annotated[float, typer.Option(help="max age in s; 0: any")
                             ] = DEFAULT_TOLERANCE_S,
) -> None:
    """Check a saved delivery's signature and age against the tenant's signing secret."""
    try:
        body = verify(Delivery.load(delivery), secret, tolerance_s=tolerance)
    except WebhookVerificationError as exc:
        err.print(f"[red]invalid:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    out.print(f"valid delivery {body.get('type', '')}".rstrip(), highlight=False)


def save(client: Client, job_id: str, out_dir: Path | None) -> None:
    path = client.download(job_id, out_dir or Path("out") / job_id)
    out.print(f"wrote {path} (PNGs, sheet.png, copy.txt, results.json)", highlight=False)


def print_job(job: dict[str, Any]) -> None:
    progress = job["progress"]
    out.print(f"job {job['id']}: {job['status']}, {progress['done']}/{progress['total']} items "
              f"succeeded, {progress['failed']} failed", highlight=False)
    if job.get("error"):
        out.print(f"  error: {json.dumps(job['error'], ensure_ascii=False)}", highlight=False)
