// Durations written in scenarios and on the command line: "10s", "250ms",
// "5us", "1.5s", "2m". Returns nanoseconds, or nothing when malformed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace simrun {

std::optional<std::int64_t> parse_duration_ns(std::string_view text);
std::string format_duration_ns(std::int64_t ns);  // "41.2 ms"

}  // namespace simrun
