#include "util/json.hpp"

#include <cstdint>

namespace simrun {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if invalid.
static std::size_t utf8_length(std::string_view s, std::size_t i) {
    auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = b(i);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k)
        if ((b(i + k) & 0xC0) != 0x80) return 0;
    if (n == 2 && c < 0xC2) return 0;                              // overlong
    if (n == 3 && c == 0xE0 && b(i + 1) < 0xA0) return 0;           // overlong
    if (n == 3 && c == 0xED && b(i + 1) >= 0xA0) return 0;          // surrogate
    if (n == 4 && (c > 0xF4 || (c == 0xF0 && b(i + 1) < 0x90) || (c == 0xF4 && b(i + 1) >= 0x90))) return 0;
    return n;
}

void append_json_string(std::string& out, std::string_view s) {
    static const char hex[] = "0123456789abcdef";
    out += '"';
    for (std::size_t i = 0; i < s.size();) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        switch (c) {
            case '"': out += "\\\""; ++i; continue;
            case '\\': out += "\\\\"; ++i; continue;
            case '\n': out += "\\n"; ++i; continue;
            case '\r': out += "\\r"; ++i; continue;
            case '\t': out += "\\t"; ++i; continue;
            default: break;
        }
        if (c < 0x20 || c == 0x7F) {
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 0xF];
            ++i;
            continue;
        }
        std::size_t n = utf8_length(s, i);
        if (n == 0) {
            out += "\xEF\xBF\xBD";
            ++i;
            continue;
        }
        out.append(s.data() + i, n);
        i += n;
    }
    out += '"';
}

std::string json_string(std::string_view s) {
    std::string out;
    append_json_string(out, s);
    return out;
}

bool is_text(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if ((c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c == 0x7F) return false;
        const std::size_t n = utf8_length(s, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

std::string readable_bytes(std::string_view s, std::size_t max) {
    static const char hex[] = "0123456789abcdef";
    std::string out;
    std::size_t shown = 0, i = 0;
    for (; i < s.size() && shown < max; ++shown) {
        const auto c = static_cast<unsigned char>(s[i]);
        const std::size_t n = c >= 0x20 && c != 0x7F ? utf8_length(s, i) : 0;
        if (n > 0) {
            if (c == '\\') out += '\\';
            out.append(s.data() + i, n);
            i += n;
        } else if (c == '\n' || c == '\t') {
            out += c == '\n' ? "\\n" : "\\t";
            ++i;
        } else {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 0xF];
            ++i;
        }
    }
    if (i < s.size()) out += "…";
    return out;
}

void append_hex(std::string& out, std::string_view s) {
    static const char hex[] = "0123456789abcdef";
    for (unsigned char c : s) out += hex[c >> 4], out += hex[c & 0xF];
}

}  // namespace simrun
