#include "util/size.hpp"

#include <fmt/format.h>

#include <charconv>

namespace simrun {

std::optional<std::int64_t> parse_size_bytes(std::string_view text) {
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || n < 0) return std::nullopt;
    std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
    static const std::pair<std::string_view, std::int64_t> units[] = {
        {"", 1}, {"B", 1}, {"KiB", 1LL << 10}, {"MiB", 1LL << 20}, {"GiB", 1LL << 30}, {"TiB", 1LL << 40},
        {"KB", 1000}, {"kB", 1000}, {"MB", 1'000'000}, {"GB", 1'000'000'000}};
    for (auto [name, scale] : units)
        if (unit == name) {
            if (n > INT64_MAX / scale) return std::nullopt;
            return n * scale;
        }
    return std::nullopt;
}

std::string format_size_bytes(std::int64_t bytes) {
    static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(bytes);
    int u = 0;
    while (v >= 1024 && u < 4) v /= 1024, ++u;
    if (u == 0 || v == static_cast<double>(static_cast<std::int64_t>(v))) return fmt::format("{} {}", static_cast<std::int64_t>(v), units[u]);
    return fmt::format("{:.1f} {}", v, units[u]);
}

}  // namespace simrun
