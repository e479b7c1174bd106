// The tracer's state and its recording path (tracer.hpp).
#include "preload/tracer.hpp"

#include "util/futex.hpp"

#include <sys/syscall.h>

namespace simrun::preload {

constinit Real real;
constinit bool on = false;
constinit void* arena = nullptr;
constinit RingWriter main_ring, signal_ring;
constinit std::atomic<std::uint64_t>* newest_stamp = nullptr;
constinit ProcSlot* slot = nullptr;
constinit std::uint16_t proc = 0;
constinit std::atomic<int> owner{0};
constinit int keep_fd = -1;
constinit int wake = -1;
constinit std::int32_t my_pid = 0;
SIMRUN_TLS int in_hook = 0;
SIMRUN_TLS std::uint16_t hook_call = 0;
SIMRUN_TLS int my_tid = 0;
constinit std::atomic<bool> threaded{false};
constinit volatile sig_atomic_t writing = 0;
constinit bool controlled = false;
constinit bool plain = false;
SIMRUN_TLS int vfork_child = 0;
SIMRUN_TLS int in_step = 0;
SIMRUN_TLS std::uint16_t retrying = 0;
constinit bool attach_pending = false;
constinit Args pending_attach{};

int tid() {
    if (!my_tid) my_tid = static_cast<int>(::syscall(SYS_gettid));
    return my_tid;
}

SIMRUN_TLS std::uint16_t waited_call = 0;

void record_wait_start(CallId c, Args a) {
    a.flags = kRecCallStart;
    emit(c, a, 0, 0);
    waited_call = static_cast<std::uint16_t>(static_cast<unsigned>(c) + 1);
}

void emit(CallId c, Args a, std::int64_t result, int err, std::uint64_t ts, const void* data, std::size_t n) {
    if (waited_call == static_cast<unsigned>(c) + 1 && !(a.flags & kRecCallStart)) a.flags |= kRecBlocked, waited_call = 0;
    Writer w;
    if (RingWriter* r = w.get()) write_call(*r, c, a, result, err, ts, data, n);
}

std::uint64_t now() {
    if (!on) return 0;
    if (threaded.load(std::memory_order_relaxed)) return fresh_stamp(newest_stamp);
    return (writing ? signal_ring : main_ring).stamp();
}

// A step runs from the grant to the program's next traced call (or its
// end): the code it runs after its call returns belongs to the step, so no
// other process's step lands in the middle of it (a flag checked, then a
// pause: whether a signal comes between the two depends on the schedule,
// not on the machine's timing). A parked call hands the gate back at once:
// the next thing it does is try again.
SIMRUN_TLS bool step_open = false;
SIMRUN_TLS StepOutcome open_outcome = StepOutcome::Done;
SIMRUN_TLS bool awaiting = true;
// The open step is one a handler's call took while the code it interrupted
// held no step: a parked call between its hand-back and its next grant.
// That code goes on in this step when the handler returns, as the call the
// handler interrupted; waiting for another grant would wait for ever (the
// supervisor waits for this step to come back), and handing it back first
// would make the number of steps depend on when the signal came.
SIMRUN_TLS bool open_for_waiter = false;

static void hand_back_open_step() {
    if (!step_open) return;
    step_open = false;
    awaiting = true;
    gate_hand_back(*slot, open_outcome);
}

static bool take_over_open_step() {
    if (!step_open || !open_for_waiter || in_waiter_handler()) return false;
    step_open = false, open_for_waiter = false;
    return true;
}

void begin_step(CallId c) {
    if (!take_over_open_step()) {
        hand_back_open_step();
        // A handler may run in the wait (a parked call waits with the
        // signals it waits for unblocked) and leave a step open.
        gate_await_grant_unless(*slot, take_over_open_step);
    }
    awaiting = false;
    in_step = 1;
    if (attach_pending) {
        attach_pending = false;
        emit(CallId::Attach, pending_attach, 0, 0);
        pending_attach = {};
    }
    emit_pending_jump();
    slot->call.store(static_cast<std::uint32_t>(c), std::memory_order_relaxed);  // what it is in, for a deadlock report
}

void end_step(StepOutcome o) {
    in_step = 0;
    if (o == StepOutcome::Blocked || o == StepOutcome::BlockedChanged) {
        awaiting = true;
        gate_hand_back(*slot, o);
        return;
    }
    step_open = true;
    open_outcome = o;
    open_for_waiter = in_waiter_handler();
}

}  // namespace simrun::preload
