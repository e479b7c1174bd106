// Without namespaces nothing else would clean up after a killed run: the
// run's registry file (run/registry.hpp) lists the objects it made and
// every process it sees start, for `simrun clean`. The processes carry the
// registry's tag in SIMRUN_RUN. With namespaces it does nothing.
#pragma once

#include "run/registry.hpp"
#include "trace/arena.hpp"

#include <string>
#include <vector>

namespace simrun {

class CrashRegistry {
public:
    // Opens the registry (without namespaces); a failure is a note in
    // `diagnosis`, not an error: the run goes on without one.
    void open(std::vector<std::string>& diagnosis);
    bool active() const { return !registry_.tag().empty(); }
    void add(const std::vector<std::string>& lines);
    // Lists each process of the arena that started since the last call.
    void add_new_pids(const Arena& arena);

private:
    RunRegistry registry_;
    std::vector<bool> registered_;  // per process: its pid is in the registry
};

}  // namespace simrun
