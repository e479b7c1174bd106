// Anything that consumes the decoded event stream: the JSONL writer, the
// terminal timeline, the checker. Each sees every event once, in order.
#pragma once

#include "trace/event.hpp"

namespace simrun {

class EventSink {
public:
    virtual ~EventSink() = default;
    virtual void on_event(const Event& e) = 0;
};

}  // namespace simrun
