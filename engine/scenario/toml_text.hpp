// Every TOML file simrun reads (scenarios, schedules, grading files) is
// parsed here: checked first for what toml++ 3.3.0 (Debian 12) must not see,
// then parsed, errors positioned.
//
// toml++ 3.3.0's is_non_ascii_horizontal_whitespace() reaches
// TOML_UNREACHABLE (undefined behaviour in a release build) for the code
// points U+00A1..U+0499, U+2C8E..U+3087 (but U+3000) and U+FB26..U+FEFE
// wherever the parser asks "is this whitespace?": outside strings and
// comments, after a backslash in a multi-line basic string, and at the
// first character after a line-ending backslash (tomlplusplus issue 190,
// fixed upstream by PR 305). Outside strings and comments TOML allows
// ASCII only, so a non-ASCII character there is refused as the TOML error
// it is; in the two string positions the affected code points are refused
// with a note. Everywhere else (strings, comments: Greek, Cyrillic, CJK
// punctuation in a Chinese comment) they are read as usual.
#pragma once

#include "scenario/diagnostic.hpp"
#include "util/error.hpp"

#include <toml++/toml.h>

#include <optional>
#include <string>
#include <string_view>

namespace simrun {

// Where `text` holds what toml++ 3.3.0 must not see; nullopt if nothing.
std::optional<Diagnostic> toml_hazard(std::string_view text);

// The first carriage return not followed by a line feed (TOML has no
// lone CR anywhere; toml++ names the character after it, and the file's
// lines are not where an editor shows them); nullopt if none.
std::optional<Diagnostic> lone_carriage_return(std::string_view text);

// lone_carriage_return, toml_hazard, then toml::parse.
Result<toml::table, Diagnostic> parse_toml(std::string_view text, const std::string& path);

}  // namespace simrun
