"""The relay beside a plain kafka-python producer: a fresh store filled through the service's
commands, the relay publishing all of it to a fresh topic, then a plain idempotent producer
sending the very same messages to another; events/s of each, in the same run."""

from __future__ import annotations

import argparse
import os
import threading
import time
import uuid
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from application.integration_events import ASSESSMENT_TOPICS
from application.settings import Settings
from bench.rebuild import fill
from entrypoints.bootstrap import bootstrap
from infrastructure.persistence import tune_gc
from projections.views import count_after
from tests.broker import running_broker
from tests.pgserver import fresh_database, running_server

AIM_RATIO = 0.8  # issue 13: the relay at 0.8x a plain producer of the same messages
PARTITIONS = 4  # as the broker's auto-create makes them
READ_WAIT = 60.0  # seconds


def new_topic(servers: str, prefix: str) -> str:
    """Create a fresh topic of PARTITIONS partitions; return its name."""
    name = f"{prefix}.{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=servers)
    try:
        admin.create_topics([NewTopic(name, num_partitions=PARTITIONS, replication_factor=1)])
    finally:
        admin.close()
    return name


def read_topic(servers: str, topic: str, count: int) -> list[Any]:
    """The topic's records from the beginning, once `count` came (or READ_WAIT passed)."""
    consumer = KafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False)
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
        consumer.seek_to_beginning()
        records: list[Any] = []
        deadline = time.monotonic() + READ_WAIT
        while len(records) < count and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records += batch
        return records
    finally:
        consumer.close()


def relay_rate(settings: Settings) -> tuple[int, float]:
    """Events/s of the relay publishing the whole store, in a process set up as `assess relay`
    is; how many it published."""
    tune_gc()
    services = bootstrap(settings)
    store = services.store
    try:
        relay = services.relay()
        started = time.perf_counter()
        relay.run(threading.Event(), drain=True)
        seconds = time.perf_counter() - started
        published = count_after(
            store, 0, ASSESSMENT_TOPICS, most=None
        )  # read back from the topic below
        return published, published / seconds
    finally:
        store.close()


def plain_rate(servers: str, topic: str, records: list[Any]) -> float:
    """Events/s of a plain idempotent producer (acks=all) sending the records, flushed."""
    started = time.perf_counter()
    producer = KafkaProducer(
        bootstrap_servers=servers,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        batch_size=64 * 1024,
    )
    try:
        futures = [
            producer.send(topic, key=r.key, value=r.value, headers=r.headers) for r in records
        ]
        producer.flush(timeout=60)
        for future in futures:
            future.get(timeout=0)
        return len(records) / (time.perf_counter() - started)
    finally:
        producer.close(timeout=5)


def bench_relay(base_url: str, servers: str, events: int) -> tuple[float, float]:
    """Fill a fresh store; events/s of the relay, then of a plain producer sending the same."""
    with fresh_database(base_url) as url:
        fill(url, events, os.cpu_count() or 2)
        topic = new_topic(servers, "bench.relay")
        settings = Settings(database_url=url, kafka_bootstrap=servers, kafka_topic=topic)
        published, relay = relay_rate(settings)
    print(f"relay: {published:,} events to {topic}, {relay:,.0f} events/s")
    records = read_topic(servers, topic, published)
    plain = plain_rate(servers, new_topic(servers, "bench.plain"), records)
    print(f"plain producer: the same {len(records):,} messages, {plain:,.0f} events/s")
    return relay, plain


def main() -> None:
    """Start PostgreSQL and a broker; print both rates and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=60_000, help="events to publish, at least")
    args = parser.parse_args()
    with running_server() as base_url, running_broker() as broker:
        relay, plain = bench_relay(base_url, broker.bootstrap, args.events)
    ratio = relay / plain
    print(f"relay / plain: {ratio:.2f}x (aim >= {AIM_RATIO}x)")


if __name__ == "__main__":
    main()
