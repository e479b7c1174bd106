#include "spawn/runtime.hpp"

#include "trace/arena.hpp"

#include <unistd.h>

#include <elf.h>
#include <fcntl.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
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

// A program the preload tracer can reach: dynamically linked (an ELF with
// an interpreter), or a script (its interpreter is). A static binary would
// never arrive at a scheduling gate.
static bool dynamically_linked(const std::string& path) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    Elf64_Ehdr eh;
    bool dynamic = false;
    ssize_t n = pread(fd, &eh, sizeof eh, 0);
    if (n >= 2 && std::memcmp(&eh, "#!", 2) == 0) {
        dynamic = true;
    } else if (n == static_cast<ssize_t>(sizeof eh) && std::memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 && eh.e_ident[EI_CLASS] == ELFCLASS64) {
        for (int i = 0; i < eh.e_phnum && !dynamic; ++i) {
            Elf64_Phdr ph;
            if (pread(fd, &ph, sizeof ph, static_cast<off_t>(eh.e_phoff + static_cast<std::uint64_t>(i) * eh.e_phentsize)) != sizeof ph) break;
            dynamic = ph.p_type == PT_INTERP;
        }
    }
    close(fd);
    return dynamic;
}

// Beside the binary (the build tree), else where the install put it
// relative to the binary (bin/../lib/simrun/), wherever the prefix is.
std::string find_preload() {
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return "";
    const std::string dir = std::string(exe, static_cast<std::size_t>(n)).substr(0, std::string(exe, static_cast<std::size_t>(n)).rfind('/') + 1);
    for (const std::string& path : {dir + "libsimrun_preload.so", dir + SIMRUN_PRELOAD_RELDIR "/libsimrun_preload.so"})
        if (access(path.c_str(), R_OK) == 0) return path;
    return "";
}

void prepare_exec(Runtime& rt, const std::string& scratch, const std::string& tmpdir) {
    const auto& procs = rt.plan->processes;
    rt.workdir.assign(procs.size(), {});
    rt.stepped.assign(procs.size(), false);
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
        // simrun's environment, with the declared variables added or replaced,
        // and TMPDIR the run's own unless the scenario names one.
        bool declares_tmpdir = false;
        for (const auto& [k, v] : procs[i].env) declares_tmpdir = declares_tmpdir || k == "TMPDIR";
        const bool own_tmpdir = !tmpdir.empty() && !declares_tmpdir;
        for (char** e = environ; *e; ++e) {
            std::string_view entry(*e);
            const std::string_view key = entry.substr(0, entry.find('='));
            bool replaced = own_tmpdir && key == "TMPDIR";
            for (const auto& [k, v] : procs[i].env) replaced = replaced || key == k;
            if (!replaced) rt.env_strings[i].emplace_back(entry);
        }
        for (const auto& [k, v] : procs[i].env) rt.env_strings[i].push_back(k + "=" + v);
        if (own_tmpdir) rt.env_strings[i].push_back("TMPDIR=" + tmpdir);
        if (!rt.preload.empty() && procs[i].trace) {
            const Arena& a = *rt.arena;
            const auto p = static_cast<std::uint32_t>(i);
            std::string preload = "LD_PRELOAD=" + rt.preload;
            for (auto& s : rt.env_strings[i])
                if (s.rfind("LD_PRELOAD=", 0) == 0) preload += ":" + s.substr(11), s.clear();
            std::erase(rt.env_strings[i], std::string());
            rt.env_strings[i].push_back(preload);
            // Controlled mode: each traced call of the program is a step.
            if (rt.plan->mode == SchedMode::Controlled && dynamically_linked(rt.exec_path[i])) {
                rt.stepped[i] = true;
                rt.env_strings[i].push_back("SIMRUN_CONTROLLED=1");
            }
            // Where its slot and rings are (trace/protocol.hpp).
            TraceEnv env;
            env.arena_fd = trace_fd(procs[i].limits);
            env.wake_fd = wake_fd(procs[i].limits);
            env.layout = a.layout();
            env.proc = p;
            char value[kTraceEnvMax];
            encode_trace_env(env, value);
            rt.env_strings[i].push_back(std::string("SIMRUN_TRACE=") + value);
        }
        for (auto& s : rt.env_strings[i]) rt.envp[i].push_back(s.data());
        rt.envp[i].push_back(nullptr);
    }
}

}  // namespace simrun
