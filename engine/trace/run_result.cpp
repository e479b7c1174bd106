#include "trace/run_result.hpp"

namespace simrun {

const char* verdict_name(Verdict v) {
    switch (v) {
        case Verdict::Ok: return "ok";
        case Verdict::RuntimeError: return "runtime error";
        case Verdict::Signaled: return "killed by a signal";
        case Verdict::TimeLimit: return "time limit";
        case Verdict::MemoryLimit: return "memory limit";
        case Verdict::OutputLimit: return "output limit";
        case Verdict::ProcessLimit: return "process limit";
        case Verdict::NotStarted: return "could not start";
        case Verdict::Stopped: return "stopped";
    }
    return "?";
}

}  // namespace simrun
