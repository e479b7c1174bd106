#include "run/crash_registry.hpp"

#include "run/proc_stats.hpp"

#include <cstdlib>

#include <fmt/format.h>

namespace simrun {

void CrashRegistry::open(std::vector<std::string>& diagnosis) {
    auto registry = RunRegistry::create();
    if (!registry) {
        diagnosis.push_back("note: no crash registry (" + registry.error().message + "): `simrun clean` cannot help after a crash");
        return;
    }
    registry_ = std::move(registry.value());
    ::setenv("SIMRUN_RUN", registry_.tag().c_str(), 1);
}

void CrashRegistry::add(const std::vector<std::string>& lines) {
    if (active()) (void)registry_.add(lines);
}

void CrashRegistry::add_new_pids(const Arena& arena) {
    if (!active()) return;
    if (registered_.empty()) registered_.assign(arena.processes(), false);
    std::vector<std::string> lines;
    for (std::uint32_t p = 0; p < arena.processes(); ++p) {
        pid_t pid = arena.slot(p).pid.load();
        if (registered_[p] || pid <= 0) continue;
        registered_[p] = true;
        if (std::uint64_t started = start_time(pid)) lines.push_back(fmt::format("pid {} {}", pid, started));
    }
    if (!lines.empty()) (void)registry_.add(lines);
}

}  // namespace simrun
