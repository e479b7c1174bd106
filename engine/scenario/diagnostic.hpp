// A positioned scenario error and its rendering:
//   path:line:col: error: message
//   <the source line>
//   <caret under the column>
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace simrun {

struct SourcePos {
    int line = 0;    // 1-based; 0 = unknown
    int column = 0;  // 1-based
};

// An error inside one string value (an op, an expression): offset into it.
struct TextError {
    std::size_t offset = 0;
    std::string message;
};

struct Diagnostic {
    SourcePos pos;
    std::string message;
};

// Position of the character at `offset` inside a one-line TOML string whose
// opening quote is at `string_pos` (escapes before offset are not counted).
SourcePos pos_in_string(SourcePos string_pos, std::size_t offset);

// Control characters (but tabs, and newlines if kept) as \xNN.
std::string escape_controls(std::string_view text, bool keep_newlines);

std::string render_diagnostic(std::string_view path, std::string_view source,
                              const Diagnostic& d);

// Closest candidate by edit distance, if close enough to be a likely typo.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);
std::string did_you_mean_suffix(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace simrun
