// The collector spills every ring to a file and merges them by timestamp.
#include "trace/collector.hpp"

#include <unistd.h>

#include <doctest/doctest.h>

using namespace simrun;

TEST_CASE("records from several rings merge by timestamp; payloads stay with their event") {
    auto arena = Arena::create(2, 8);
    REQUIRE(arena.ok());
    auto collector = Collector::create(arena.value(), "/tmp");
    REQUIRE(collector.ok());
    RingWriter a = arena->writer(0, -1), b = arena->writer(1, -1), sup = arena->writer(2, -1);
    auto put = [](RingWriter& w, std::uint16_t proc, std::uint64_t ts) {
        Record& r = w.begin(EventKind::Op, proc);
        r.ts = ts;
        r.e.value = static_cast<std::int64_t>(ts);
        w.commit();
    };
    // More than a ring holds, drained in between, so the spill holds several batches per ring.
    std::uint64_t ts = 100;
    for (int round = 0; round < 5; ++round) {
        for (int i = 0; i < 3; ++i) {
            put(a, 0, ts++);
            put(b, 1, ts++);
        }
        put(sup, kRunProc, ts++);
        REQUIRE(collector->drain().ok());
    }
    put(a, 0, ts);
    a.data("hello", 5, 0);
    put(b, 1, ts);  // same timestamp, later ring: after a's event and its payload
    REQUIRE(collector->drain().ok());

    // Merged by the stamps as written (kept in e.value); visited in ns.
    std::vector<std::uint64_t> order, ns;
    std::string payload_of_last_a;
    REQUIRE(collector->merge([&](const Record& r, std::string_view payload) {
        order.push_back(static_cast<std::uint64_t>(r.e.value));
        ns.push_back(r.ts);
        if (r.proc == 0) payload_of_last_a = std::string(payload);
    }).ok());
    REQUIRE(order.size() == 5 * 7 + 2);
    CHECK(std::is_sorted(order.begin(), order.end()));
    CHECK(std::is_sorted(ns.begin(), ns.end()));
    CHECK(order.front() == 100);
    CHECK(payload_of_last_a == "hello");
    CHECK(collector->total() == 5 * 7 + 3);  // the Data record counted once in the spill
}

TEST_CASE("a spill file that cannot be read back in full: the merge says the trace was cut short, and where") {
    auto arena = Arena::create(1, 8);
    REQUIRE(arena.ok());
    auto collector = Collector::create(arena.value(), "/tmp");
    REQUIRE(collector.ok());
    RingWriter a = arena->writer(0, -1);
    for (std::uint64_t ts = 1; ts <= 6; ++ts) {
        Record& r = a.begin(EventKind::Op, 0);
        r.ts = ts;
        a.commit();
        REQUIRE(collector->drain().ok());  // one batch per record
    }
    // As if the disk lost the end of the spill: the last two records are gone.
    REQUIRE(::ftruncate(collector->spill_fd_for_tests(), 4 * sizeof(Record)) == 0);
    int visited = 0;
    auto merged = collector->merge([&](const Record&, std::string_view) { ++visited; });
    CHECK(visited == 4);
    REQUIRE_FALSE(merged.ok());
    CHECK(merged.error().message.find("the trace was cut short") == 0);
    CHECK(merged.error().message.find("ring 0, record 4") != std::string::npos);
    CHECK(merged.error().message.find("short read") != std::string::npos);
}
