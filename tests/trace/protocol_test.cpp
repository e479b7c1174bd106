// What simrun and the preload tracer share (trace/protocol.hpp): the
// SIMRUN_TRACE encoding, the arena's layout, and the gate across two real
// processes.
#include "trace/protocol.hpp"

#include "trace/arena.hpp"

#include <doctest/doctest.h>

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>

using namespace simrun;

namespace {

TraceEnv env_of(const Arena& a, std::uint32_t proc) {
    TraceEnv e;
    e.arena_fd = 1022, e.wake_fd = 1023, e.layout = a.layout(), e.proc = proc;
    return e;
}

std::string encoded(const TraceEnv& e) {
    char buf[kTraceEnvMax];
    const std::size_t n = encode_trace_env(e, buf);
    CHECK(n == std::strlen(buf));
    return buf;
}

}  // namespace

TEST_CASE("SIMRUN_TRACE: what simrun writes, the tracer reads back field for field") {
    auto arena = Arena::create(3, 64, 4);
    REQUIRE(arena.ok());
    const TraceEnv sent = env_of(*arena, 5);
    const std::string text = encoded(sent);
    CHECK(text.rfind("2,1022,1023,", 0) == 0);  // the version first
    TraceEnv got;
    std::size_t proc_at = 0;
    REQUIRE(decode_trace_env(text.c_str(), got, &proc_at));
    CHECK(got.version == kTraceEnvVersion);
    CHECK(got.arena_fd == 1022);
    CHECK(got.wake_fd == 1023);
    CHECK(got.proc == 5);
    const ArenaLayout &l = got.layout, &want = arena->layout();
    CHECK(l.size == want.size);
    CHECK(l.slots == want.slots);
    CHECK(l.slot_size == want.slot_size);
    CHECK(l.rings == want.rings);
    CHECK(l.ring_bytes == want.ring_bytes);
    CHECK(l.capacity == 64);
    CHECK(l.processes == 3);
    CHECK(l.spares == 4);
    CHECK(text.substr(proc_at) == "00005");
}

TEST_CASE("SIMRUN_TRACE: a forked child's slot number is rewritten in place") {
    auto arena = Arena::create(2, 64, 3);
    REQUIRE(arena.ok());
    std::string text = encoded(env_of(*arena, 1));
    TraceEnv got;
    std::size_t proc_at = 0;
    REQUIRE(decode_trace_env(text.c_str(), got, &proc_at));
    set_trace_env_proc(text.data() + proc_at, 4);
    REQUIRE(decode_trace_env(text.c_str(), got));
    CHECK(got.proc == 4);
}

TEST_CASE("SIMRUN_TRACE: another version, a damaged value or a layout outside the arena is refused") {
    auto arena = Arena::create(2, 64, 1);
    REQUIRE(arena.ok());
    const std::string good = encoded(env_of(*arena, 0));
    TraceEnv got;
    REQUIRE(decode_trace_env(good.c_str(), got));
    CHECK_FALSE(decode_trace_env(("1" + good.substr(1)).c_str(), got));     // version 1: the old positional format
    CHECK_FALSE(decode_trace_env(good.substr(0, good.size() - 1).c_str(), got));  // PROC of four digits
    CHECK_FALSE(decode_trace_env((good + "7").c_str(), got));
    CHECK_FALSE(decode_trace_env((good + ",1").c_str(), got));
    CHECK_FALSE(decode_trace_env("", got));
    CHECK_FALSE(decode_trace_env("2,x", got));
    TraceEnv e = env_of(*arena, 0);
    e.proc = 3;  // past the declared and spare slots
    CHECK_FALSE(decode_trace_env(encoded(e).c_str(), got));
    e = env_of(*arena, 0);
    e.layout.size -= 1;  // the last ring would end past the memfd
    CHECK_FALSE(decode_trace_env(encoded(e).c_str(), got));
    e = env_of(*arena, 0);
    e.layout.slot_size = 32;  // a tracer built with another ProcSlot
    CHECK_FALSE(decode_trace_env(encoded(e).c_str(), got));
    e = env_of(*arena, 0);
    e.layout.rings = e.layout.slots + 64;  // slots overlapping the rings
    CHECK_FALSE(decode_trace_env(encoded(e).c_str(), got));
}

TEST_CASE("the arena's layout: declared rings, the supervisor's, signal rings, then the spares'") {
    const ArenaLayout l = ArenaLayout::of(3, 2, 64, 4096);
    CHECK(l.ring_count() == 11);
    CHECK(l.own_ring(0) == 0);
    CHECK(l.own_ring(2) == 2);
    CHECK(l.supervisor_ring() == 3);
    CHECK(l.signal_ring(0) == 4);
    CHECK(l.signal_ring(2) == 6);
    CHECK(l.own_ring(3) == 7);  // spare 0
    CHECK(l.own_ring(4) == 8);
    CHECK(l.signal_ring(3) == 9);
    CHECK(l.signal_ring(4) == 10);
    CHECK(l.slot_offset(0) == sizeof(ArenaHeader));
    CHECK(l.rings >= l.slot_offset(5));
    CHECK(l.rings % 64 == 0);
    CHECK(l.ring_offset(10) + 4096 == l.size);
}

TEST_CASE("the gate: a child takes exactly the steps it is granted, in order, and hands each back") {
    void* mem = mmap(nullptr, sizeof(ProcSlot) + 64 * sizeof(std::uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    REQUIRE(mem != MAP_FAILED);
    auto* slot = new (mem) ProcSlot{};
    auto* seen = reinterpret_cast<std::atomic<std::uint64_t>*>(static_cast<char*>(mem) + sizeof(ProcSlot));
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        gate_hand_back(*slot, StepOutcome::Started);
        for (int i = 0; i < 5; ++i) {
            const std::uint64_t step = gate_await_grant(*slot);
            seen[i].store(step + 100);  // what the step did, visible before the gate is back
            gate_hand_back(*slot, i == 4 ? StepOutcome::Exiting : StepOutcome::Done);
        }
        _exit(0);
    }
    while (!gate_wait_back(*slot, 64, 10'000'000)) {
    }
    CHECK(slot->outcome.load() == StepOutcome::Started);
    for (std::uint64_t step = 7; step < 12; ++step) {
        CHECK(seen[step - 7].load() == 0);  // not before the grant
        gate_grant(*slot, step);
        while (!gate_wait_back(*slot, 64, 10'000'000)) {
        }
        CHECK(seen[step - 7].load() == step + 100);
        CHECK(slot->outcome.load() == (step == 11 ? StepOutcome::Exiting : StepOutcome::Done));
    }
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    munmap(mem, sizeof(ProcSlot) + 64 * sizeof(std::uint64_t));
}
