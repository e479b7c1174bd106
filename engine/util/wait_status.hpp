// A wait status as waitpid(2) returns it, as a value: the one place that
// decodes the raw int and says it in words. Stored in records and process
// ends as the raw int (it crosses processes in shared memory); everything
// that reads or shows one goes through this type.
#pragma once

#include <string>

namespace simrun {

class WaitStatus {
public:
    constexpr WaitStatus() = default;
    constexpr explicit WaitStatus(int raw) : raw_(raw) {}
    static WaitStatus exited_with(int code) { return WaitStatus((code & 0xff) << 8); }
    static WaitStatus killed_by(int sig, bool core = false) { return WaitStatus((sig & 0x7f) | (core ? 0x80 : 0)); }

    int raw() const { return raw_; }
    bool exited() const;
    int code() const;  // exited(): the exit code
    bool signaled() const;
    int signal() const;  // signaled(): the signal that killed it
    bool core_dumped() const;
    // As a shell's $?: the exit code, or 128 + the signal that killed it; -1 for neither (stopped).
    int shell_code() const;

    // "exited 0", "killed by SIGKILL", "killed by SIGSEGV (core dumped)".
    std::string describe() const;
    // signaled(): "SIGSEGV", "SIGSEGV (core dumped)", a number when the signal has no name.
    std::string signal_text() const;

    friend bool operator==(WaitStatus, WaitStatus) = default;

private:
    int raw_ = 0;
};

}  // namespace simrun
