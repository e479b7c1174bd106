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
namespace {

// What the code a handler interrupted held, per handler running on this
// thread, innermost last.
struct HandlerFrame {
    std::uintptr_t sp;       // the trampoline's frame: a jump to a stack pointer above it leaves the handler
    std::uint16_t call;      // it interrupted a traced call: hook_call + 1, else 0
    std::uint16_t retrying;  // it interrupted a blocked call's wait for its next step: `retrying`
    bool writing;            // it interrupted a record, one thread (the `writing` flag)
    bool locked;             // it interrupted a record with threads (this thread held `owner`)
    bool in_step;            // it interrupted a controlled step
    bool timed;              // the process was in a timed controlled wait (slot->timed)
    bool awaiting;           // it interrupted a thread that held no step (waiting for, or about to wait for, a grant)
};
constexpr int kHandlerFrames = 16;  // deeper nesting is not followed (a jump leaves those frames)
SIMRUN_TLS HandlerFrame handler_frames[kHandlerFrames];
SIMRUN_TLS int handler_depth = 0;

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
    static constinit std::atomic<int> known{-1};  // probed once; threads that race compute the same
    if (known.load(std::memory_order_relaxed) < 0) known.store(layout_known(), std::memory_order_relaxed);
    return known.load(std::memory_order_relaxed) ? saved_sp(env) : 0;
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
    std::int64_t abandoned = out.call;  // CallId + 1
    if (!abandoned && abandons_step) abandoned = static_cast<std::int64_t>(slot->call.load(std::memory_order_relaxed)) + 1;
    if (!abandoned) abandoned = out.retrying;
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

using JumpFn = void (*)(__jmp_buf_tag*, int);

// Every jump wrapper: what the jump leaves, then libc's jump (resolved in
// the constructor, attach.cpp; asked for here only if a jump comes before
// it ran, as dlsym is not async-signal-safe).
[[noreturn]] void jump(JumpFn libc, const char* name, __jmp_buf_tag* env, int value) {
    leave_handlers(env, value);
    (libc ? libc : reinterpret_cast<JumpFn>(dlsym(RTLD_NEXT, name)))(env, value);
    __builtin_unreachable();
}

}  // namespace

// Frames below ours on this stack belong to handlers that were left
// without our knowing (a C++ exception, setcontext): dropped first.
void enter_handler(std::uintptr_t sp, int hooked) {
    if (!on || vfork_child) return;
    while (handler_depth > 0 && handler_depth <= kHandlerFrames && handler_frames[handler_depth - 1].sp < sp) --handler_depth;
    if (handler_depth < kHandlerFrames)
        handler_frames[handler_depth] = {sp,
                                         static_cast<std::uint16_t>(hooked > 0 ? hook_call + 1 : 0),
                                         retrying,
                                         writing != 0,
                                         threaded.load(std::memory_order_relaxed) && my_tid && owner.load() == my_tid,
                                         in_step != 0,
                                         slot && slot->timed.load() != 0,
                                         awaiting};
    ++handler_depth;
}

bool in_waiter_handler() {
    return handler_depth > 0 && handler_depth <= kHandlerFrames && handler_frames[handler_depth - 1].awaiting;
}

void leave_handler() {
    if (on && !vfork_child && handler_depth > 0) --handler_depth;
}

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

[[noreturn]] void siglongjmp(sigjmp_buf env, int value) noexcept { jump(real.siglongjmp, "siglongjmp", env, value); }
[[noreturn]] void longjmp(jmp_buf env, int value) noexcept { jump(real.longjmp, "longjmp", env, value); }
[[noreturn]] void _longjmp(jmp_buf env, int value) noexcept { jump(real._longjmp, "_longjmp", env, value); }
[[noreturn]] void __longjmp_chk(__jmp_buf_tag env[1], int value) noexcept { jump(real.longjmp_chk, "__longjmp_chk", env, value); }

}  // extern "C"
#pragma GCC visibility pop
