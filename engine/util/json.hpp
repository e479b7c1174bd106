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

// Text a reader can read as it is: valid UTF-8 with no control characters
// but newline, tab and carriage return.
bool is_text(std::string_view s);

// For a line of the timeline: printable characters as they are, newline and
// tab as \n and \t, every other byte as \xNN; at most `max` characters
// shown, then "…".
std::string readable_bytes(std::string_view s, std::size_t max);

// Two lower-case hex digits a byte.
void append_hex(std::string& out, std::string_view s);

}  // namespace simrun
