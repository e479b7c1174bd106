#include "sched/schedule_file.hpp"

#include "scenario/scenario_reader.hpp"
#include "scenario/toml_text.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <fstream>

namespace simrun {

std::string format_schedule(const Plan& plan, const Schedule& s) {
    std::string out = fmt::format(
        "# simrun schedule: replay it with  simrun replay {} <this file>\n"
        "schedule = 1\nscenario = \"{}\"\nscenario_hash = \"{:016x}\"\nstrategy = \"{}\"\nseed = {}\ndepth = {}\n"
        "# one entry per run of steps by one process; after them the running process goes on while it can,\n"
        "# then the lowest-numbered one that can\n"
        "steps = [\n",
        plan.path, plan.name, plan.source_hash, s.strategy, s.seed, s.depth);
    for (std::size_t i = 0; i < s.steps.size();) {
        std::size_t j = i;
        while (j < s.steps.size() && s.steps[j] == s.steps[i]) ++j;
        const std::size_t who = static_cast<std::size_t>(s.steps[i]);
        const std::string& name = who < plan.processes.size() ? plan.processes[who].name : s.children.at(who - plan.processes.size());
        out += j - i == 1 ? fmt::format("  \"{}\",\n", name) : fmt::format("  \"{} x{}\",\n", name, j - i);
        i = j;
    }
    out += "]\n";
    if (!s.children.empty()) {
        out += "# the children programs forked, in the order they were forked (their names in the steps)\nchildren = [\n";
        for (const auto& c : s.children) out += fmt::format("  \"{}\",\n", c);
        out += "]\n";
    }
    return out;
}

Status write_schedule(const std::string& path, const Plan& plan, const Schedule& s) {
    std::ofstream f(path, std::ios::trunc);
    f << format_schedule(plan, s);
    if (!f.flush()) return sys_error(fmt::format("write({})", path));
    return ok_status();
}

Result<Schedule, std::string> read_schedule(const std::string& path, const Plan& plan) {
    auto source = read_source_file(path, "the schedule");
    if (!source) return render_diagnostic(path, "", source.error());
    return read_schedule_source(path, source.value(), plan);
}

Result<Schedule, std::string> read_schedule_source(const std::string& path, const std::string& text, const Plan& plan) {
    auto fail = [&](const toml::source_region& at, const std::string& message) -> Result<Schedule, std::string> {
        return render_diagnostic(path, text,
                                 {{static_cast<int>(at.begin.line), static_cast<int>(at.begin.column)}, message});
    };
    auto parsed = parse_toml(text, path);
    if (!parsed) return render_diagnostic(path, text, parsed.error());
    toml::table& t = parsed.value();
    const toml::source_region top{{1, 1}, {1, 1}, nullptr};
    for (const auto& [key, node] : t) {
        static constexpr std::string_view kKeys[] = {"schedule", "scenario", "scenario_hash", "strategy", "seed", "depth", "steps", "children"};
        if (std::find(std::begin(kKeys), std::end(kKeys), key.str()) == std::end(kKeys))
            return fail(key.source(), fmt::format("unknown key '{}' in a schedule (it has schedule, scenario, scenario_hash, strategy, "
                                                  "seed, depth, steps and children)",
                                                  key.str()));
    }
    auto version = t["schedule"].value<std::int64_t>();
    if (version != 1) return fail(t["schedule"].node() ? t["schedule"].node()->source() : top, "not a simrun schedule (version 1)");
    auto hash = t["scenario_hash"].value<std::string>();
    if (!hash || *hash != fmt::format("{:016x}", plan.source_hash))
        return fail(t["scenario_hash"].node() ? t["scenario_hash"].node()->source() : top,
                    fmt::format("this schedule was recorded for another version of {} (the scenario changed since)", plan.path));
    Schedule s;
    s.strategy = t["strategy"].value_or(std::string("replay"));
    s.seed = static_cast<std::uint64_t>(t["seed"].value_or(std::int64_t{0}));
    s.depth = static_cast<int>(t["depth"].value_or(std::int64_t{0}));
    if (const toml::array* children = t["children"].as_array())
        for (const auto& item : *children) {
            auto name = item.value<std::string>();
            if (!name) return fail(item.source(), "a child must be a string: its name in the trace (\"student/1\")");
            s.children.push_back(*name);
        }
    const toml::array* steps = t["steps"].as_array();
    if (!steps) return fail(top, "the schedule has no 'steps' array");
    for (const auto& item : *steps) {
        auto text = item.value<std::string>();
        if (!text) return fail(item.source(), "a step must be a string: \"process\" or \"process xN\"");
        std::string name = *text;
        std::size_t times = 1;
        if (auto x = name.rfind(" x"); x != std::string::npos) {
            auto digits = std::string_view(name).substr(x + 2);
            auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), times);
            if (ec != std::errc{} || end != digits.data() + digits.size() || times == 0)
                return fail(item.source(), fmt::format("malformed repeat in '{}'", name));
            if (times > kMaxScheduleSteps - s.steps.size())
                return fail(item.source(), fmt::format("the schedule has more than {} steps", kMaxScheduleSteps));
            name.resize(x);
        }
        int proc = -1;
        for (std::size_t p = 0; p < plan.processes.size(); ++p)
            if (plan.processes[p].name == name) proc = static_cast<int>(p);
        for (std::size_t c = 0; c < s.children.size() && proc < 0; ++c)
            if (s.children[c] == name) proc = static_cast<int>(plan.processes.size() + c);
        if (proc < 0) return fail(item.source(), fmt::format("unknown process '{}' in the schedule", name));
        if (s.steps.size() >= kMaxScheduleSteps)
            return fail(item.source(), fmt::format("the schedule has more than {} steps", kMaxScheduleSteps));
        s.steps.insert(s.steps.end(), times, proc);
    }
    return s;
}

std::size_t context_switches(const std::vector<int>& steps) {
    std::size_t n = 0;
    for (std::size_t i = 1; i < steps.size(); ++i) n += steps[i] != steps[i - 1];
    return n;
}

}  // namespace simrun
