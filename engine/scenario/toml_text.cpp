#include "scenario/toml_text.hpp"

#include "scenario/toml_fields.hpp"

#include <fmt/format.h>

namespace simrun {
namespace {

// The code points that reach TOML_UNREACHABLE in toml++ 3.3.0 (see the header).
bool unreachable_in_tomlpp(char32_t c) {
    return (c >= 0xA1 && c <= 0x499) || (c >= 0x2C8E && c <= 0x3087 && c != 0x3000) || (c >= 0xFB26 && c <= 0xFEFE);
}

class Scanner {
public:
    explicit Scanner(std::string_view text) : s_(text) {}

    std::optional<Diagnostic> scan() {
        while (i_ < s_.size()) {
            const char c = s_[i_];
            if (c == '#') {
                skip_to_line_end();
            } else if (c == '"' || c == '\'') {
                const bool multi = s_.compare(i_, 3, std::string(3, c)) == 0;
                if (auto d = string(c, multi)) return d;
            } else if (static_cast<unsigned char>(c) >= 0x80) {
                const auto at = here();
                return Diagnostic{at, fmt::format("'{}': TOML allows only ASCII outside strings and comments (quote the key: \"...\")",
                                                  std::string(s_.substr(i_, utf8_length())))};
            } else {
                advance();
            }
        }
        return std::nullopt;
    }

private:
    SourcePos here() const { return {line_, static_cast<int>(i_ - line_start_) + 1}; }
    void advance() {
        if (s_[i_] == '\n') ++line_, line_start_ = i_ + 1;
        ++i_;
    }
    void skip_to_line_end() {
        while (i_ < s_.size() && s_[i_] != '\n') ++i_;
    }
    std::size_t utf8_length() const {
        const auto b = static_cast<unsigned char>(s_[i_]);
        std::size_t n = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
        return std::min(n, s_.size() - i_);
    }
    // The code point at i_ (0xFFFD for a malformed sequence: toml++ reports those itself).
    char32_t code_point() const {
        const std::size_t n = utf8_length();
        const auto b = static_cast<unsigned char>(s_[i_]);
        if (n == 1) return b < 0x80 ? b : 0xFFFD;
        char32_t c = b & (0x7F >> n);
        for (std::size_t k = 1; k < n; ++k) {
            const auto cont = static_cast<unsigned char>(s_[i_ + k]);
            if ((cont & 0xC0) != 0x80) return 0xFFFD;
            c = (c << 6) | (cont & 0x3F);
        }
        return c;
    }
    std::optional<Diagnostic> refuse_here(const char* where) const {
        return Diagnostic{here(), fmt::format("U+{:04X} {}: toml++ 3.3.0 cannot read it there (tomlplusplus issue 190); move it or write it "
                                              "as \\u{:04X}",
                                              static_cast<std::uint32_t>(code_point()), where, static_cast<std::uint32_t>(code_point()))};
    }

    // From the opening delimiter to past the closing one (or the end).
    std::optional<Diagnostic> string(char quote, bool multi) {
        i_ += multi ? 3 : 1;
        const bool basic = quote == '"';
        while (i_ < s_.size()) {
            const char c = s_[i_];
            if (c == quote && (!multi || s_.compare(i_, 3, std::string(3, quote)) == 0)) {
                i_ += multi ? 3 : 1;
                while (multi && i_ < s_.size() && s_[i_] == quote) ++i_;  // up to two quotes of the content before the end
                return std::nullopt;
            }
            if (c == '\n' && !multi) return std::nullopt;  // toml++ reports the unterminated string
            if (basic && c == '\\') {
                ++i_;
                if (i_ >= s_.size()) return std::nullopt;
                if (multi && unreachable_in_tomlpp(code_point())) return refuse_here("after a backslash");
                if (multi && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\r' || s_[i_] == '\n')) {
                    // A line-ending backslash: toml++ tests each character up to the next non-blank one.
                    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\r' || s_[i_] == '\n')) advance();
                    if (i_ < s_.size() && unreachable_in_tomlpp(code_point())) return refuse_here("after a line-ending backslash");
                    continue;
                }
            }
            if (i_ < s_.size()) advance();
        }
        return std::nullopt;
    }

    std::string_view s_;
    std::size_t i_ = 0, line_start_ = 0;
    int line_ = 1;
};

}  // namespace

std::optional<Diagnostic> toml_hazard(std::string_view text) { return Scanner(text).scan(); }

std::optional<Diagnostic> lone_carriage_return(std::string_view text) {
    int line = 1;
    std::size_t line_start = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\n') ++line, line_start = i + 1;
        else if (text[i] == '\r' && (i + 1 == text.size() || text[i + 1] != '\n'))
            return Diagnostic{{line, static_cast<int>(i - line_start) + 1},
                              "a carriage return (\\r) without a line feed: TOML lines end in \\n or \\r\\n (a file with old Mac line "
                              "endings? tr '\\r' '\\n' converts it)"};
    }
    return std::nullopt;
}

Result<toml::table, Diagnostic> parse_toml(std::string_view text, const std::string& path) {
    if (auto d = lone_carriage_return(text)) return *d;
    if (auto d = toml_hazard(text)) return *d;
    try {
        return toml::parse(text, path);
    } catch (const toml::parse_error& e) {
        return Diagnostic{toml_fields::pos_of(e.source()), std::string(e.description())};
    }
}

}  // namespace simrun
