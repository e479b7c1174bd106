// libFuzzer harness: a saved run (trace.simrun) as `simrun view` and
// `simrun export` read it: the header, the scenario planned again, every
// record through the decoder into the timeline, the trace writer and the
// Perfetto writer. A saved run can come from anyone (a student's submitted
// folder), so no record may crash the decoder.
#include "check/checker.hpp"
#include "plan/planner.hpp"
#include "report/jsonl_writer.hpp"
#include "report/perfetto.hpp"
#include "report/timeline.hpp"
#include "trace/decoder.hpp"
#include "trace/trace_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace simrun;
    const int fd = ::memfd_create("saved-run", MFD_CLOEXEC);
    if (fd < 0) return 0;
    if (::write(fd, data, size) != static_cast<ssize_t>(size)) {
        ::close(fd);
        return 0;
    }
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    auto reader = TraceFileReader::open(path);
    if (reader) {
        PlanOptions po;
        po.mode = reader->meta().controlled ? SchedMode::Controlled : SchedMode::Free;
        po.check_files = false;
        auto plan = load_plan_source(reader->meta().path, reader->meta().source, po);
        if (plan) {
            std::FILE* null = std::fopen("/dev/null", "w");
            {
                Checker checker(plan.value());
                Timeline timeline(plan.value(), TerminalStyle{false, 1000, false}, null);
                PerfettoWriter perfetto(plan.value(), reader->meta().t0, null);
                auto jsonl = JsonlWriter::again(UniqueFd(::open("/dev/null", O_WRONLY | O_CLOEXEC)), "/dev/null", plan.value(), reader->meta().t0,
                                                reader->meta().start_line);
                Decoder decoder(plan.value(), reader->meta().names, reader->meta().semids);
                for (EventSink* s : std::initializer_list<EventSink*>{&checker, &timeline, &perfetto, jsonl.get()}) decoder.add_sink(*s);
                reader->records([&](const Record& r, std::string_view payload) { decoder.on_record(r, payload); });
                (void)perfetto.finish(checker.breaks());
                (void)jsonl->finish_with(reader->tail());
            }
            std::fclose(null);
        }
    }
    ::close(fd);
    return 0;
}
