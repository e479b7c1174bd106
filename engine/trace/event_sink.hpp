// Anything that consumes the merged event stream: the JSONL writer, the
// terminal timeline, the checker. Each sees every event once, in order.
#pragma once

#include "trace/record.hpp"

#include <string_view>

namespace simrun {

class EventSink {
public:
    virtual ~EventSink() = default;
    // payload: the bytes of Data records that followed (a pipe read's data).
    virtual void on_event(const Record& r, std::string_view payload) = 0;
};

}  // namespace simrun
