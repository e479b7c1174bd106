// A deadlock's wait-for graph as files beside the trace: deadlock.dot
// (Graphviz), and deadlock.svg when Graphviz's `dot` is on the PATH.
#pragma once

#include <string>

namespace simrun {

// Removes an earlier run's pictures from out_dir, then writes this run's
// (dot: "" for none). Returns a line for the report ("" when nothing was
// written): "wait-for graph: OUT/deadlock.dot, OUT/deadlock.svg".
std::string write_wait_picture(const std::string& out_dir, const std::string& dot);

}  // namespace simrun
