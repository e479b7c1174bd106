// Names with a value computed when the op runs: `P forks.f{k}`, `kill
// worker#{w} SIGTERM`, `send reply{c} "done"`. The op is kept once for
// each declared name the value can give (OpDecl::choice_ops), so every
// name is checked before the run; the value picks one when the op runs.
#pragma once

#include "scenario/model.hpp"

namespace simrun {

inline constexpr std::size_t kMaxNameChoices = 256;

// Does the op text (after a replica's {i} and {n}) name something with a
// {value} inside the name (forks.f{k}, not a separate {value} or a text's)?
bool has_computed_name(const std::string& text);

// Every op read with has_computed_name (OpDecl::expanded set) parsed: its
// shape, its value and its variants, one per matching declared name.
// Throws Failure (positioned) when no name matches, or the op is misused.
void resolve_computed_names(ScenarioDecl& sc);

// The choice's offsets (OpDecl::choice_expr) made those of the op as written.
void to_choice_offsets(OpDecl& op);

}  // namespace simrun
