#include "util/wait_status.hpp"

#include <fmt/format.h>
#include <sys/wait.h>

#include <cstring>

namespace simrun {

bool WaitStatus::exited() const { return WIFEXITED(raw_); }
int WaitStatus::code() const { return WEXITSTATUS(raw_); }
bool WaitStatus::signaled() const { return WIFSIGNALED(raw_); }
int WaitStatus::signal() const { return WTERMSIG(raw_); }
bool WaitStatus::core_dumped() const { return WIFSIGNALED(raw_) && WCOREDUMP(raw_); }
int WaitStatus::shell_code() const { return exited() ? code() : signaled() ? 128 + signal() : -1; }

std::string WaitStatus::signal_text() const {
    const char* abbrev = sigabbrev_np(signal());
    return fmt::format("{}{}", abbrev ? fmt::format("SIG{}", abbrev) : std::to_string(signal()), core_dumped() ? " (core dumped)" : "");
}

std::string WaitStatus::describe() const {
    if (exited()) return fmt::format("exited {}", code());
    if (signaled()) return "killed by " + signal_text();
    return fmt::format("status {:#x}", raw_);
}

}  // namespace simrun
