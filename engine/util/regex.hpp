// Regular expressions over what programs print, in linear time and bounded
// memory: RE2, not std::regex (whose backtracking recurses once per
// character, so `.*` over 30 KB of a program's output overflowed the
// supervisor's stack). The syntax is RE2's: ECMAScript's without
// backreferences and lookaround.
#pragma once

#include <string>
#include <string_view>

namespace simrun {

// "" if `pattern` compiles, else why not.
std::string regex_error(const std::string& pattern);

// Does `pattern` match somewhere in `text`? false for a pattern that does
// not compile (the scenario reader has refused it already).
bool regex_search(std::string_view text, const std::string& pattern);

}  // namespace simrun
