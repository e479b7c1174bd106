// Minimal JSON text helpers for the trace writer (hot enough that going
// through a DOM per line would dominate): string escaping per RFC 8259.
#pragma once

#include <string>
#include <string_view>

namespace simrun {

// Appends s as a quoted JSON string. Invalid UTF-8 bytes become U+FFFD so
// every line stays valid JSON whatever a process wrote into a pipe.
void append_json_string(std::string& out, std::string_view s);
std::string json_string(std::string_view s);

}  // namespace simrun
