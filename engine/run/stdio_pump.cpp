#include "run/stdio_pump.hpp"

#include "ipc/pipe.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace simrun {

void StdioPump::adopt(const Plan& plan, std::vector<Pipe>& pipes) {
    for (std::size_t i = 0; i < plan.pipes.size(); ++i) {
        const PlanPipe& pp = plan.pipes[i];
        Pipe& pipe = pipes[i];
        const bool captured = pp.role == PipeRole::Stdout || pp.role == PipeRole::Stderr;
        if (!captured) pipe.read.reset();
        if (pp.role != PipeRole::Stdin) pipe.write.reset();
        if (captured) {
            fcntl(pipe.read.get(), F_SETFL, O_NONBLOCK);
            sources_.push_back({pipe.read.get(), pp.writers[0], pp.role == PipeRole::Stderr});
        }
        if (pp.role == PipeRole::Stdin) {
            fcntl(pipe.write.get(), F_SETFL, O_NONBLOCK);
            sinks_.push_back({&pipe.write, *plan.processes[pp.readers[0]].stdin_text});
        }
    }
}

void StdioPump::add_poll_fds(std::vector<pollfd>& fds) const {
    for (const auto& s : sources_) fds.push_back({s.fd, POLLIN, 0});
    for (const auto& s : sinks_) fds.push_back({s.fd->get(), POLLOUT, 0});
}

void StdioPump::pump(RingWriter& ring, LimitWatch& limits) {
    char buf[16384];
    for (auto it = sources_.begin(); it != sources_.end();) {
        ssize_t n;
        while ((n = ::read(it->fd, buf, sizeof buf)) > 0) {
            std::size_t keep = limits.on_output(it->proc, static_cast<std::size_t>(n));
            if (keep == 0) continue;  // over the output limit: read and dropped
            ring.begin(EventKind::Output, static_cast<std::uint16_t>(it->proc), it->stderr ? kRecStderr : 0);
            ring.commit();
            ring.data(buf, keep, static_cast<std::uint16_t>(it->proc));
        }
        // At end of file every writer has closed the pipe (a program that
        // closed or redirected its stdout) and none can open it again:
        // stop watching it, or its POLLHUP would end every ppoll at once
        // and the supervisor would spin beside the programs it traces.
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) it = sources_.erase(it);
        else ++it;
    }
    for (auto it = sinks_.begin(); it != sinks_.end();) {
        ssize_t n = it->text.empty() ? 0 : ::write(it->fd->get(), it->text.data(), it->text.size());
        if (n > 0) it->text.erase(0, static_cast<std::size_t>(n));
        if (it->text.empty() || (n < 0 && errno != EAGAIN)) {
            it->fd->reset();  // EOF for the program's stdin
            it = sinks_.erase(it);
        } else {
            ++it;
        }
    }
}

}  // namespace simrun
