#include "util/error.hpp"

#include <cstring>

namespace simrun {

Error sys_error(std::string call, int err) {
    std::string message = call + ": " + std::strerror(err);
    return Error{std::move(message), err, std::move(call)};
}

}  // namespace simrun
