#include "util/duration.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

namespace simrun {

std::optional<std::int64_t> parse_duration_ns(std::string_view text) {
    double number = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (ec != std::errc{} || end == text.data() || number < 0) return std::nullopt;
    std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
    double scale = 0;
    if (unit == "ns") scale = 1;
    else if (unit == "us") scale = 1e3;
    else if (unit == "ms") scale = 1e6;
    else if (unit == "s") scale = 1e9;
    else if (unit == "m") scale = 60e9;
    else return std::nullopt;
    double ns = number * scale;
    if (!std::isfinite(ns) || ns > 9e18) return std::nullopt;
    return static_cast<std::int64_t>(ns);
}

std::string format_duration_ns(std::int64_t ns) {
    if (ns < 1'000) return fmt::format("{} ns", ns);
    if (ns < 1'000'000) return fmt::format("{:.1f} µs", ns / 1e3);
    if (ns < 1'000'000'000) return fmt::format("{:.1f} ms", ns / 1e6);
    return fmt::format("{:.2f} s", ns / 1e9);
}

}  // namespace simrun
