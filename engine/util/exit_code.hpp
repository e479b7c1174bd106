// simrun's exit codes, as the command line, the sandbox relay and explore
// return them (README.md lists them for users).
#pragma once

namespace simrun {

enum class ExitCode : int {
    Ok = 0,            // every expectation holds
    Failed = 1,        // an expectation failed (or deadlock / timeout where not expected)
    Usage = 2,         // the scenario, a schedule or the command line is wrong: nothing spawned
    Internal = 3,      // simrun itself or its sandbox failed
    Interrupted = 130  // Ctrl-C, SIGTERM: every process was killed, the trace is complete
};

constexpr int code_of(ExitCode c) { return static_cast<int>(c); }

}  // namespace simrun
