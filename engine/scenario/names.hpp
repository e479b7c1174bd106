// The rule for names of objects, members, cells and processes: a letter or
// '_' first, then letters, digits and '_'.
#pragma once

#include <cctype>
#include <string_view>

namespace simrun {

inline bool is_name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
inline bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

inline bool valid_name(std::string_view s) {
    if (s.empty() || !is_name_start(s[0])) return false;
    for (char c : s)
        if (!is_name_char(c)) return false;
    return true;
}

}  // namespace simrun
