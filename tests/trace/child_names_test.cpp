// Names of the children traced programs start: "student/1", "student/1/2".
#include "trace/call_format.hpp"

#include <doctest/doctest.h>

using namespace simrun;

namespace {

// The call record a traced program writes.
Record call(std::uint16_t proc, CallId c, std::int64_t arg, std::int64_t value, std::int64_t result, std::uint64_t step = 0) {
    Record r{};
    r.kind = EventKind::Call;
    r.proc = proc;
    r.e.op = static_cast<std::uint32_t>(c);
    r.e.arg = arg, r.e.value = value, r.e.result = result, r.e.step = step;
    return r;
}
Record forked(std::uint16_t parent, std::int64_t slot, std::int64_t pid) { return call(parent, CallId::Fork, slot, kForkFork, pid); }
Record spawned(std::uint16_t parent, std::int64_t pid) { return call(parent, CallId::Fork, -1, kForkSpawn, pid); }
// A child started without fork attaches in a slot it claimed itself (step
// 1), naming its parent by the slot the parent held (arg).
Record attached(std::uint16_t slot, std::int64_t parent_slot, std::int64_t pid) { return call(slot, CallId::Attach, parent_slot, pid, 0, 1); }

// A forked child's own attach (step 0): its pid, its parent's slot.
Record attached_forked(std::uint16_t slot, std::int64_t parent_slot, std::int64_t pid) { return call(slot, CallId::Attach, parent_slot, pid, 0); }

std::string name_of(const ChildNames& n, std::uint16_t proc) {
    const std::string* s = n.name(proc);
    return s ? *s : "(none)";
}

}  // namespace

TEST_CASE("forked children are named after their parent, numbered per parent") {
    ChildNames n({"student", "other"});
    n.on_event(forked(0, 2, 100));
    n.on_event(forked(0, 3, 101));
    n.on_event(forked(2, 4, 102));
    CHECK(name_of(n, 2) == "student/1");
    CHECK(name_of(n, 3) == "student/2");
    CHECK(name_of(n, 4) == "student/1/1");
    CHECK(n.root(4) == 0);
}

TEST_CASE("a reused slot's new holder numbers its own children from 1") {
    ChildNames n({"student"});
    n.on_event(forked(0, 1, 100));  // slot 1: student/1
    n.on_event(forked(1, 2, 101));  // student/1/1
    n.on_event(forked(0, 1, 102));  // slot 1 again, once student/1 was reaped: student/2
    n.on_event(forked(1, 3, 103));
    CHECK(name_of(n, 1) == "student/2");
    CHECK(name_of(n, 3) == "student/2/1");
}

TEST_CASE("a spawned child is named after the parent that spawned it, even once that parent's slot has a new holder") {
    ChildNames n({"student"});
    n.on_event(forked(0, 1, 100));   // slot 1: student/1
    n.on_event(spawned(1, 500));     // student/1 posix_spawns pid 500, then ends
    n.on_event(forked(0, 1, 101));   // slot 1 reused: student/2
    n.on_event(attached(2, 1, 500));  // pid 500 attaches in slot 2, naming slot 1
    CHECK(name_of(n, 2) == "student/1/1");
    CHECK(n.root(2) == 0);
    // Without its parent's record (system(): no pid), the slot it names decides.
    n.on_event(attached(3, 1, 600));
    CHECK(name_of(n, 3) == "student/2/1");
}

TEST_CASE("a forked child that ran before fork returned in its parent keeps the name it attached with") {
    ChildNames n({"student"});
    n.on_event(attached_forked(1, 0, 100));  // pid 100 in slot 1 attaches first, naming its parent's slot 0
    CHECK(name_of(n, 1) == "student/1");
    n.on_event(forked(0, 1, 100));  // then the parent's fork of that same child
    n.on_event(forked(0, 2, 101));  // and its second child
    CHECK(name_of(n, 1) == "student/1");
    CHECK(name_of(n, 2) == "student/2");
    n.on_event(forked(0, 1, 102));  // slot 1 reused by a new child: a new name
    CHECK(name_of(n, 1) == "student/3");
}
