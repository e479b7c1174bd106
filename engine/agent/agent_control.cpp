#include "agent/agent_impl.hpp"

// Values and control flow: the script's program counter, conditions and
// {values} evaluated on a fixed stack (no allocation after fork).

namespace simrun::detail {

// Writes v in decimal at out; returns the bytes written (at most 20).
static std::size_t write_decimal(std::int64_t v, char* out) {
    char digits[20];
    std::size_t n = 0;
    std::uint64_t u = v < 0 ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
    do digits[n++] = static_cast<char>('0' + u % 10);
    while ((u /= 10) != 0);
    std::size_t len = 0;
    if (v < 0) out[len++] = '-';
    while (n) out[len++] = digits[--n];
    return len;
}

std::string_view Agent::text_of(const Op& op) {
    if (!(op.flags & kOpTemplate)) return plan_.texts[op.first];
    const Plan::Template& t = plan_.templates[op.first];
    std::size_t n = 0;
    for (std::uint32_t k = t.first; k < t.first + t.count; ++k) {
        const Plan::TextPart& part = plan_.text_parts[k];
        if (part.code_len) {
            n += write_decimal(evaluate(part.code, part.code_len), text_buf_ + n);
            continue;
        }
        const std::string& s = plan_.texts[part.text];
        __builtin_memcpy(text_buf_ + n, s.data(), s.size());
        n += s.size();
    }
    return {text_buf_, n};
}

Attempt Agent::fail_untouched(int err, std::int64_t value) {
    Record& r = begin(EventKind::Op);
    r.e.result = -1;
    r.e.err = err;
    r.e.arg = value;
    commit();
    return Attempt::Done;
}

std::uint32_t Agent::step_at(const Op* ops, std::uint32_t pc) {
    const Op& op = ops[pc];
    op_index_ = plan_.processes[proc_].first_op + pc;
    switch (op.kind) {
        case OpKind::Jump:
            if (epoch_ && op.slot <= pc) jump_back(op.slot);
            return op.slot;
        case OpKind::SetValue: set_value(op.slot, value_of(op)); return pc + 1;
        case OpKind::Loop:
            if (values_[op.object] <= 0) return op.slot;
            --values_[op.object];
            locals_changed_ = true;
            return pc + 1;
        case OpKind::Test:
            run_op(op);
            return taken_ ? pc + 1 : op.slot;
        case OpKind::Choose: {  // P forks.f{k}: the variant k names
            choice_value_ = evaluate(op);
            const std::int64_t* keys = plan_.choice_keys.data() + op.value;
            for (std::uint32_t j = 0; j < op.count; ++j)
                if (keys[j] == choice_value_) {
                    op_index_ = op.first + j;
                    run_op(plan_.ops[op_index_]);
                    return pc + 1;
                }
            run_op(op);
            return pc + 1;
        }
        default: run_op(op); return pc + 1;
    }
}

void Agent::jump_back(std::uint32_t to) {
    const std::uint64_t now = epoch_->load(std::memory_order_acquire);
    idle_ = to == jump_to_ && now == jump_epoch_ && !locals_changed_;
    jump_to_ = to, jump_epoch_ = now, locals_changed_ = false;
    idle_in_row_ = idle_ ? idle_in_row_ + 1 : 0;
    if (!idle_ && quiet_) leave_quiet();
    if (controlled_ || quiet_ || idle_in_row_ < kQuietAfter) return;
    quiet_ = true;
    slot_.loop_head.store(plan_.processes[proc_].first_op + to + 1, std::memory_order_relaxed);
    slot_.state.store(ProcState::Spinning, std::memory_order_release);
}

void Agent::leave_quiet() {
    quiet_ = false;
    idle_in_row_ = 0;
    slot_.loop_head.store(0, std::memory_order_relaxed);
    slot_.state.store(ProcState::Running, std::memory_order_release);
}

bool Agent::may_change_shared(const Op& op) {
    if (op.flags & kOpNoWait) return false;  // counted when it succeeds (commit)
    switch (op.kind) {
        case OpKind::Test:
        case OpKind::Jump:
        case OpKind::Loop:
        case OpKind::SetValue:
        case OpKind::ShmLoad:
        case OpKind::Print:
        case OpKind::Sleep: return false;
        case OpKind::Semctl:
            return op.count != kGetval && op.count != kGetncnt && op.count != kGetzcnt && op.count != kIpcStat && op.count != kGetall;
        case OpKind::Shmctl:
        case OpKind::Msgctl: return op.count != kIpcStat;
        default: return true;
    }
}

// Division by zero gives 0 and overflow wraps: a script's arithmetic has
// no error path at run time (docs/scenario-format.md says so).
std::int64_t Agent::evaluate(std::uint32_t first, std::uint16_t len) const {
    std::int64_t stack[kMaxCodeStack];
    std::size_t top = 0;
    const Code* code = plan_.code.data() + first;
    for (std::uint16_t k = 0; k < len; ++k) {
        const Code& c = code[k];
        auto wrap = [](std::int64_t a, std::int64_t b, auto f) {
            return static_cast<std::int64_t>(f(static_cast<std::uint64_t>(a), static_cast<std::uint64_t>(b)));
        };
        switch (c.kind) {
            case CodeKind::Int: stack[top++] = c.value; continue;
            case CodeKind::Cell: stack[top++] = __atomic_load_n(rt_.shm[c.object] + c.slot, __ATOMIC_SEQ_CST); continue;
            case CodeKind::CellAt: {  // out of range reads 0, and the test says ERANGE
                const std::int64_t at = stack[top - 1];
                if (at < 0 || at >= c.value) bad_index_ = true, stack[top - 1] = 0;
                else stack[top - 1] = __atomic_load_n(rt_.shm[c.object] + c.slot + at, __ATOMIC_SEQ_CST);
                continue;
            }
            case CodeKind::Sem: stack[top++] = ::semctl(rt_.semids[c.object], static_cast<int>(c.slot), GETVAL); continue;
            case CodeKind::Psem: {
                int v = 0;
                sem_getvalue(rt_.psems[c.object], &v);
                stack[top++] = v;
                continue;
            }
            case CodeKind::Value: stack[top++] = values_[c.slot]; continue;
            case CodeKind::Neg: stack[top - 1] = wrap(0, stack[top - 1], [](std::uint64_t a, std::uint64_t b) { return a - b; }); continue;
            case CodeKind::Not: stack[top - 1] = !stack[top - 1]; continue;
            default: break;
        }
        std::int64_t b = stack[--top], a = stack[top - 1], r = 0;
        switch (c.kind) {
            case CodeKind::Add: r = wrap(a, b, [](std::uint64_t x, std::uint64_t y) { return x + y; }); break;
            case CodeKind::Sub: r = wrap(a, b, [](std::uint64_t x, std::uint64_t y) { return x - y; }); break;
            case CodeKind::Mul: r = wrap(a, b, [](std::uint64_t x, std::uint64_t y) { return x * y; }); break;
            case CodeKind::Div: r = b == 0 || (a == INT64_MIN && b == -1) ? 0 : a / b; break;
            case CodeKind::Mod: r = b == 0 || (a == INT64_MIN && b == -1) ? 0 : a % b; break;
            case CodeKind::Lt: r = a < b; break;
            case CodeKind::Le: r = a <= b; break;
            case CodeKind::Gt: r = a > b; break;
            case CodeKind::Ge: r = a >= b; break;
            case CodeKind::Eq: r = a == b; break;
            case CodeKind::Ne: r = a != b; break;
            case CodeKind::And: r = a && b; break;
            case CodeKind::Or: r = a || b; break;
            default: break;
        }
        stack[top - 1] = r;
    }
    return top ? stack[top - 1] : 0;
}

// An if's or a while's test: one step, recorded with its outcome.
// Controlled mode parks a busy wait while its test holds: another process
// must step (and may change what it reads) before it tests again, so a
// strategy that favours the spinner cannot starve the one it waits for.
//
// Free mode records a busy wait twice: its first test that holds, then,
// spinning unrecorded (a trace line per test would flood the trace), the
// test that fails, with how many tests it took. After kSpinsToReport tests
// in a row its slot says Spinning, so that a run where every live process
// spins or waits ends as a livelock instead of at its timeout.
Attempt Agent::test(const Op& op) {
    bad_index_ = false;
    taken_ = evaluate(op) != 0;
    // Controlled: a while whose last iteration changed nothing, and nothing
    // changed since, would run that iteration again: parked like a busy wait.
    const bool unchanged = idle_ && (op.flags & kOpWhile) && epoch_->load(std::memory_order_acquire) == jump_epoch_;
    if (controlled_ && taken_ && ((op.flags & kOpSpin) || unchanged) && !bad_index_) return Attempt::WouldBlock;
    idle_ = false;
    Record& first = begin(EventKind::Op);
    first.e.result = taken_;
    first.e.err = bad_index_ ? ERANGE : 0;
    commit();
    if (controlled_ || !taken_ || !(op.flags & kOpSpin)) return Attempt::Done;
    constexpr std::int64_t kSpinsToReport = 10'000;
    std::int64_t tests = 1;
    while ((taken_ = evaluate(op) != 0)) {
        if (++tests == kSpinsToReport) slot_.state.store(ProcState::Spinning, std::memory_order_release);
        if (tests % 64 == 0) sched_yield();  // a spinner on the CPU of the process it waits for lets it run
        else __builtin_ia32_pause();
    }
    if (tests >= kSpinsToReport) slot_.state.store(running_state(), std::memory_order_release);
    Record& r = begin(EventKind::Op);
    r.e.result = 0;
    r.e.arg = tests + 1;  // the tests it made, this last one too
    commit();
    return Attempt::Done;
}

}  // namespace simrun::detail
