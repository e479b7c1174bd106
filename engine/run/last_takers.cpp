#include "run/last_takers.hpp"

#include "trace/decoder.hpp"

namespace simrun {
namespace {

struct TakerSink : EventSink {
    const Plan& plan;
    std::vector<int> takers;
    explicit TakerSink(const Plan& p) : plan(p) {
        int n = 0;
        for (const auto& s : p.sems) n = std::max(n, s.first_value + static_cast<int>(s.members.size()));
        takers.assign(static_cast<std::size_t>(n), -1);
    }
    void on_event(const Event& e) override {
        const auto* op = std::get_if<ev::ScriptOp>(&e.body);
        if (!op || op->parked || op->err || op->op->kind != OpKind::Semop || e.proc.index >= plan.processes.size()) return;
        for (std::uint32_t i = 0; i < op->op->count; ++i) {
            const SemTerm& t = plan.sem_terms[op->op->first + i];
            if (t.delta < 0) takers[static_cast<std::size_t>(plan.sems[op->op->object].first_value + t.member)] = e.proc.index;
        }
    }
};

}  // namespace

std::vector<int> last_takers(const Plan& plan, const Collector& records, const SysvNames& names, const std::vector<int>& semids) {
    TakerSink sink(plan);
    Decoder decoder(plan, names, semids);
    decoder.add_sink(sink);
    (void)records.merge([&](const Record& r, std::string_view payload) { decoder.on_record(r, payload); });
    return std::move(sink.takers);
}

}  // namespace simrun
