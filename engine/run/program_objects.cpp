#include "run/program_objects.hpp"

#include "trace/decoder.hpp"

#include <fmt/format.h>

namespace simrun {
namespace {

std::string without_slash(std::string_view name) {
    if (!name.empty() && name.front() == '/') name.remove_prefix(1);
    return std::string(name);
}

struct ObjectSink : EventSink {
    std::set<std::string> objects;
    void on_event(const Event& e) override {
        const auto* c = std::get_if<ev::Call>(&e.body);
        if (!c || c->result < 0) return;
        const auto* named = std::get_if<call::Named>(&c->args);
        switch (c->id) {
            case CallId::Semget: objects.insert(fmt::format("sem {}", c->result)); break;
            case CallId::Shmget: objects.insert(fmt::format("shm {}", c->result)); break;
            case CallId::Msgget: objects.insert(fmt::format("msg {}", c->result)); break;
            case CallId::ShmOpen:
                if (named) objects.insert("/dev/shm/" + without_slash(named->name));
                break;
            case CallId::SemOpen:
                if (named) objects.insert("/dev/shm/sem." + without_slash(named->name));
                break;
            case CallId::MqOpen:
                if (named) objects.insert("mqueue /" + without_slash(named->name));
                break;
            case CallId::Mkfifo:  // relative ones are in the scratch folder or a declared workdir
                if (named && !named->name.empty() && named->name.front() == '/') objects.insert("fifo " + std::string(named->name));
                break;
            default: break;
        }
    }
};

}  // namespace

std::set<std::string> program_objects(const Plan& plan, const Collector& records, const SysvNames& names, const std::vector<int>& semids) {
    ObjectSink sink;
    Decoder decoder(plan, names, semids);
    decoder.add_sink(sink);
    (void)records.merge([&](const Record& r, std::string_view payload) { decoder.on_record(r, payload); });
    return std::move(sink.objects);
}

}  // namespace simrun
