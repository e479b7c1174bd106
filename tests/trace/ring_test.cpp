// The ring is lossless: it wraps around, and a full ring makes a writer in
// another process wait (and wake the reader) instead of dropping records.
#include "trace/arena.hpp"

#include <doctest/doctest.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

using namespace simrun;

namespace {
Arena make_arena(std::uint32_t procs, std::uint32_t capacity) {
    auto a = Arena::create(procs, capacity);
    REQUIRE_MESSAGE(a.ok(), a.error().message);
    return std::move(a.value());
}
void put(RingWriter& w, std::int64_t v) {
    Record& r = w.begin(EventKind::Op, 0);
    r.e.value = v;
    w.commit();
}
}  // namespace

TEST_CASE("a ring wraps around and keeps order and sequence numbers") {
    Arena arena = make_arena(1, 8);
    RingWriter w = arena.writer(0, -1);
    RingReader rd = arena.reader(0);
    Record out[16];
    for (int i = 0; i < 5; ++i) put(w, i);
    REQUIRE(rd.drain(out, 16) == 5);
    for (int i = 5; i < 13; ++i) put(w, i);  // 8 more: slots 5..7 then 0..4
    REQUIRE(rd.drain(out, 16) == 8);
    for (int i = 0; i < 8; ++i) {
        CHECK(out[i].e.value == 5 + i);
        CHECK(out[i].seq == static_cast<std::uint32_t>(5 + i));
    }
    CHECK(rd.drain(out, 16) == 0);
}

TEST_CASE("payloads travel as Data records stamped like their event") {
    Arena arena = make_arena(1, 16);
    RingWriter w = arena.writer(0, -1);
    std::string text(100, 'x');
    text[99] = '!';
    put(w, 1);
    w.data(text.data(), text.size(), 0);
    Record out[16];
    std::size_t n = arena.reader(0).drain(out, 16);
    REQUIRE(n == 1 + (100 + kDataBytes - 1) / kDataBytes);
    std::string joined;
    for (std::size_t i = 1; i < n; ++i) {
        CHECK(out[i].kind == EventKind::Data);
        CHECK(out[i].ts == out[0].ts);
        joined.append(out[i].data.bytes, out[i].data.len);
    }
    CHECK(joined == text);
}

TEST_CASE("a full ring makes the writer wait for the reader; nothing is lost") {
    constexpr std::uint32_t kCapacity = 64;
    constexpr int kRecords = 20000;
    Arena arena = make_arena(1, kCapacity);
    int wake = eventfd(0, EFD_CLOEXEC);
    REQUIRE(wake >= 0);
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        RingWriter w = arena.writer(0, wake);
        for (int i = 0; i < kRecords; ++i) put(w, i);
        _exit(0);
    }
    RingReader rd = arena.reader(0);
    // Do not read for a while: the writer must stop at a full ring and call us.
    pollfd p{wake, POLLIN, 0};
    REQUIRE(poll(&p, 1, 5000) == 1);
    usleep(50'000);
    CHECK(rd.written() == kCapacity);  // stopped exactly at capacity, overwrote nothing

    std::vector<Record> got;
    Record buf[32];
    while (got.size() < static_cast<std::size_t>(kRecords)) {
        std::size_t n = rd.drain(buf, 32);  // small drains: many full/wait cycles
        got.insert(got.end(), buf, buf + n);
        if (n == 0) usleep(100);
    }
    int status;
    REQUIRE(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    bool in_order = true;
    for (int i = 0; i < kRecords; ++i)
        in_order = in_order && got[i].e.value == i && got[i].seq == static_cast<std::uint32_t>(i);
    CHECK(in_order);
    close(wake);
}

TEST_CASE("a writer wakes the reader only once its ring is three quarters full") {
    constexpr std::uint32_t kCapacity = 64;
    Arena arena = make_arena(1, kCapacity);
    int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    REQUIRE(wake >= 0);
    RingWriter w = arena.writer(0, wake);
    RingReader rd = arena.reader(0);
    std::uint64_t count = 0;
    int i = 0;
    // A reader that keeps pace (run/drain_pace.hpp) is never woken.
    for (int lap = 0; lap < 8; ++lap) {
        for (int k = 0; k < 40; ++k) put(w, i++);  // 5/8 full at most
        Record buf[kCapacity];
        CHECK(rd.drain(buf, kCapacity) == 40);
    }
    CHECK(read(wake, &count, sizeof count) == -1);  // nothing to read: no wake-up
    // One that falls behind is, as the writer finds 48 records unread, long
    // before the ring is full.
    for (int k = 0; k < 48; ++k) put(w, i++);
    CHECK(read(wake, &count, sizeof count) == -1);
    put(w, i++);
    CHECK(read(wake, &count, sizeof count) == sizeof count);
    CHECK(count == 1);
    close(wake);
}

// Lazy stamps (trace_clock.hpp): a writer reuses its last stamp only while
// it is the run's newest; whoever stamps after it makes it stamp afresh.
TEST_CASE("a writer reuses its stamp until another writer or the supervisor's tick stamps") {
    Arena arena = make_arena(2, 16);
    RingWriter a = arena.writer(0, -1), b = arena.writer(1, -1);
    RingReader ra = arena.reader(0), rb = arena.reader(1);
    put(a, 1);
    put(a, 2);  // nobody else stamped: the same time
    put(b, 3);  // another writer: fresh, after both
    put(a, 4);  // a again: fresh, after b's
    arena.tick();
    put(a, 5);  // the supervisor's tick: fresh
    put(a, 6);
    Record x[8], y[8];
    REQUIRE(ra.drain(x, 8) == 5);
    REQUIRE(rb.drain(y, 8) == 1);
    CHECK(x[1].ts == x[0].ts);
    CHECK(y[0].ts > x[1].ts);
    CHECK(x[2].ts > y[0].ts);
    CHECK(x[3].ts > x[2].ts);
    CHECK(x[4].ts == x[3].ts);
}

TEST_CASE("a stamp taken before its call is published: a writer after it stamps afresh; time never goes back in a ring") {
    Arena arena = make_arena(2, 16);
    RingWriter a = arena.writer(0, -1), b = arena.writer(1, -1);
    put(b, 1);                            // b's stamp is the newest
    const std::uint64_t before = a.stamp();  // a's V: stamped before its call
    put(b, 2);                            // b's P, woken by the V: must come after it
    a.begin(EventKind::Op, 0, 0, before);
    a.commit();
    a.begin(EventKind::Op, 0, 0, before - 1);  // stamped earlier than the ring's last record
    a.commit();
    Record x[4], y[4];
    REQUIRE(arena.reader(0).drain(x, 4) == 2);
    REQUIRE(arena.reader(1).drain(y, 4) == 2);
    CHECK(y[0].ts < before);
    CHECK(y[1].ts > before);
    CHECK(x[0].ts == before);
    CHECK(x[1].ts == before);  // clamped to the previous record's time
}

// Threads of a program share a ring; one that waited for the ring's lock
// may have read the counter before it got the lock (rdtsc is not
// serializing), so a fresh stamp can be earlier than the record written
// just before it. It is clamped to that record's time, as explicit stamps are.
TEST_CASE("a fresh stamp earlier than the ring's last record is clamped to it") {
    Arena arena = make_arena(1, 16);
    RingWriter a = arena.writer(0, -1);
    const std::uint64_t later = trace_now() + 1'000'000'000'000ull;  // another thread's, in the ring already
    a.begin(EventKind::Op, 0, 0, later);
    a.commit();
    put(a, 1);  // stamp 0: fresh, and earlier than `later`
    Record x[4];
    REQUIRE(arena.reader(0).drain(x, 4) == 2);
    CHECK(x[0].ts == later);
    CHECK(x[1].ts == later);
}
