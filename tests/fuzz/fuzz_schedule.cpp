// libFuzzer harness: a schedule file's text, read against the plan of
// scenarios/race_explore.toml (the seeds are schedules recorded for it).
#include "plan/planner.hpp"
#include "sched/schedule_file.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const simrun::Plan plan = [] {
        auto p = simrun::load_plan(SIMRUN_SOURCE_DIR "/scenarios/race_explore.toml");
        if (!p) std::abort();
        return std::move(p.value());
    }();
    const std::string text(reinterpret_cast<const char*>(data), size);
    auto s = simrun::read_schedule_source("schedule.toml", text, plan);
    if (s && s.value().steps.size() > simrun::kMaxScheduleSteps) __builtin_trap();
    return 0;
}
