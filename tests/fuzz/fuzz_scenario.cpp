// libFuzzer harness: a scenario file's text through the whole front of the
// pipeline (the TOML hazard scan, toml++, the scenario reader with its op
// and expression parsers, the planner's checks) and, on failure, the
// rendered diagnostic with its caret.
#include "plan/planner.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    auto plan = simrun::load_plan_source("fuzz.toml", text);
    if (!plan && plan.error().empty()) __builtin_trap();  // an error says what is wrong
    return 0;
}
