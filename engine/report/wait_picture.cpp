#include "report/wait_picture.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <fstream>

extern char** environ;

namespace simrun {
namespace {

// `dot -Tsvg -o svg dot_path`, its output and errors discarded; false if
// there is no dot or it failed.
bool render_svg(const std::string& dot_path, const std::string& svg_path) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    std::string a0 = "dot", a1 = "-Tsvg", a2 = "-o";
    char* argv[] = {a0.data(), a1.data(), a2.data(), const_cast<char*>(svg_path.c_str()), const_cast<char*>(dot_path.c_str()), nullptr};
    pid_t pid = -1;
    const int err = posix_spawnp(&pid, "dot", &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (err != 0) return false;
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

std::string write_wait_picture(const std::string& out_dir, const std::string& dot) {
    const std::string dot_path = out_dir + "/deadlock.dot", svg_path = out_dir + "/deadlock.svg";
    (void)::unlink(dot_path.c_str());
    (void)::unlink(svg_path.c_str());
    if (dot.empty()) return {};
    {
        std::ofstream f(dot_path);
        f << dot;
        if (!f.flush()) return {};
    }
    if (render_svg(dot_path, svg_path)) return fmt::format("wait-for graph: {}, {}", dot_path, svg_path);
    (void)::unlink(svg_path.c_str());
    return fmt::format("wait-for graph: {} (install Graphviz for an SVG: dot -Tsvg)", dot_path);
}

}  // namespace simrun
