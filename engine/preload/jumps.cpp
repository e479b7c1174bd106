// Leaving a signal handler by siglongjmp (or longjmp): the classic timeout,
// an alarm whose handler jumps out of a blocked call. The call it
// interrupted never returns, so its wrapper never records it, never ends
// its controlled step and never gives back what it held. These wrappers
// find the handlers the jump leaves (the trampoline's frames below the
// target's stack pointer), put the tracer's per-thread state back as the
// code at the target holds it, record the jump with the call it abandoned,
// and end that call's step.
#include "preload/tracer.hpp"

#include <dlfcn.h>
#include <setjmp.h>

namespace simrun::preload {

SIMRUN_TLS HandlerFrame handler_frames[kHandlerFrames];
SIMRUN_TLS int handler_depth = 0;

namespace {

// The record of a jump made outside a controlled step, for the next step.
SIMRUN_TLS bool jump_pending = false;
SIMRUN_TLS Args pending_args;

#if defined(__x86_64__) && defined(__GLIBC__)
// The stack pointer in a glibc jmp_buf on x86-64, mangled with the
// thread's pointer guard (PTR_MANGLE: xor with %fs:0x30, rotate left 17).
std::uintptr_t saved_sp(const __jmp_buf_tag* env) {
    auto v = static_cast<std::uintptr_t>(env->__jmpbuf[6]);  // JB_RSP
    v = (v >> 17) | (v << 47);
    std::uintptr_t guard;
    asm("mov %%fs:0x30, %0" : "=r"(guard));
    return v ^ guard;
}

// Whether saved_sp() reads this glibc's layout: a setjmp here must give a
// stack pointer just below this function's frame.
[[gnu::noinline]] bool layout_known() {
    jmp_buf probe;
    if (_setjmp(probe) != 0) return false;  // never jumped to
    const auto frame = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
    const std::uintptr_t sp = saved_sp(probe);
    return sp < frame && frame - sp < 65536;
}
#endif

// The stack pointer the jump goes back to; 0 if unknown (then every
// handler counts as left, the usual case).
std::uintptr_t target_sp(const __jmp_buf_tag* env) {
#if defined(__x86_64__) && defined(__GLIBC__)
    static int known = -1;  // probed once; threads that race compute the same
    if (known < 0) known = layout_known();
    return known ? saved_sp(env) : 0;
#else
    (void)env;
    return 0;
#endif
}

void leave_handlers(const __jmp_buf_tag* env, int value) {
    if (!on || vfork_child || handler_depth <= 0) return;
    const int depth = handler_depth < kHandlerFrames ? handler_depth : kHandlerFrames;
    const std::uintptr_t sp = target_sp(env);
    int stay = depth;  // handlers the jump stays inside
    if (sp == 0) stay = 0;
    else
        while (stay > 0 && handler_frames[stay - 1].sp < sp) --stay;
    if (stay == depth) {
        handler_depth = depth;  // a jump inside the innermost handler we follow (it may leave deeper ones)
        return;
    }
    const HandlerFrame& out = handler_frames[stay];  // the outermost handler left
    const HandlerFrame none{};
    const HandlerFrame& at = stay > 0 ? handler_frames[stay - 1] : none;  // what the target holds
    const std::int64_t left = handler_depth - stay;
    handler_depth = stay;
    // The target is program code (in a handler or not), not inside one of
    // our wrappers or records.
    in_hook = 0;
    writing = at.writing;
    if (!at.locked && my_tid && owner.load() == my_tid) owner.store(0, std::memory_order_release);
    const bool abandons_step = in_step && !at.in_step;
    std::int64_t abandoned = 0;  // CallId + 1
    if (out.hooked) abandoned = out.call + 1;
    else if (abandons_step) abandoned = static_cast<std::int64_t>(slot->op.load(std::memory_order_relaxed)) + 1;
    else if (out.retrying) abandoned = out.retrying;
    retrying = at.retrying;
    if (slot && controlled) slot->timed.store(at.timed);
    const Args a{value, left, abandoned};
    if (controlled && !in_step) {
        // Outside any step (the handler ran while the process waited for
        // its grant): recorded with its next step, so the trace keeps the
        // order the schedule gives.
        jump_pending = true, pending_args = a;
        return;
    }
    emit(CallId::Longjmp, a, 0, 0);
    if (abandons_step) end_step(StepOutcome::Done);
}

// libc's jump, resolved in the constructor (attach.cpp); asked for here
// only if a jump comes before it ran (dlsym is not async-signal-safe).
template <typename F>
F next(F f, const char* name) {
    return f ? f : reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

}  // namespace

void emit_pending_jump() {
    if (!jump_pending) return;
    jump_pending = false;
    emit(CallId::Longjmp, pending_args, 0, 0);
}

}  // namespace simrun::preload

using namespace simrun::preload;

#pragma GCC visibility push(default)
extern "C" {

// _FORTIFY_SOURCE builds call __longjmp_chk for longjmp and siglongjmp.
[[noreturn]] void __longjmp_chk(__jmp_buf_tag env[1], int value) noexcept;

[[noreturn]] void siglongjmp(sigjmp_buf env, int value) noexcept {
    leave_handlers(env, value);
    next(real.siglongjmp, "siglongjmp")(env, value);
    __builtin_unreachable();
}
[[noreturn]] void longjmp(jmp_buf env, int value) noexcept {
    leave_handlers(env, value);
    next(real.longjmp, "longjmp")(env, value);
    __builtin_unreachable();
}
[[noreturn]] void _longjmp(jmp_buf env, int value) noexcept {
    leave_handlers(env, value);
    next(real._longjmp, "_longjmp")(env, value);
    __builtin_unreachable();
}
[[noreturn]] void __longjmp_chk(__jmp_buf_tag env[1], int value) noexcept {
    leave_handlers(env, value);
    next(real.longjmp_chk, "__longjmp_chk")(env, value);
    __builtin_unreachable();
}

}  // extern "C"
#pragma GCC visibility pop
