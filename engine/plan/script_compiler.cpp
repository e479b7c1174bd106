#include "plan/planner_impl.hpp"

#include <fmt/format.h>

// A process's run list compiled into its script: control flow (if, else,
// while, repeat, break, end) into Test, Jump, Loop and SetValue ops with
// their targets; conditions and {values} into postfix Code; `as NAME` into
// the value slot the op fills. Each replica gets its own script when the
// list uses control flow, values or {i}; otherwise replicas share one.

namespace simrun::detail {

namespace {

// What a value was bound by: recv values also answer to NAME.type.
struct Value {
    std::uint8_t slot = 0;
    OpKind bound_by{};
};

// An open if, while or repeat.
struct Block {
    Control kind{};
    SourcePos pos;
    std::uint32_t head = 0;                 // If/While: the Test; Repeat: the Loop
    std::optional<std::uint32_t> else_jump;  // If with else: the Jump over the else part
    std::vector<std::uint32_t> breaks;      // While/Repeat: Jumps out
};

bool gives_value(const OpDecl& od) {
    switch (od.kind) {
        case OpKind::ShmLoad:
        case OpKind::MsgRecv:
        case OpKind::Wait:
        case OpKind::PipeRead: return true;
        case OpKind::Semop: return od.nowait;
        case OpKind::Semctl: return od.command == "GETVAL" || od.command == "GETNCNT" || od.command == "GETZCNT";
        default: return false;
    }
}

const char* control_word(Control c) {
    switch (c) {
        case Control::If: return "if";
        case Control::Else: return "else";
        case Control::End: return "end";
        case Control::While: return "while";
        case Control::Repeat: return "repeat";
        case Control::Break: return "break";
        case Control::None: break;
    }
    return "";
}

}  // namespace

struct Planner::ScriptState {
    int decl = 0, replica = 0, count = 1;
    std::uint32_t first = 0;  // the script's first op in Plan::ops
    std::map<std::string, Value> values;
    int next_slot = 0;
    std::vector<Block> blocks;
    // Choose ops (within the script) and their variants, compiled, with their texts.
    std::vector<std::pair<std::uint32_t, std::vector<std::pair<Op, std::string>>>> choices;
};

std::uint8_t Planner::new_value_slot(ScriptState& s, SourcePos at) {
    if (s.next_slot >= kMaxValues) fail(at, fmt::format("a script holds at most {} values and repeat counters", kMaxValues));
    return static_cast<std::uint8_t>(s.next_slot++);
}

// Appends the postfix code of node `i`; returns nothing, fails with a
// positioned error for what a condition cannot read.
void Planner::emit_code(const ExprTree& t, int i, const OpDecl& od, ScriptState& s) {
    const ExprNode& n = t.nodes[static_cast<std::size_t>(i)];
    SourcePos at = pos_in_string(od.pos, n.offset);
    auto push = [&](CodeKind k, std::uint16_t object = 0, std::uint32_t slot = 0, std::int64_t value = 0) {
        p_.code.push_back({k, object, slot, value});
    };
    switch (n.op) {
        case ExprOp::Int: return push(CodeKind::Int, 0, 0, n.value);
        case ExprOp::Var: {
            if (n.object == "i") return push(CodeKind::Int, 0, 0, s.replica);
            if (n.object == "n") return push(CodeKind::Int, 0, 0, s.count);
            auto v = s.values.find(n.object);
            if (v == s.values.end()) {
                std::vector<std::string> names = {"i", "n"};
                for (const auto& [name, _] : s.values) names.push_back(name);
                fail(at, fmt::format("unknown value '{}': no earlier op binds it (write '... as {}' on the op that gives it){}{}", n.object,
                                     n.object, did_you_mean_suffix(n.object, names), od.replica_note));
            }
            return push(CodeKind::Value, 0, v->second.slot);
        }
        case ExprOp::Ref: {
            if (auto v = s.values.find(n.object); v != s.values.end()) {
                if (n.member != "type" || v->second.bound_by != OpKind::MsgRecv || n.indexed)
                    fail(at, fmt::format("'{}' is a number; write {} (a value bound by recv also has {}.type)", n.object, n.object, n.object));
                return push(CodeKind::Value, 0, v->second.slot);
            }
            RefDecl ref{n.object, n.member, n.indexed ? std::optional(n.index) : std::nullopt, n.offset};
            if (sem_index_.count(n.object)) {
                int set = -1;
                SemTerm term = resolve_sem(ref, od.pos, set);
                return push(CodeKind::Sem, static_cast<std::uint16_t>(set), term.member);
            }
            if (shm_index_.count(n.object)) {
                if (n.lhs >= 0) {  // seg.array[index computed at run time]
                    ref.index = 0;
                    auto [seg, first] = resolve_cell(ref, at);
                    emit_code(t, n.lhs, od, s);
                    return push(CodeKind::CellAt, static_cast<std::uint16_t>(seg), first, array_length(seg, first));
                }
                auto [seg, slot] = resolve_cell(ref, at);
                return push(CodeKind::Cell, static_cast<std::uint16_t>(seg), slot);
            }
            if (n.lhs >= 0) fail(at, fmt::format("only a shared memory array takes a computed index; '{}.{}' is not one", n.object, n.member));
            if (auto ps = psem_index_.find(n.object); ps != psem_index_.end()) {
                if (n.member != "value") fail(at, fmt::format("a POSIX semaphore has '{}.value'", n.object));
                return push(CodeKind::Psem, static_cast<std::uint16_t>(ps->second));
            }
            std::vector<std::string> names = all_object_names();
            for (const auto& [name, _] : s.values) names.push_back(name);
            fail(at, fmt::format("unknown object '{}' (a condition reads shm cells, semaphores and the script's values){}{}", n.object,
                                 did_you_mean_suffix(n.object, names), od.replica_note));
        }
        case ExprOp::Neg:
        case ExprOp::Not:
            emit_code(t, n.lhs, od, s);
            return push(n.op == ExprOp::Neg ? CodeKind::Neg : CodeKind::Not);
        default: break;
    }
    static const std::pair<ExprOp, CodeKind> binary[] = {
        {ExprOp::Add, CodeKind::Add}, {ExprOp::Sub, CodeKind::Sub}, {ExprOp::Mul, CodeKind::Mul}, {ExprOp::Div, CodeKind::Div},
        {ExprOp::Mod, CodeKind::Mod}, {ExprOp::Lt, CodeKind::Lt},   {ExprOp::Le, CodeKind::Le},   {ExprOp::Gt, CodeKind::Gt},
        {ExprOp::Ge, CodeKind::Ge},   {ExprOp::Eq, CodeKind::Eq},   {ExprOp::Ne, CodeKind::Ne},   {ExprOp::And, CodeKind::And},
        {ExprOp::Or, CodeKind::Or}};
    for (auto [e, k] : binary) {
        if (e != n.op) continue;
        emit_code(t, n.lhs, od, s);
        emit_code(t, n.rhs, od, s);
        return push(k);
    }
    fail(at, "a condition or a {value} reads numbers, shm cells, semaphores and the script's values; count(), exit() and the like are for "
             "expectations");
}

// The length of the array whose first cell is `first` in segment `seg`.
std::uint32_t Planner::array_length(int seg, std::uint32_t first) const {
    for (const auto& c : p_.shms[static_cast<std::size_t>(seg)].cells)
        if (c.offset == first) return static_cast<std::uint32_t>(c.length);
    return 1;
}

// The code of a condition or a {value}: (first, length) in Plan::code.
std::pair<std::uint32_t, std::uint16_t> Planner::code_of(const ExprTree& t, const OpDecl& od, ScriptState& s) {
    auto first = static_cast<std::uint32_t>(p_.code.size());
    emit_code(t, t.root, od, s);
    std::size_t len = p_.code.size() - first;
    if (len > 0xffff) fail(pos_in_string(od.pos, 0), "the expression is too long");
    return {first, static_cast<std::uint16_t>(len)};
}

// One op that is not control flow: compiled, with its values, text and cell.
Op Planner::compile_op(const OpDecl& od, int decl, ScriptState& s) {
    const SourcePos at = pos_in_string(od.pos, 0);
    Op op;
    try {
        op = compile(od, decl);
    } catch (Failure& f) {
        if (!od.replica_note.empty() && f.d.message.find(od.replica_note) == std::string::npos) f.d.message += od.replica_note;
        throw;
    }
    if (od.kind == OpKind::SetValue && od.control == Control::None) {  // k = {k + 1}: a value of the script's own
        SourcePos bind_at = pos_in_string(od.pos, od.bind_offset);
        if (object_kind_.count(od.bind)) fail(bind_at, fmt::format("'{}' is the name of a {}; a value needs another name", od.bind, object_kind_[od.bind]));
        if (od.value_expr) {
            auto [first, len] = code_of(od.value_expr->expr, od, s);
            op.code = first, op.code_len = len;
        }
        auto it = s.values.find(od.bind);
        if (it == s.values.end()) it = s.values.emplace(od.bind, Value{new_value_slot(s, bind_at), od.kind}).first;
        it->second.bound_by = od.kind;
        op.slot = it->second.slot, op.value = od.value;
        return op;
    }
    if (!od.text_parts.empty()) {  // "got {n} bytes": its literal parts and values
        Plan::Template t;
        std::size_t longest = 0;  // bytes at most, once formatted
        t.first = static_cast<std::uint32_t>(p_.text_parts.size());
        for (const auto& part : od.text_parts) {
            if (!part.literal.empty()) {
                p_.text_parts.push_back({static_cast<std::uint32_t>(p_.texts.size()), 0, 0});
                p_.texts.push_back(part.literal);
                longest += part.literal.size();
            }
            if (part.value) {
                auto [first, len] = code_of(part.value->expr, od, s);
                p_.text_parts.push_back({0, first, len});
                longest += 20;  // -9223372036854775808
            }
        }
        t.count = static_cast<std::uint32_t>(p_.text_parts.size()) - t.first;
        if (longest > kMaxTemplateText)
            fail(at, fmt::format("a text with {{values}} holds at most {} bytes once its values are written", kMaxTemplateText));
        op.first = static_cast<std::uint32_t>(p_.templates.size()), op.flags |= kOpTemplate;
        p_.templates.push_back(t);
    }
    if (od.index_expr) {
        const std::uint32_t length = array_length(op.object, op.slot);
        auto [first, len] = code_of(od.index_expr->expr, od, s);
        op.index_code = first, op.index_len = len, op.count = length;
    }
    if (od.value_expr) {
        if (od.kind != OpKind::MsgSend && od.kind != OpKind::ShmStore && !(od.kind == OpKind::Kill && od.sigval))
            fail(pos_in_string(od.pos, od.value_expr->offset),
                 "a {value} computed when the op runs goes in a send's type, a stored value or a sigqueue's value");
        auto [first, len] = code_of(od.value_expr->expr, od, s);
        op.code = first, op.code_len = len;
    }
    if (!od.bind.empty()) {
        SourcePos bind_at = pos_in_string(od.pos, od.bind_offset);
        if (!gives_value(od))
            fail(bind_at, fmt::format("'{}' gives no value to bind; 'as' goes with load, recv, read, wait, semctl GETVAL (GETNCNT, "
                                      "GETZCNT) and P ... nowait",
                                      od.verb));
        if (object_kind_.count(od.bind)) fail(bind_at, fmt::format("'{}' is the name of a {}; bind another name", od.bind, object_kind_[od.bind]));
        auto it = s.values.find(od.bind);
        if (it == s.values.end()) it = s.values.emplace(od.bind, Value{new_value_slot(s, bind_at), od.kind}).first;
        it->second.bound_by = od.kind;
        op.bind = static_cast<std::uint8_t>(it->second.slot + 1);
    }
    if (op.index_len) {
        op.first = static_cast<std::uint32_t>(p_.cell_variants.size());
        for (std::uint32_t k = 0; k < op.count; ++k) {
            Op v = op;
            v.slot = op.slot + k, v.index_len = 0;
            p_.cell_variants.push_back(v);
        }
    }
    return op;
}

void Planner::compile_script(const std::vector<OpDecl>& ops, int decl, int replica) {
    ScriptState s;
    s.decl = decl, s.replica = replica, s.count = static_cast<int>(d_.processes[decl].count);
    s.first = static_cast<std::uint32_t>(p_.ops.size());
    auto here = [&] { return static_cast<std::uint32_t>(p_.ops.size()) - s.first; };
    auto emit = [&](const Op& op, const std::string& text) {
        p_.ops.push_back(op);
        // Indentation shows the blocks in the file; the op is named without it.
        const std::size_t b = text.find_first_not_of(" \t"), e = text.find_last_not_of(" \t");
        p_.op_text.push_back(b == std::string::npos ? std::string() : text.substr(b, e - b + 1));
        return here() - 1;
    };
    auto at_op = [&](std::uint32_t rel) -> Op& { return p_.ops[s.first + rel]; };
    auto in_loop = [&] {
        return std::any_of(s.blocks.begin(), s.blocks.end(), [](const Block& b) { return b.kind != Control::If; });
    };
    for (const OpDecl& od : ops) {
        SourcePos at = pos_in_string(od.pos, 0);
        Op op;
        op.kind = od.kind;
        switch (od.control) {
            case Control::If:
            case Control::While: {
                auto [first, len] = code_of(od.cond, od, s);
                op.code = first, op.code_len = len;
                if (od.control == Control::While) op.flags |= kOpWhile;
                s.blocks.push_back({od.control, at, emit(op, od.text), {}, {}});
                continue;
            }
            case Control::Repeat: {
                Op set;
                set.kind = OpKind::SetValue;
                set.slot = new_value_slot(s, at);
                set.value = od.value;
                emit(set, od.text);
                op.object = static_cast<std::uint16_t>(set.slot);
                s.blocks.push_back({Control::Repeat, at, emit(op, od.text), {}, {}});
                continue;
            }
            case Control::Else: {
                if (s.blocks.empty() || s.blocks.back().kind != Control::If || s.blocks.back().else_jump)
                    fail(at, s.blocks.empty() || s.blocks.back().kind != Control::If ? "'else' without an open 'if'"
                                                                                      : "a second 'else' for the same 'if'");
                Block& b = s.blocks.back();
                b.else_jump = emit(op, od.text);
                at_op(b.head).slot = here();  // the test false: the else part
                continue;
            }
            case Control::Break: {
                if (!in_loop()) fail(at, "'break' outside a loop (while or repeat)");
                auto it = std::find_if(s.blocks.rbegin(), s.blocks.rend(), [](const Block& b) { return b.kind != Control::If; });
                it->breaks.push_back(emit(op, od.text));
                continue;
            }
            case Control::End: {
                if (s.blocks.empty()) fail(at, "'end' without an open if, while or repeat");
                Block b = s.blocks.back();
                s.blocks.pop_back();
                if (b.kind == Control::If) {
                    std::uint32_t end = here();
                    if (b.else_jump) at_op(*b.else_jump).slot = end;
                    else at_op(b.head).slot = end;
                    // `end` of an if is no op at all: nothing is emitted.
                    continue;
                }
                if (b.kind == Control::While && here() == b.head + 1) at_op(b.head).flags |= kOpSpin;
                else if (b.kind == Control::While) p_.watch_loops = true;
                Op back;
                back.kind = OpKind::Jump;
                back.slot = b.head;
                emit(back, od.text);
                at_op(b.head).slot = here();
                for (std::uint32_t j : b.breaks) at_op(j).slot = here();
                continue;
            }
            case Control::None: break;
        }
        if (od.kind == OpKind::Fork && !s.blocks.empty())
            fail(at, "fork cannot be inside if, while or repeat: each declared child is forked once, where its fork op stands");
        if (!od.choice_ops.empty()) {  // P forks.f{k}: its variants go after the script
            Op choose;
            choose.kind = OpKind::Choose;
            auto [first, len] = code_of(od.choice_expr->expr, od, s);
            choose.code = first, choose.code_len = len;
            choose.count = static_cast<std::uint32_t>(od.choice_ops.size());
            choose.value = static_cast<std::int64_t>(p_.choice_keys.size());
            p_.choice_keys.insert(p_.choice_keys.end(), od.choice_keys.begin(), od.choice_keys.end());
            choose.slot = static_cast<std::uint32_t>(p_.texts.size());
            p_.texts.push_back(od.choice_prefix);
            p_.texts.push_back(od.choice_suffix);
            p_.texts.push_back(od.choice_name);
            // Compiled here, where the op stands: what they bind is known from here on.
            std::vector<std::pair<Op, std::string>> variants;
            for (const OpDecl& v : od.choice_ops) variants.emplace_back(compile_op(v, decl, s), v.text);
            s.choices.push_back({emit(choose, od.text), std::move(variants)});
            continue;
        }
        emit(compile_op(od, decl, s), od.text);
    }
    // The variants of computed names, out of the script's way: its end jumps over them.
    if (!s.choices.empty()) {
        Op over;
        over.kind = OpKind::Jump;
        const std::uint32_t jump = emit(over, "");
        for (const auto& [at, variants] : s.choices) {
            at_op(at).first = s.first + here();
            for (const auto& [op, text] : variants) emit(op, text);
        }
        at_op(jump).slot = here();
    }
    if (!s.blocks.empty()) {
        const Block& b = s.blocks.back();
        fail(b.pos, fmt::format("'{}' without 'end'{}", control_word(b.kind), ops.empty() ? "" : ops.front().replica_note));
    }
    auto count = here();
    for (int r = 0; r < d_.processes[decl].count; ++r) {
        if (replica >= 0 && r != replica) continue;
        auto& pp = p_.processes[first_replica_[decl] + r];
        pp.first_op = s.first, pp.op_count = count;
    }
}

void Planner::scripts() {
    for (std::size_t i = 0; i < d_.processes.size(); ++i) {
        const ProcessDecl& pd = d_.processes[i];
        const bool own = !pd.replica_run.empty() || std::any_of(pd.run.begin(), pd.run.end(), [](const OpDecl& od) {
            return od.control != Control::None || !od.bind.empty() || od.value_expr || od.index_expr || !od.text_parts.empty();
        });
        if (!own || pd.count == 1) {
            compile_script(pd.run, static_cast<int>(i), pd.count == 1 ? 0 : -1);  // replicas share one script
            continue;
        }
        for (int r = 0; r < pd.count; ++r) compile_script(pd.replica_run.empty() ? pd.run : pd.replica_run[r], static_cast<int>(i), r);
    }
    // A program's stores are no scripted op's: its changes would go unseen.
    if (std::any_of(p_.processes.begin(), p_.processes.end(), [](const PlanProcess& pp) { return pp.is_exec(); })) p_.watch_loops = false;
}

}  // namespace simrun::detail
