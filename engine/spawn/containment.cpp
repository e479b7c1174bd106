#include "spawn/containment.hpp"

#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace simrun {

void drop_capabilities() noexcept {
    // Without SECBIT_NOROOT an exec by uid 0 would be handed every
    // capability again; locked so the program cannot undo it.
    ::prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED, 0, 0, 0);
    ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
    ::syscall(SYS_capset, &header, data);
}

void contain_program(bool root) noexcept {
    if (root) {
        ::prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN, 0, 0, 0);
        return;
    }
    drop_capabilities();
    ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

void apply_limits(const Limits& l, std::int64_t others, std::int64_t tracer_bytes) noexcept {
    auto set = [](int resource, std::int64_t soft, std::int64_t hard) {
        struct rlimit r = {static_cast<rlim_t>(soft), static_cast<rlim_t>(hard)};
        ::setrlimit(resource, &r);
    };
    const std::int64_t cpu_s = (l.cpu_ns + 999'999'999) / 1'000'000'000;
    set(RLIMIT_CPU, cpu_s, cpu_s + 1);
    set(RLIMIT_AS, l.memory + tracer_bytes, l.memory + tracer_bytes);
    set(RLIMIT_NOFILE, l.open_files, l.open_files);
    set(RLIMIT_FSIZE, l.file_size, l.file_size);
    // RLIMIT_NPROC counts every process of the user (in the namespace, or on
    // the machine): leave room for the others, so the program's own group
    // can grow past its limit and be caught there by the supervisor (see
    // LimitWatch) rather than spin on a failing fork.
    if (others >= 0) set(RLIMIT_NPROC, l.processes + others, l.processes + others);
}

}  // namespace simrun
