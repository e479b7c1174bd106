#include "plan/plan.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace simrun {

bool Plan::uses(int p, int pipe, bool write) const {
    const auto& ends = write ? pipes[pipe].writers : pipes[pipe].readers;
    return std::find(ends.begin(), ends.end(), p) != ends.end();
}

bool Plan::subtree_uses(int p, int pipe, bool write) const {
    if (uses(p, pipe, write)) return true;
    for (int c : processes[p].children)
        if (subtree_uses(c, pipe, write)) return true;
    return false;
}

std::string Plan::sem_label(int flat) const {
    for (const auto& s : sems)
        if (flat >= s.first_value && flat < s.first_value + static_cast<int>(s.members.size()))
            return s.name + "." + s.members[flat - s.first_value];
    return "?";
}

std::string Plan::queue_stat_label(int slot) const {
    return queues[slot / 2].name + (slot % 2 ? ".bytes" : ".messages");
}

std::string Plan::cell_label(int flat) const {
    for (const auto& s : shms) {
        if (flat < static_cast<int>(s.first_slot) || flat >= static_cast<int>(s.first_slot + s.slots)) continue;
        std::uint32_t slot = flat - s.first_slot;
        for (const auto& c : s.cells) {
            if (slot < c.offset || slot >= c.offset + c.length) continue;
            std::string label = s.name + "." + c.name;
            if (c.is_array) label += "[" + std::to_string(slot - c.offset) + "]";
            return label;
        }
    }
    return "?";
}

}  // namespace simrun

namespace simrun {

const char* op_verb(const Plan& plan, const Op& op) {
    switch (op.kind) {
        case OpKind::Semop:
            if (op.count == 1 && plan.sem_terms[op.first].delta < 0) return "P";
            if (op.count == 1 && plan.sem_terms[op.first].delta > 0) return "V";
            return "semop";
        case OpKind::ShmLoad: return "load";
        case OpKind::ShmStore: return "store";
        case OpKind::ShmAdd: return "add";
        case OpKind::PipeWrite: return "write";
        case OpKind::PipeRead: return "read";
        case OpKind::PipeClose: return "close";
        case OpKind::Sleep: return "sleep";
        case OpKind::Print: return "print";
        case OpKind::Exit: return "exit";
        case OpKind::MsgSend: return "send";
        case OpKind::MsgRecv: return "recv";
        case OpKind::PsemWait: return "P";
        case OpKind::PsemPost: return "V";
        case OpKind::FifoOpen: return "open";
        case OpKind::Kill: return op.object == kSelf ? "raise" : (op.flags & kOpSigqueue) ? "sigqueue" : "kill";
        case OpKind::SigMask: return op.slot ? "unblock" : "block";
        case OpKind::Pause: return "pause";
        case OpKind::SigWait: return "sigwait";
        case OpKind::Fork: return "fork";
        case OpKind::Wait: return "wait";
        case OpKind::Crash: return "crash";
        case OpKind::IpcGet: return op.count == kSemget ? "semget" : op.count == kShmget ? "shmget" : "msgget";
        case OpKind::Semctl: return "semctl";
        case OpKind::Shmctl: return "shmctl";
        case OpKind::Msgctl: return "msgctl";
        case OpKind::Test: return (op.flags & kOpWhile) ? "while" : "if";
        case OpKind::Jump: return "jump";
        case OpKind::Loop: return "repeat";
        case OpKind::SetValue: return "set";
        case OpKind::Choose: return op_verb(plan, plan.ops[op.first]);
    }
    return "?";
}

std::string op_target(const Plan& plan, const Op& op, std::int64_t arg) {
    std::string t = op_target(plan, op);
    if (!op.index_len) return t;
    return t.substr(0, t.rfind('[')) + fmt::format("[{}]", arg);
}

std::string op_target(const Plan& plan, const Op& op) {
    switch (op.kind) {
        case OpKind::Semop: {
            const auto& set = plan.sems[op.object];
            if (op.count == 1) return set.name + "." + set.members[plan.sem_terms[op.first].member];
            return set.name;
        }
        case OpKind::ShmLoad:
        case OpKind::ShmStore:
        case OpKind::ShmAdd: return plan.cell_label(static_cast<int>(plan.shms[op.object].first_slot + op.slot));
        case OpKind::PipeWrite:
        case OpKind::PipeRead:
        case OpKind::PipeClose:
        case OpKind::FifoOpen: return plan.pipes[op.object].name;
        case OpKind::MsgSend:
        case OpKind::MsgRecv: return plan.queues[op.object].name;
        case OpKind::PsemWait:
        case OpKind::PsemPost: return plan.psems[op.object].name;
        case OpKind::Kill:
        case OpKind::Fork:
            return op.object == kSelf ? "" : plan.processes[op.object].name;
        case OpKind::Wait: return op.object == kSelf ? "" : plan.processes[op.object].name;
        case OpKind::IpcGet:
            return op.count == kSemget ? plan.sems[op.object].name : op.count == kShmget ? plan.shms[op.object].name : plan.queues[op.object].name;
        case OpKind::Shmctl: return plan.shms[op.object].name;
        case OpKind::Msgctl: return plan.queues[op.object].name;
        case OpKind::Semctl:
            return op.count == kIpcRmid || op.count >= kIpcStat ? plan.sems[op.object].name
                                                               : plan.sems[op.object].name + "." + plan.sems[op.object].members[op.slot];
        case OpKind::Choose: return plan.texts[op.slot + 2];
        default: return "";
    }
}

}  // namespace simrun
