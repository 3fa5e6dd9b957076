"""Hit-endpoint metrics are recorded with a deque append and folded into prometheus in bulk: the fold must give
exactly what one observe()/inc() per request would have given."""

import threading

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from mailbeacon.web.metrics import _BUCKETS, RequestMetrics

# Values on, just under and just over bucket bounds, and past the last one (the +Inf bucket).
SAMPLES = [0.0, 0.0001, 0.0005, 0.00050001, 0.001, 0.0049, 0.005, 0.01, 0.3, 2.5, 2.6, 40.0]


def _pair():
    registry = CollectorRegistry()
    histogram = Histogram("t_request_duration_seconds", "d", ["endpoint"], buckets=_BUCKETS, registry=registry)
    counter = Counter("t_hit_requests_total", "d", ["endpoint", "outcome"], registry=registry)
    return registry, histogram, counter


def _without_created(text: bytes) -> list[str]:
    return [line for line in text.decode().splitlines() if "_created" not in line]


def test_folded_latencies_equal_one_observe_per_request():
    folded_registry, histogram, counter = _pair()
    metrics = RequestMetrics(histogram, counter)
    metrics.close()  # no folding thread: this test folds by hand
    direct_registry, direct_histogram, _ = _pair()
    for value in SAMPLES:
        metrics.observe("open", value)
        direct_histogram.labels("open").observe(value)
    metrics.observe("click", 0.002)
    direct_histogram.labels("click").observe(0.002)

    assert metrics.flush() == len(SAMPLES) + 1
    assert _without_created(generate_latest(folded_registry)) == _without_created(generate_latest(direct_registry))


def test_outcomes_are_counted_per_endpoint_and_outcome():
    registry, histogram, counter = _pair()
    metrics = RequestMetrics(histogram, counter)
    metrics.close()
    for _ in range(3):
        metrics.count("open", "recorded")
    metrics.count("open", "bad_token")
    metrics.count("click", "honeypot")
    metrics.flush()

    assert registry.get_sample_value("t_hit_requests_total", {"endpoint": "open", "outcome": "recorded"}) == 3
    assert registry.get_sample_value("t_hit_requests_total", {"endpoint": "open", "outcome": "bad_token"}) == 1
    assert registry.get_sample_value("t_hit_requests_total", {"endpoint": "click", "outcome": "honeypot"}) == 1


def test_nothing_recorded_while_folding_is_lost():
    registry, histogram, counter = _pair()
    metrics = RequestMetrics(histogram, counter, flush_seconds=0.001)  # its own thread folds as well
    threads_n, per_thread = 8, 2000

    def record():
        for _ in range(per_thread):
            metrics.count("open", "recorded")
            metrics.observe("open", 0.001)

    threads = [threading.Thread(target=record) for _ in range(threads_n)]
    try:
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            metrics.flush()
        for t in threads:
            t.join()
    finally:
        metrics.close()
    metrics.flush()

    total = threads_n * per_thread
    assert registry.get_sample_value("t_hit_requests_total", {"endpoint": "open", "outcome": "recorded"}) == total
    assert registry.get_sample_value("t_request_duration_seconds_count", {"endpoint": "open"}) == total
