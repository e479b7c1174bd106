#include "util/error.hpp"

#include <cstring>

namespace simrun {

Error sys_error(std::string call, int err) {
    return Error{std::move(call) + ": " + std::strerror(err)};
}

}  // namespace simrun
