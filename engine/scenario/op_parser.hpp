// Parses one op of a `run` list ("P slots.empty", "buf.count += 1 atomic",
// 'write data "hello\n"', ...) into an OpDecl with names still unresolved.
// The grammar is documented in docs/scenario-format.md.
#pragma once

#include "scenario/model.hpp"

namespace simrun {

bool parse_op(const std::string& text, OpDecl& out, TextError& err);

// After parsing an expanded op: its offsets made offsets of the op as
// written (OpDecl::origin), so that later errors point at what was written.
void to_written_offsets(OpDecl& op);

// Does the op use {i}, {n} or another {expression}?
bool has_replica_values(const std::string& text);

// Replica i of n's op text: each {expression} of numbers, i and n replaced
// by its value (forks.f{(i + 1) % n} -> forks.f0 for i = 4, n = 5); one
// naming a value bound at run time ({req.type + 10}) is kept for the op
// parser. origin: for each offset of out (and one past its end), the
// offset in text, so that errors point at what was written.
bool expand_replica(const std::string& text, std::int64_t i, std::int64_t n, std::string& out, std::vector<std::uint32_t>& origin,
                    TextError& err);

}  // namespace simrun
