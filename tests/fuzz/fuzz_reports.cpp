// libFuzzer harness: the JSON files simrun reads back (a submission's
// report.json, a shard's class.json) and the JSON parser under them.
#include "grade/batch.hpp"
#include "grade/report_reader.hpp"
#include "util/json_value.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    (void)simrun::parse_json(text);
    simrun::GradedAssignment assignment;
    (void)simrun::read_grade_report(text, &assignment);
    (void)simrun::read_class_json(text);
    return 0;
}
