// simrun's version, from CMake's project(VERSION): what --version prints
// and what a grading report records.
#pragma once

namespace simrun {
inline constexpr const char* kSimrunVersion = SIMRUN_VERSION;
}
