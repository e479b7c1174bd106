// The one place that reads records: the merged stream goes in, decoded
// events (trace/event.hpp) come out to every sink. The decoder owns what
// the stream teaches as it goes: the names of programs' children
// (ChildNames), the declared System V ids (SysvNames), and the semaphore
// values replayed from the ops (SemReplay, which also makes the Undo events
// after an exit). Outputs never look at a Record.
#pragma once

#include "plan/plan.hpp"
#include "trace/call_format.hpp"
#include "trace/event_sink.hpp"
#include "trace/sem_replay.hpp"

#include <string_view>
#include <vector>

namespace simrun {

class Decoder {
public:
    // semids: the declared sets' ids (per Plan::sems), so that a program's
    // semop on them moves the replayed values too.
    Decoder(const Plan& plan, SysvNames names, std::vector<int> semids);

    void add_sink(EventSink& sink) { sinks_.push_back(&sink); }

    // One merged record (a Data record's bytes are its payload). Its event,
    // then any Undo events it caused, go to every sink.
    void on_record(const Record& r, std::string_view payload);

    std::uint64_t events() const { return events_; }
    std::uint64_t damaged() const { return damaged_; }  // records skipped: not what they claim to be
    const std::vector<int>& sem_values() const { return replay_.values(); }

private:
    bool plausible(const Record& r) const;
    // The event a record means, with names as learned so far.
    Event decode(const Record& r, std::string_view payload);
    call::Args call_args(const Record& r, std::string_view payload);
    void deliver(const Record& r, std::string_view payload);
    const Plan& plan_;
    SysvNames names_;
    ChildNames children_;
    PsemNames psems_;
    SemReplay replay_;
    std::vector<EventSink*> sinks_;
    std::vector<Record> undo_;   // reused: Undo records an exit caused
    std::vector<Record> early_undo_;  // reused: Undo records a woken P shows came first (SemReplay::annotate)
    std::vector<sembuf> sops_;   // reused: the sembufs of the semop being decoded
    std::uint64_t events_ = 0, damaged_ = 0;
};

}  // namespace simrun
