#include "spawn/runtime.hpp"

#include <unistd.h>

#include <cstdlib>
#include <string_view>

extern char** environ;

namespace simrun {

// Absolute, since the program starts in another folder than simrun's.
static std::string absolute(const std::string& path) {
    if (path.empty() || path[0] == '/') return path;
    char cwd[4096];
    return getcwd(cwd, sizeof cwd) ? std::string(cwd) + "/" + path : path;
}

static std::string resolve_program(const std::string& name) {
    if (name.find('/') != std::string::npos) return absolute(name);
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
    std::size_t start = 0;
    while (start <= dirs.size()) {
        std::size_t end = dirs.find(':', start);
        if (end == std::string::npos) end = dirs.size();
        std::string dir = dirs.substr(start, end - start);
        std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
        if (access(candidate.c_str(), X_OK) == 0) return absolute(candidate);
        start = end + 1;
    }
    return name;  // execve reports ENOENT, recorded as exec_failed
}

void prepare_exec(Runtime& rt, const std::string& scratch) {
    const auto& procs = rt.plan->processes;
    rt.workdir.assign(procs.size(), {});
    rt.exec_path.assign(procs.size(), {});
    rt.argv.assign(procs.size(), {});
    rt.env_strings.assign(procs.size(), {});
    rt.envp.assign(procs.size(), {});
    for (std::size_t i = 0; i < procs.size(); ++i) {
        if (!procs[i].is_exec()) continue;
        rt.exec_path[i] = resolve_program(procs[i].argv[0]);
        rt.workdir[i] = procs[i].workdir.empty() ? scratch : procs[i].workdir;
        for (const auto& a : procs[i].argv) rt.argv[i].push_back(const_cast<char*>(a.c_str()));
        rt.argv[i].push_back(nullptr);
        // simrun's environment, with the declared variables added or replaced.
        for (char** e = environ; *e; ++e) {
            std::string_view entry(*e);
            bool replaced = false;
            for (const auto& [k, v] : procs[i].env) replaced = replaced || entry.substr(0, entry.find('=')) == k;
            if (!replaced) rt.env_strings[i].emplace_back(entry);
        }
        for (const auto& [k, v] : procs[i].env) rt.env_strings[i].push_back(k + "=" + v);
        for (auto& s : rt.env_strings[i]) rt.envp[i].push_back(s.data());
        rt.envp[i].push_back(nullptr);
    }
}

}  // namespace simrun
