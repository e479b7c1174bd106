// libFuzzer harness: a grading file's text, read as if it sat in
// scenarios/grading/ (the scenarios it names are found there).
#include "grade/grading_file.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    auto g = simrun::read_grading_source(SIMRUN_SOURCE_DIR "/scenarios/grading/fuzz.toml", text);
    if (!g && g.error().empty()) __builtin_trap();
    return 0;
}
