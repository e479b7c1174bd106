// Sizes written in scenarios: 4096, "512KiB", "64MiB", "1GiB" (powers of
// 1024), "10MB" (powers of 1000), "100B". Returns bytes, or nothing when
// malformed or out of range.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace simrun {

std::optional<std::int64_t> parse_size_bytes(std::string_view text);
std::string format_size_bytes(std::int64_t bytes);  // "64 MiB", "1.5 GiB", "100 B"

}  // namespace simrun
