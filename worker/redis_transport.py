"""kombu's Redis transport with one client per channel, not one per command.

kombu's Redis channel builds a new `redis.Redis` for every publish and every ack
(`Channel._create_client`), and building one costs more CPU than the command it sends: redis-py
sets up a table of response callbacks per client. On the API that was about half of a job's
send (the task message and Flower's task-sent event); on the worker, every ack and event. A
client holds no connection of its own (each command takes one from the channel's pool and gives
it back) and is safe to share between threads, so one per channel serves them all. It is built
again whenever the channel's pool is (after a fork, a reconnect or a close).

Celery uses it for redis:// and rediss:// brokers (`worker.celery_app.broker_transport`); a
`redis+socket://` URL (the embedded server) names kombu's own transport itself.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis


class Channel(redis.Channel):
    """A Redis channel that reuses its synchronous client while its pool lives."""

    _client_pool: Any = None
    _client: Any = None

    def _create_client(self, asynchronous: bool = False) -> Any:
        if asynchronous:  # the consumer's own (BRPOP, pub/sub) clients: kombu keeps those
            return super()._create_client(asynchronous=True)
        pool = self.pool
        if self._client_pool is not pool:
            self._client, self._client_pool = super()._create_client(), pool
        return self._client


class Transport(redis.Transport):
    Channel = Channel
