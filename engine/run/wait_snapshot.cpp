#include "run/wait_snapshot.hpp"

#include <sys/sem.h>

#include <fmt/format.h>

namespace simrun {

SnapshotProcs declared_procs(const Plan& plan) {
    SnapshotProcs d;
    for (std::size_t p = 0; p < plan.processes.size(); ++p) d.slots.push_back(static_cast<int>(p)), d.names.emplace_back(), d.parents.push_back(-1);
    return d;
}

WaitSnapshot take_wait_snapshot(const Plan& plan, const Arena& arena, const SnapshotProcs& procs, const std::vector<int>& semids,
                                const std::vector<sem_t*>& psems, const std::function<bool(int)>& alive,
                                const std::function<bool(int)>& waits, std::vector<int> last_taker) {
    WaitSnapshot s;
    for (std::size_t i = 0; i < procs.slots.size(); ++i) {
        const ProcSlot& slot = arena.slot(static_cast<std::uint32_t>(procs.slots[i]));
        WaitSnapshot::Proc& pr = s.procs.emplace_back();
        pr.alive = alive(static_cast<int>(i));
        pr.waits = pr.alive && waits(static_cast<int>(i));
        pr.state = slot.state.load();
        pr.op = slot.op.load();
        pr.call = slot.call.load();
        pr.name = i < procs.names.size() ? procs.names[i] : std::string();
        pr.sem_id = slot.sem_id.load(), pr.sem_num = slot.sem_num.load(), pr.sem_op = slot.sem_op.load();
    }
    for (std::size_t i = 0; i < procs.parents.size() && i < s.procs.size(); ++i)
        if (procs.parents[i] >= 0 && static_cast<std::size_t>(procs.parents[i]) < s.procs.size())
            s.procs[static_cast<std::size_t>(procs.parents[i])].children.push_back(static_cast<int>(i));
    for (std::size_t i = 0; i < plan.sems.size(); ++i)
        for (std::size_t m = 0; m < plan.sems[i].members.size(); ++m) {
            const std::size_t flat = static_cast<std::size_t>(plan.sems[i].first_value) + m;
            if (s.sem_values.size() <= flat) s.sem_values.resize(flat + 1, -1);
            s.sem_values[flat] = i < semids.size() ? semctl(semids[i], static_cast<int>(m), GETVAL) : -1;
        }
    for (sem_t* sem : psems) {
        int v = -1;
        if (!sem || sem_getvalue(sem, &v) != 0) v = -1;
        s.psem_values.push_back(v);
    }
    s.last_taker = std::move(last_taker);
    return s;
}

std::vector<std::string> wait_for_lines(const Plan& plan, const WaitForGraph& g, bool with_waits) {
    std::vector<std::string> lines;
    if (with_waits) {
        std::size_t width = 0;
        for (const auto& pp : plan.processes) width = std::max(width, pp.name.size());
        for (const WaitFor& w : g.waits) width = std::max(width, w.name.size());
        for (const WaitFor& w : g.waits) lines.push_back(fmt::format("  {:<{}} {}", w.name, width, w.text));
    }
    if (!g.cycle.empty()) lines.push_back("  cycle: " + cycle_text(g));
    for (const auto& d : g.dead_holders) lines.push_back("  " + d);
    return lines;
}

}  // namespace simrun
