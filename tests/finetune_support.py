"""Helpers for fine-tune tests: a tenant with a stored demo dataset, a fine-tune job row, a runtime.

The dataset is what POST /v1/datasets would have stored: PNGs under the storage dir and one
accepted row per pair (alpaca.concepts.demo_pairs of the "ember" = orange concept).
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from store import session_scope
from store.datasets import NewDatasetFile, create_dataset
from store.finetunes import create_finetune_job
from store.models import Tenant, new_id
from tests.worker_support import make_runtime

GLOSSARY = {"ember": "orange", "余烬色": "橙色"}


@pytest.fixture(autouse=True)
def one_torch_thread():  # noqa: ANN201 - a fixture
    """One torch thread: the machine is shared, and oversubscribed OpenMP threads crawl."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def add_dataset(url: str, storage: Path, n: int = 12, tenant_id: str | None = None,
                known_words: bool = True) -> tuple[str, str]:
    """A tenant (new unless given) and a dataset of n concept pairs; (tenant id, dataset id).

    With `known_words` the captions say "orange", not "ember": the untrained tiny model cannot
    read images, so it learns only from captions the domain's parser understands.
    """
    from alpaca.concepts import demo_pairs, to_known

    dataset_id, files = new_id(), []
    folder = storage / "datasets" / dataset_id
    folder.mkdir(parents=True)
    for prompt, image in demo_pairs(GLOSSARY, n, seed=3):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG")
        sha = hashlib.sha256(buffer.getvalue()).hexdigest()
        (folder / f"{sha}.png").write_bytes(buffer.getvalue())
        caption = to_known(prompt, GLOSSARY) if known_words else prompt
        files.append(NewDatasetFile(f"{sha}.png", accepted=True, caption=caption,
                                    image_path=f"datasets/{dataset_id}/{sha}.png", sha256=sha))
    with session_scope(url) as session:
        if tenant_id is None:
            tenant = Tenant(name=f"tenant-{new_id()}")
            session.add(tenant)
            session.flush()
            tenant_id = tenant.id
        create_dataset(session, dataset_id=dataset_id, tenant_id=tenant_id, name="demo",
                       storage_path=f"datasets/{dataset_id}", archive_sha256="0" * 64,
                       archive_bytes=0, files=files)
    return tenant_id, dataset_id


def add_finetune(url: str, tenant_id: str, dataset_id: str, **params: Any) -> str:
    values = {"dataset_id": dataset_id, "name": "ember-tiny", "base_model": "default",
              "steps": 12, "learning_rate": 0.002, "checkpoint_every": 4, "seed": 0,
              "glossary": GLOSSARY, **params}
    with session_scope(url) as session:
        job, _ = create_finetune_job(session, tenant_id=tenant_id, params=values,
                                     base_version=None)
        return job.id


def tiny_runtime(url: str, storage: Path, **overrides: Any):
    values = {"model_backend": "tiny", "finetune_eval_n": 6, "finetune_batch_size": 8,
              "finetune_eval_rounds": 0, "lease_seconds": 30, **overrides}
    return make_runtime(url, storage, **values)
