// A RunReport as bytes, to bring it out of the sandbox a run was made in:
// explore runs every schedule in a fresh sandbox (its own IPC, PID and
// mount namespaces) and reads the report back through a pipe.
#pragma once

#include "session/session.hpp"

#include <optional>
#include <string>

namespace simrun {

std::string encode_report(const RunReport& r);
// Nothing if the bytes are not a whole report (the run's process died).
std::optional<RunReport> decode_report(const std::string& bytes);

}  // namespace simrun
