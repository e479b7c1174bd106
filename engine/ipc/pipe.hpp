// Pipe owns both ends of an anonymous pipe until they are handed out or closed.
#pragma once

#include "util/error.hpp"
#include "util/unique_fd.hpp"

namespace simrun {

struct Pipe {
    UniqueFd read, write;
    // Ends are not CLOEXEC: scenario processes inherit them across fork and
    // exec; each process closes the ends it does not use (spawn/).
    static Result<Pipe> create();
};

}  // namespace simrun
