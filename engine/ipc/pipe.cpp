#include "ipc/pipe.hpp"

#include <unistd.h>

namespace simrun {

Result<Pipe> Pipe::create() {
    int fds[2];
    if (::pipe(fds) != 0) return sys_error("pipe()");
    return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

}  // namespace simrun
