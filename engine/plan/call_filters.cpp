#include "plan/planner_impl.hpp"

#include "util/call_names.hpp"

#include <fmt/format.h>

#include <charconv>

// count(call semop on lock by producer returning 0 failing EINTR): the
// programs' calls an expression counts, resolved into a Plan::CallFilter.

namespace simrun::detail {
namespace {

struct Word {
    std::string text;
    std::size_t offset;  // in the expression text
};

std::vector<Word> split_words(const std::string& s, std::size_t base) {
    std::vector<Word> out;
    for (std::size_t i = 0; i < s.size();) {
        if (s[i] == ' ') {
            ++i;
            continue;
        }
        std::size_t end = s.find(' ', i);
        if (end == std::string::npos) end = s.size();
        out.push_back({s.substr(i, end - i), base + i});
        i = end;
    }
    return out;
}

// The names glibc and the manual give calls the trace records under one name.
constexpr std::pair<std::string_view, std::string_view> kTraceNames[] = {
    {"semtimedop", "semop"}, {"waitpid", "wait"}, {"wait3", "wait"}, {"wait4", "wait"}, {"pclose", "wait"},
    {"signal", "sigaction"}, {"sysv_signal", "sigaction"}, {"bsd_signal", "sigaction"}, {"sigset", "sigaction"},
    {"execve", "exec"}, {"execv", "exec"}, {"execvp", "exec"}, {"execl", "exec"}, {"execlp", "exec"}, {"execle", "exec"},
    {"_exit", "exit"}, {"_Exit", "exit"}, {"nanosleep", "sleep"}, {"usleep", "sleep"}, {"clock_nanosleep", "sleep"},
    {"mq_timedsend", "mq_send"}, {"mq_timedreceive", "mq_receive"}, {"pipe2", "pipe"}, {"vfork", "fork"},
    {"posix_spawn", "fork"}, {"posix_spawnp", "fork"}, {"system", "fork"}, {"popen", "fork"}, {"_Fork", "fork"},
    {"sigwaitinfo", "sigwait"}, {"sigtimedwait", "sigwait"}, {"pthread_sigmask", "sigprocmask"}, {"sigpause", "sigsuspend"},
    {"killpg", "kill"}, {"gsignal", "raise"}, {"sem_clockwait", "sem_timedwait"}, {"mkfifoat", "mkfifo"}, {"mknod", "mkfifo"},
};

// Calls the trace names an object of (call_format's "obj" and "name").
constexpr std::string_view kWithObject[] = {"semop",    "semctl",     "msgsnd",   "msgrcv",      "mq_open",      "mq_unlink",
                                            "sem_open", "sem_unlink", "shm_open", "shm_unlink",  "mkfifo",       "exec",
                                            "sem_wait", "sem_trywait", "sem_post", "sem_timedwait", "sem_init"};
constexpr std::string_view kWithSignal[] = {"kill", "sigqueue", "raise", "sigaction", "handler"};

template <std::size_t N>
bool among(std::string_view name, const std::string_view (&list)[N]) {
    return std::find(std::begin(list), std::end(list), name) != std::end(list);
}

}  // namespace

int Planner::call_filter(const std::string& text, SourcePos text_pos, std::size_t offset, ExprOp fn) {
    auto words = split_words(text, offset);
    auto at = [&](const Word& w) { return pos_in_string(text_pos, w.offset); };
    const char* fn_name = fn == ExprOp::Count ? "count" : fn == ExprOp::Errors ? "errors" : "errno";
    const std::string usage = fmt::format("{}(call NAME [on OBJECT] [by PROCESS] [returning N] [failing ERRNO])", fn_name);
    if (words.size() < 2) fail(at(words[0]), fmt::format("name the call: {}", usage));
    CallFilter f;
    f.text = text.substr(text.find(' ') + 1);
    const Word& name = words[1];
    f.call = call_index(name.text);
    if (f.call < 0) {
        for (auto [alias, traced] : kTraceNames)
            if (name.text == alias)
                fail(at(name), fmt::format("the trace records {} as '{}': {}(call {} ...)", alias, traced, fn_name, traced));
        std::vector<std::string> names(std::begin(kCallNames), std::end(kCallNames));
        fail(at(name), fmt::format("simrun does not trace a call '{}'{}", name.text, did_you_mean_suffix(name.text, names)));
    }
    for (std::size_t i = 2; i < words.size(); i += 2) {
        const Word& key = words[i];
        if (key.text != "on" && key.text != "by" && key.text != "returning" && key.text != "failing")
            fail(at(key), fmt::format("expected 'on', 'by', 'returning' or 'failing' here: {}", usage));
        if (i + 1 >= words.size()) fail(at(key), fmt::format("'{}' needs a value: {}", key.text, usage));
        const Word& value = words[i + 1];
        if (key.text == "on") {
            if (value.text.starts_with("SIG")) {
                f.signal = parse_signal(value.text);
                if (!f.signal) fail(at(value), fmt::format("unknown signal '{}'", value.text));
                if (!among(name.text, kWithSignal))
                    fail(at(value), fmt::format("a {} call has no signal; 'on SIGNAL' counts kill, sigqueue, raise, sigaction and handler", name.text));
            } else {
                if (!among(name.text, kWithObject))
                    fail(at(value), fmt::format("the trace names no object of a {} call; count it without 'on'", name.text));
                if (!object_kind_.count(value.text) && value.text.find('/') == std::string::npos)
                    fail(at(value), fmt::format("unknown object '{}' (a declared object, or a name a program opens, such as '/mutex'){}",
                                                value.text, did_you_mean_suffix(value.text, all_object_names())));
                f.object = value.text;
            }
        } else if (key.text == "by") {
            std::size_t slash = value.text.find('/');
            std::string base = value.text.substr(0, slash);
            f.procs = find_processes(base, at(value), "in the expression");
            if (slash != std::string::npos) {
                if (f.procs.size() != 1)
                    fail(at(value), fmt::format("'{}' has {} replicas; name one, e.g. {}#0/1", base, f.procs.size(), base));
                std::string rest = value.text.substr(slash + 1);
                if (rest.empty() || rest.back() == '/' || rest.find_first_not_of("0123456789/") != std::string::npos ||
                    rest.find("//") != std::string::npos)
                    fail(at(value), fmt::format("'{}' is not a child's name: children are named as the trace names them, "
                                                "{}/1, {}/1/2", value.text, base, base));
                if (!p_.processes[f.procs[0]].is_exec())
                    fail(at(value), fmt::format("'{}' is scripted: only exec'd programs fork children of their own", base));
                f.child = value.text;
                f.procs.clear();
            } else {
                for (int p : f.procs)
                    if (!p_.processes[p].is_exec() || !p_.processes[p].trace)
                        fail(at(value), fmt::format("'{}' {}: its calls are not traced", value.text,
                                                    p_.processes[p].is_exec() ? "runs with trace = false" : "is scripted (count its ops)"));
            }
        } else if (key.text == "returning") {
            if (fn != ExprOp::Count) fail(at(key), fmt::format("a failed call returns -1; 'returning' counts calls in count()"));
            std::int64_t v = 0;
            const char* b = value.text.data();
            auto [end, ec] = std::from_chars(b, b + value.text.size(), v);
            if (ec != std::errc{} || end != b + value.text.size())
                fail(at(value), fmt::format("'returning' takes an integer, not '{}'", value.text));
            f.result = v;
        } else {
            if (fn == ExprOp::Count)
                fail(at(key), fmt::format("count() counts calls that succeeded: errors(call {} failing {}) counts those failures",
                                          name.text, value.text));
            f.err = errno_value(value.text);
            if (!f.err) fail(at(value), fmt::format("unknown errno '{}' (EINTR, EAGAIN, EIDRM, ...)", value.text));
        }
    }
    p_.call_filters.push_back(std::move(f));
    return static_cast<int>(p_.call_filters.size() - 1);
}

}  // namespace simrun::detail
