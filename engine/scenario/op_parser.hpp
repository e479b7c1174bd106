// Parses one op of a `run` list ("P slots.empty", "buf.count += 1 atomic",
// 'write data "hello\n"', ...) into an OpDecl with names still unresolved.
// The grammar is documented in docs/scenario-format.md.
#pragma once

#include "scenario/model.hpp"

namespace simrun {

bool parse_op(const std::string& text, OpDecl& out, TextError& err);

}  // namespace simrun
