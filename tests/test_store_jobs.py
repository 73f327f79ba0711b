"""store.jobs and store.tenants on real SQLite and PostgreSQL: the API's view of the store."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from store import jobs as store_jobs
from store import tenants as store_tenants
from store.db import session_factory
from store.jobs import CancelOutcome, NewItem
from store.models import ApiKey, Item, Job, Tenant, utcnow

ITEMS = [NewItem("a red circle", 1), NewItem("三个黄色圆形", 2), NewItem("a blue star", 3)]


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    with session_factory(database_url)() as session:
        yield session


def make_tenant(session: Session, name: str = "acme") -> Tenant:
    tenant = store_tenants.get_or_create_tenant(session, name)
    session.commit()
    return tenant


def make_job(session: Session, tenant: Tenant, **kwargs) -> Job:
    job, created = store_jobs.create_job(
        session, tenant_id=tenant.id, items=kwargs.pop("items", ITEMS), params={"rounds": 2},
        **kwargs,
    )
    session.commit()
    assert created
    return job


def test_create_job_inserts_the_job_and_its_items_in_index_order(session: Session) -> None:
    job = make_job(session, make_tenant(session), priority=7)
    assert (job.status, job.total_items, job.priority, job.dispatched_at) == ("queued", 3, 7, None)
    items = store_jobs.list_items(session, job.id)
    assert [(i.index, i.prompt, i.seed, i.status) for i in items] == [
        (0, "a red circle", 1, "pending"), (1, "三个黄色圆形", 2, "pending"), (2, "a blue star", 3, "pending")
    ]
    assert items[0].control_texts == [] and items[0].agreements == []


def test_create_job_without_items_is_refused(session: Session) -> None:
    with pytest.raises(ValueError, match="at least one item"):
        store_jobs.create_job(session, tenant_id=make_tenant(session).id, items=[], params={})


def test_same_idempotency_key_and_hash_returns_the_existing_job(session: Session) -> None:
    tenant = make_tenant(session)
    job = make_job(session, tenant, idempotency_key="k1", request_hash="h1")
    again, created = store_jobs.create_job(
        session, tenant_id=tenant.id, items=ITEMS, params={}, idempotency_key="k1", request_hash="h1"
    )
    assert (again.id, created) == (job.id, False)
    assert session.scalar(select(func.count()).select_from(Job)) == 1


def test_same_idempotency_key_with_another_hash_is_a_mismatch(session: Session) -> None:
    tenant = make_tenant(session)
    job = make_job(session, tenant, idempotency_key="k1", request_hash="h1")
    with pytest.raises(store_jobs.IdempotencyMismatch) as raised:
        store_jobs.create_job(session, tenant_id=tenant.id, items=ITEMS, params={},
                              idempotency_key="k1", request_hash="h2")
    assert raised.value.job_id == job.id


def test_another_tenant_reusing_a_key_gets_its_own_job(session: Session) -> None:
    job_a = make_job(session, make_tenant(session, "a"), idempotency_key="k", request_hash="h")
    job_b = make_job(session, make_tenant(session, "b"), idempotency_key="k", request_hash="h")
    assert job_a.id != job_b.id


def test_an_expired_idempotency_key_starts_a_new_job(session: Session) -> None:
    tenant = make_tenant(session)
    old = make_job(session, tenant, idempotency_key="k", request_hash="h")
    session.execute(update(Job).values(created_at=utcnow() - dt.timedelta(hours=25)))
    session.commit()
    new = make_job(session, tenant, idempotency_key="k", request_hash="other",
                   idempotency_ttl=dt.timedelta(hours=24))
    assert new.id != old.id
    session.refresh(old)
    assert old.idempotency_key is None


def test_concurrent_duplicate_key_is_decided_by_the_unique_constraint(database_url: str) -> None:
    """PostgreSQL: the second insert waits on the index, then loses (409 in the API).
    SQLite: writers are serialized (BEGIN IMMEDIATE), so the second sees the first job (replay)."""
    factory = session_factory(database_url)
    with factory() as setup:
        tenant_id = make_tenant(setup).id
    outcome: dict[str, object] = {}

    def second() -> None:
        with factory() as s:
            try:
                outcome["job"] = store_jobs.create_job(
                    s, tenant_id=tenant_id, items=ITEMS, params={}, idempotency_key="k",
                    request_hash="h")[0].id
                s.commit()
            except store_jobs.IdempotencyInProgress as exc:
                outcome["error"] = exc

    with factory() as first:
        job, _ = store_jobs.create_job(first, tenant_id=tenant_id, items=ITEMS, params={},
                                       idempotency_key="k", request_hash="h")
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.5)  # the second request is now blocked on the first one's transaction
        first.commit()
    thread.join(timeout=30)
    if database_url.startswith("postgresql"):
        assert isinstance(outcome.get("error"), store_jobs.IdempotencyInProgress)
    else:
        assert outcome.get("job") == job.id
    with factory() as check:
        assert check.scalar(select(func.count()).select_from(Job)) == 1
        assert check.scalar(select(func.count()).select_from(Item)) == len(ITEMS)


def test_get_job_hides_another_tenants_job(session: Session) -> None:
    job = make_job(session, make_tenant(session, "a"))
    other = make_tenant(session, "b")
    assert store_jobs.get_job(session, job.id, other.id) is None
    assert store_jobs.get_job(session, job.id, job.tenant_id).id == job.id


def test_list_jobs_pages_newest_first_filters_status_and_stays_in_the_tenant(session: Session) -> None:
    tenant = make_tenant(session, "a")
    made = [make_job(session, tenant) for _ in range(5)]
    make_job(session, make_tenant(session, "b"))
    session.execute(update(Job).where(Job.id == made[0].id).values(status="running"))
    session.commit()
    page, total = store_jobs.list_jobs(session, tenant.id, limit=2, offset=1)
    assert total == 5 and [j.id for j in page] == [made[3].id, made[2].id]
    running, total = store_jobs.list_jobs(session, tenant.id, status="running")
    assert total == 1 and [j.id for j in running] == [made[0].id]


def test_list_items_pages_in_index_order(session: Session) -> None:
    job = make_job(session, make_tenant(session))
    assert [i.index for i in store_jobs.list_items(session, job.id, limit=2, offset=1)] == [1, 2]
    assert store_jobs.get_item(session, job.id, 2).prompt == "a blue star"
    assert store_jobs.get_item(session, job.id, 3) is None


def test_cancel_queued_job_cancels_it_and_its_items_at_once(session: Session) -> None:
    job = make_job(session, make_tenant(session))
    assert store_jobs.request_cancel(session, job) is CancelOutcome.CANCELED
    session.commit()
    assert (job.status, job.cancel_requested, job.finished_at is not None) == ("canceled", True, True)
    assert {i.status for i in store_jobs.list_items(session, job.id)} == {"canceled"}
    assert store_jobs.request_cancel(session, job) is CancelOutcome.ALREADY_CANCELED


def test_cancel_queued_job_counts_the_items_an_earlier_run_finished(session: Session) -> None:
    job = make_job(session, make_tenant(session))  # a run finished item 0, then was handed back
    session.execute(update(Item).where(Item.job_id == job.id, Item.index == 0)
                    .values(status="succeeded"))
    session.commit()
    assert store_jobs.request_cancel(session, job) is CancelOutcome.CANCELED
    session.commit()
    assert (job.status, job.done_items, job.failed_items) == ("canceled", 1, 0)


def test_cancel_running_job_only_asks_the_worker_and_keeps_finished_items(session: Session) -> None:
    job = make_job(session, make_tenant(session))
    session.execute(update(Job).where(Job.id == job.id).values(status="running"))
    session.execute(update(Item).where(Item.job_id == job.id, Item.index == 0)
                    .values(status="succeeded"))
    session.commit()
    assert store_jobs.request_cancel(session, job) is CancelOutcome.REQUESTED
    session.commit()
    assert (job.status, job.cancel_requested) == ("running", True)
    statuses = [i.status for i in store_jobs.list_items(session, job.id)]
    assert statuses == ["succeeded", "pending", "pending"]


def test_cancel_finished_job_is_refused(session: Session) -> None:
    job = make_job(session, make_tenant(session))
    session.execute(update(Job).where(Job.id == job.id).values(status="succeeded"))
    session.commit()
    assert store_jobs.request_cancel(session, job) is CancelOutcome.FINISHED
    assert (job.status, job.cancel_requested) == ("succeeded", False)


def test_mark_dispatched_records_the_send_time(session: Session) -> None:
    job = make_job(session, make_tenant(session))
    store_jobs.mark_dispatched(session, job.id)
    session.commit()
    session.refresh(job)
    assert job.dispatched_at is not None


def test_api_key_is_stored_as_a_hash_and_resolves_to_its_tenant(session: Session) -> None:
    tenant = make_tenant(session)
    row, key = store_tenants.create_api_key(session, tenant, "ci")
    session.commit()
    assert key.startswith("ak_") and row.prefix == key[:12]
    assert row.key_hash == store_tenants.hash_key(key) and key not in row.key_hash
    assert store_tenants.tenant_for_key(session, key).id == tenant.id


def test_unknown_malformed_or_revoked_keys_resolve_to_no_tenant(session: Session) -> None:
    tenant = make_tenant(session)
    row, key = store_tenants.create_api_key(session, tenant)
    session.commit()
    for wrong in (key[:-1] + ("A" if key[-1] != "A" else "B"), "ak_", "nope", key + "x", ""):
        assert store_tenants.tenant_for_key(session, wrong) is None
    assert store_tenants.revoke_api_key(session, row.prefix) == 1
    session.commit()
    assert store_tenants.tenant_for_key(session, key) is None
    assert session.scalar(select(ApiKey.revoked_at)) is not None


def test_get_or_create_tenant_is_idempotent(session: Session) -> None:
    first = store_tenants.get_or_create_tenant(session, "acme")
    assert store_tenants.get_or_create_tenant(session, " acme ").id == first.id
    with pytest.raises(ValueError, match="must not be empty"):
        store_tenants.get_or_create_tenant(session, "  ")
