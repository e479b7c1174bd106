// The folder exec'd programs run in unless their scenario names one: what
// they write (a huge file from a hostile program included) stays out of the
// user's folders and goes with the run. In the sandbox it lives in the
// run's private /dev/shm, so it vanishes with the mount namespace even if
// simrun is killed; without one it is a fresh folder under $TMPDIR (or
// /tmp), removed with everything in it when the owner is destroyed.
#pragma once

#include "util/error.hpp"

#include <string>

namespace simrun {

class ScratchDir {
public:
    static Result<ScratchDir> create(bool in_sandbox);
    ScratchDir() = default;
    ScratchDir(ScratchDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
    ScratchDir& operator=(ScratchDir&& o) noexcept;
    ~ScratchDir() { (void)remove(); }
    const std::string& path() const { return path_; }
    Status remove();

private:
    std::string path_;
};

}  // namespace simrun
