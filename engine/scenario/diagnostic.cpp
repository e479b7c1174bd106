#include "scenario/diagnostic.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace simrun {

SourcePos pos_in_string(SourcePos string_pos, std::size_t offset) {
    if (string_pos.line == 0) return string_pos;
    return {string_pos.line, string_pos.column + 1 + static_cast<int>(offset)};
}

static std::string_view line_of(std::string_view source, int line) {
    std::size_t start = 0;
    for (int l = 1; l < line; ++l) {
        std::size_t nl = source.find('\n', start);
        if (nl == std::string_view::npos) return {};
        start = nl + 1;
    }
    std::size_t end = source.find('\n', start);
    if (end == std::string_view::npos) end = source.size();
    std::string_view text = source.substr(start, end - start);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    return text;
}

// A control character from a file, as the error shows it: a file must not
// drive the terminal (ESC sequences) or break the error's lines.
static bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

static std::string escaped_control(unsigned char c) { return fmt::format("\\x{:02x}", c); }

std::string escape_controls(std::string_view text, bool keep_newlines) {
    std::string out;
    for (unsigned char c : text)
        out += is_control(c) && c != '\t' && !(keep_newlines && c == '\n') ? escaped_control(c) : std::string(1, static_cast<char>(c));
    return out;
}

std::string render_diagnostic(std::string_view path, std::string_view source,
                              const Diagnostic& d) {
    const std::string message = escape_controls(d.message, true);
    if (d.pos.line == 0) return fmt::format("{}: error: {}\n", path, message);
    std::string out = fmt::format("{}:{}:{}: error: {}\n", path, d.pos.line, d.pos.column, message);
    std::string_view text = line_of(source, d.pos.line);
    out += escape_controls(text, false);
    out += '\n';
    // Keep tabs, and the width of escapes, so the caret lines up with the text above it.
    for (int i = 0; i + 1 < d.pos.column; ++i) {
        const auto at = static_cast<std::size_t>(i);
        const unsigned char c = at < text.size() ? static_cast<unsigned char>(text[at]) : ' ';
        if (c == '\t') out += '\t';
        else if (is_control(c)) out.append(escaped_control(c).size(), ' ');
        else out += ' ';
    }
    out += "^\n";
    return out;
}

static std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
    std::string best;
    // Close enough to be a typo, and never a word with nothing in common.
    std::size_t best_d = std::min(std::max<std::size_t>(2, word.size() / 3) + 1, word.size());
    for (const auto& c : candidates) {
        // The distance is at least the difference in length: a 64 KiB word
        // costs nothing (it cost 3 s a file under the fuzzer).
        const std::size_t apart = word.size() > c.size() ? word.size() - c.size() : c.size() - word.size();
        if (apart >= best_d) continue;
        std::size_t d = edit_distance(word, c);
        if (d < best_d) best_d = d, best = c;
    }
    return best;
}

std::string did_you_mean_suffix(std::string_view word, const std::vector<std::string>& candidates) {
    std::string best = did_you_mean(word, candidates);
    return best.empty() ? std::string{} : fmt::format(" (did you mean '{}'?)", best);
}

}  // namespace simrun
