"""The light Celery app: the delivery baseline of docs/architecture.md, and queues that stay apart
in Redis."""

from __future__ import annotations

import redis

from config import Settings
from worker import redis_transport
from worker.celery_app import REDIS_TRANSPORT, broker_priority, broker_transport, enqueue_job
from worker.celery_app import make_app


def test_delivery_baseline(redis_url: str) -> None:
    conf = make_app(Settings(redis_url=redis_url)).conf
    assert conf.accept_content == ["json"] and conf.task_serializer == "json"
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.broker_transport_options["visibility_timeout"] > Settings().task_time_limit_seconds
    assert conf.task_time_limit == Settings().task_time_limit_seconds  # the setting reaches Celery
    assert conf.worker_send_task_events and conf.task_send_sent_event
    assert not conf.task_track_started  # Flower has the task-started event; no backend write


def test_generate_and_finetune_messages_land_only_in_their_own_queue(redis_url: str) -> None:
    app = make_app(Settings(redis_url=redis_url))
    enqueue_job(app, "job-g", "generate", 5)
    enqueue_job(app, "job-f", "finetune", 5)
    client = redis.Redis.from_url(redis_url)
    generate = [k for k in client.keys("generate*")]
    finetune = [k for k in client.keys("finetune*")]
    assert sum(client.llen(k) for k in generate) == 1
    assert sum(client.llen(k) for k in finetune) == 1


def test_higher_priority_is_served_first_by_redis() -> None:
    assert broker_priority(9) < broker_priority(5) < broker_priority(0)
    assert broker_priority(42) == broker_priority(9)


def test_a_redis_broker_uses_the_transport_that_keeps_one_client_per_channel(redis_url: str):
    app = make_app(Settings(redis_url=redis_url))
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        assert isinstance(channel, redis_transport.Channel)
        client = channel._create_client()
        assert channel._create_client() is client  # kombu's own builds one per command
        enqueue_job(app, "job-1", "generate", 5)  # and messages still go through
        channel._disconnect_pools()  # as after a fork or a reconnect: a new pool, a new client
        assert channel._create_client() is not client
    client = redis.Redis.from_url(redis_url)
    assert sum(client.llen(k) for k in client.keys("generate*")) == 1


def test_other_broker_urls_keep_kombus_choice_of_transport() -> None:
    assert broker_transport("rediss://cache:6380/0") == REDIS_TRANSPORT
    assert broker_transport("redis+socket:///var/run/redis.sock") is None
    assert broker_transport("sentinel://s1:26379") is None
