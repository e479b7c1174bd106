#include "scenario/op_parser.hpp"

#include "scenario/names.hpp"

#include "util/duration.hpp"

#include <cctype>
#include <climits>
#include <csignal>
#include <sys/ipc.h>
#include <charconv>

namespace simrun {
namespace {

struct Token {
    std::string text;   // unquoted, escapes applied for quoted tokens
    std::size_t offset;
    bool quoted = false;
};

bool tokenize(const std::string& s, std::vector<Token>& out, TextError& err) {
    std::size_t i = 0;
    while (i < s.size()) {
        if (std::isspace(static_cast<unsigned char>(s[i])) || s[i] == ',') {
            ++i;
            continue;
        }
        Token t{{}, i};
        if (s[i] == '"') {
            t.quoted = true;
            ++i;
            for (;;) {
                if (i >= s.size()) return err = {t.offset, "unterminated string"}, false;
                char c = s[i++];
                if (c == '"') break;
                if (c != '\\') {
                    t.text += c;
                    continue;
                }
                if (i >= s.size()) return err = {i - 1, "unterminated escape"}, false;
                switch (char e = s[i++]) {
                    case 'n': t.text += '\n'; break;
                    case 't': t.text += '\t'; break;
                    case '\\': t.text += '\\'; break;
                    case '"': t.text += '"'; break;
                    default: return err = {i - 2, std::string("unknown escape '\\") + e + "'"}, false;
                }
            }
        } else if (s[i] == '{') {
            // A value computed when the op runs: {req.type + 10}, one token.
            std::size_t close = s.find('}', i);
            if (close == std::string::npos) return err = {i, "unterminated '{': a value is written {expression}"}, false;
            t.text = s.substr(i, close + 1 - i);
            i = close + 1;
        } else {
            while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i])) && s[i] != ',') {
                if (s[i] != '{') {
                    t.text += s[i++];
                    continue;
                }
                // A computed index inside a name, buf.items[{k + 1}]: spaces and all.
                std::size_t close = s.find('}', i);
                if (close == std::string::npos) return err = {i, "unterminated '{': a value is written {expression}"}, false;
                t.text += s.substr(i, close + 1 - i);
                i = close + 1;
            }
        }
        out.push_back(std::move(t));
    }
    return true;
}

bool parse_int(const Token& t, std::int64_t& v) {
    const char* b = t.text.data();
    const char* e = b + t.text.size();
    if (b != e && *b == '+') ++b;
    auto [end, ec] = std::from_chars(b, e, v);
    return ec == std::errc{} && end == e && b != e;
}

// A {expression} token: a value computed when the op runs.
bool is_value_token(const Token& t) { return !t.quoted && t.text.size() >= 2 && t.text.front() == '{'; }

bool parse_value_token(const Token& t, OpDecl& op, TextError& err) {
    ValueExprDecl v;
    v.offset = t.offset;
    TextError e;
    if (!parse_expr(t.text.substr(1, t.text.size() - 2), v.expr, e, true)) return err = {t.offset + 1 + e.offset, e.message}, false;
    for (auto& n : v.expr.nodes) n.offset += t.offset + 1;  // offsets in the op text
    op.value_expr = std::move(v);
    return true;
}

// object.member or object.member[index]; with `runtime`, the index may be
// a {value} computed when the op runs (buf.items[{k}]).
bool parse_ref(const Token& t, RefDecl& ref, TextError& err, std::optional<ValueExprDecl>* runtime = nullptr) {
    ref.offset = t.offset;
    std::string_view s = t.text;
    auto dot = s.find('.');
    if (dot == std::string_view::npos || t.quoted)
        return err = {t.offset, "expected 'object.member', got '" + t.text + "'"}, false;
    ref.object = std::string(s.substr(0, dot));
    std::string_view rest = s.substr(dot + 1);
    if (auto br = rest.find('['); br != std::string_view::npos) {
        if (rest.back() != ']') return err = {t.offset + dot + 1 + br, "expected ']'"}, false;
        std::string_view idx = rest.substr(br + 1, rest.size() - br - 2);
        const std::size_t idx_at = t.offset + dot + 2 + br;
        if (idx.size() >= 2 && idx.front() == '{' && idx.back() == '}') {
            if (!runtime) return err = {idx_at, "a computed index goes in the cell of load, store and += ops"}, false;
            ValueExprDecl v;
            v.offset = idx_at;
            TextError e;
            if (!parse_expr(std::string(idx.substr(1, idx.size() - 2)), v.expr, e, true)) return err = {idx_at + 1 + e.offset, e.message}, false;
            for (auto& n : v.expr.nodes) n.offset += idx_at + 1;
            *runtime = std::move(v);
            ref.index = 0;  // the array's first cell; the op picks the one its index names
            ref.member = std::string(rest.substr(0, br));
            if (!valid_name(ref.object) || !valid_name(ref.member)) return err = {t.offset, "malformed reference '" + t.text + "'"}, false;
            return true;
        }
        std::int64_t v = 0;
        auto [end, ec] = std::from_chars(idx.data(), idx.data() + idx.size(), v);
        if (ec != std::errc{} || end != idx.data() + idx.size() || v < 0)
            return err = {t.offset + dot + 2 + br, "expected a non-negative index"}, false;
        ref.index = v;
        rest = rest.substr(0, br);
    }
    ref.member = std::string(rest);
    if (!valid_name(ref.object) || !valid_name(ref.member))
        return err = {t.offset, "malformed reference '" + t.text + "'"}, false;
    return true;
}

bool parse_object(const Token& t, RefDecl& ref, TextError& err) {
    ref.offset = t.offset;
    ref.object = t.text;
    if (t.quoted || !valid_name(t.text)) return err = {t.offset, "expected an object name, got '" + t.text + "'"}, false;
    return true;
}

// Trailing flags of semaphore ops: undo, noundo, nowait.
bool sem_flags(const std::vector<Token>& toks, std::size_t from, OpDecl& op, TextError& err) {
    for (std::size_t i = from; i < toks.size(); ++i) {
        const auto& w = toks[i].text;
        if (w == "undo") op.undo = true;
        else if (w == "noundo") op.undo = false;
        else if (w == "nowait") op.nowait = true;
        else return err = {toks[i].offset, "unexpected '" + w + "' (flags are undo, noundo, nowait)"}, false;
    }
    return true;
}

bool parse_sem_pv(const std::vector<Token>& toks, OpDecl& op, TextError& err) {
    if (toks.size() < 2) return err = {toks[0].offset + 1, "expected a semaphore after " + op.verb}, false;
    SemTermDecl term;
    // "P name": a POSIX semaphore (resolved by the planner); "P set.member": System V.
    if (toks[1].text.find('.') == std::string::npos && !toks[1].quoted && valid_name(toks[1].text)) {
        term.ref.object = toks[1].text;
        term.ref.offset = toks[1].offset;
        term.delta = op.verb == "P" ? -1 : 1;
        op.sems.push_back(std::move(term));
        std::size_t i = 2;
        if (i + 1 < toks.size() && toks[i].text == "timeout") {
            auto ns = parse_duration_ns(toks[i + 1].text);
            if (!ns) return err = {toks[i + 1].offset, "expected a duration such as 10ms, got '" + toks[i + 1].text + "'"}, false;
            op.timeout_ns = *ns;
            i += 2;
        }
        return sem_flags(toks, i, op, err);
    }
    if (!parse_ref(toks[1], term.ref, err)) return false;
    std::int64_t n = 1;
    std::size_t next = 2;
    if (toks.size() > 2 && parse_int(toks[2], n)) {
        if (n < 1 || n > 32767) return err = {toks[2].offset, "count must be between 1 and 32767"}, false;
        next = 3;
    }
    term.delta = op.verb == "P" ? -n : n;
    op.sems.push_back(std::move(term));
    return sem_flags(toks, next, op, err);
}

// semop a.x -1, a.y +1 [flags]
bool parse_semop(const std::vector<Token>& toks, OpDecl& op, TextError& err) {
    std::size_t i = 1;
    while (i < toks.size() && toks[i].text.find('.') != std::string::npos) {
        SemTermDecl term;
        if (!parse_ref(toks[i], term.ref, err)) return false;
        if (i + 1 >= toks.size() || !parse_int(toks[i + 1], term.delta))
            return err = {i + 1 < toks.size() ? toks[i + 1].offset : toks[i].offset + toks[i].text.size(),
                          "expected a signed amount after " + toks[i].text + " (e.g. -1, +1, 0)"},
                   false;
        if (term.delta < -32767 || term.delta > 32767)
            return err = {toks[i + 1].offset, "amount must be between -32767 and 32767"}, false;
        op.sems.push_back(std::move(term));
        i += 2;
    }
    if (op.sems.empty()) return err = {toks[0].offset + 5, "expected 'semop set.member amount, ...'"}, false;
    return sem_flags(toks, i, op, err);
}

// An octal permission mode such as 0640.
bool parse_mode(const Token& t, std::int64_t& mode, TextError& err) {
    auto [end, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), mode, 8);
    if (ec != std::errc{} || end != t.text.data() + t.text.size() || mode < 0 || mode > 0777)
        return err = {t.offset, "expected an octal mode such as 0640"}, false;
    return true;
}

// semctl/shmctl/msgctl OBJECT IPC_SET [uid N] [gid N] [mode 0640]: what
// is named changes, the rest stays as IPC_STAT read it.
bool parse_ipc_set(const std::vector<Token>& toks, OpDecl& op, TextError& err) {
    const std::string usage = "IPC_SET [uid N] [gid N] [mode 0640]";
    if (toks.size() < 4) return err = {toks[2].offset + 7, "usage: " + usage}, false;
    for (std::size_t i = 3; i < toks.size(); i += 2) {
        const std::string& field = toks[i].text;
        auto& slot = field == "uid" ? op.set_uid : field == "gid" ? op.set_gid : op.set_mode;
        if (field != "uid" && field != "gid" && field != "mode")
            return err = {toks[i].offset, "unexpected '" + field + "' (usage: " + usage + ")"}, false;
        if (slot) return err = {toks[i].offset, field + " given twice"}, false;
        if (i + 1 >= toks.size()) return err = {toks[i].offset + field.size(), "missing value after " + field}, false;
        std::int64_t v = 0;
        if (field == "mode") {
            if (!parse_mode(toks[i + 1], v, err)) return false;
        } else if (!parse_int(toks[i + 1], v) || v < 0 || v > 0x7fffffff) {
            return err = {toks[i + 1].offset, "expected a numeric " + field + " from 0 to 2147483647"}, false;
        }
        slot = v;
    }
    return true;
}

bool expect_count(const std::vector<Token>& toks, std::size_t n, const std::string& usage, TextError& err) {
    if (toks.size() == n) return true;
    std::size_t at = toks.size() > n ? toks[n].offset : toks.back().offset + toks.back().text.size();
    err = {at, toks.size() > n ? "unexpected '" + toks[n].text + "' (usage: " + usage + ")"
                               : "missing operand (usage: " + usage + ")"};
    return false;
}

bool parse_shm_assign(const std::vector<Token>& toks, OpDecl& op, TextError& err) {
    if (!parse_ref(toks[0], op.target, err, &op.index_expr)) return false;
    const std::string& sym = toks[1].text;
    if (toks.size() < 3) return err = {toks[1].offset + sym.size(), "expected a number after " + sym}, false;
    if (sym == "=" && is_value_token(toks[2])) {
        op.kind = OpKind::ShmStore, op.verb = sym;
        if (toks.size() > 3) return err = {toks[3].offset, "unexpected '" + toks[3].text + "'"}, false;
        return parse_value_token(toks[2], op, err);
    }
    if (!parse_int(toks[2], op.value))
        return err = {toks[2].offset, toks[2].text.find_first_not_of("+-0123456789") == std::string::npos
                                          ? "the number " + toks[2].text + " does not fit in 64 bits"
                                          : "expected a number, got '" + toks[2].text + "'"},
               false;
    op.verb = sym;
    if (sym == "=") op.kind = OpKind::ShmStore;
    else op.kind = OpKind::ShmAdd, op.value = sym == "-=" ? -op.value : op.value;
    if (toks.size() > 3) {
        if (toks[3].text != "atomic" || toks.size() > 4 || op.kind == OpKind::ShmStore)
            return err = {toks[3].offset, "unexpected '" + toks[3].text + "'" +
                                              (op.kind == OpKind::ShmAdd ? " (only 'atomic' may follow)" : "")},
                   false;
        op.atomic = true;
    }
    return true;
}

// A text token with {values} computed when the op runs ("got {n} bytes"):
// cut into literal parts and values. Offsets are found in the op as written
// (op.text), from the token's start.
bool text_template(const Token& t, OpDecl& op, TextError& err) {
    op.data = t.text;
    if (t.text.find('{') == std::string::npos) return true;
    std::size_t raw = t.offset;  // where to look for the next '{' in op.text
    std::string literal;
    for (std::size_t k = 0; k < t.text.size();) {
        if (t.text[k] != '{') {
            literal += t.text[k++];
            continue;
        }
        const std::size_t close = t.text.find('}', k);
        raw = op.text.find('{', raw);
        if (close == std::string::npos || raw == std::string::npos) return err = {raw == std::string::npos ? t.offset : raw, "unterminated '{' in the text"}, false;
        ValueExprDecl v;
        v.offset = raw;
        TextError e;
        if (!parse_expr(t.text.substr(k + 1, close - k - 1), v.expr, e, true)) return err = {raw + 1 + e.offset, e.message}, false;
        for (auto& n : v.expr.nodes) n.offset += raw + 1;
        op.text_parts.push_back({std::move(literal), std::move(v)});
        literal.clear();
        k = close + 1, raw += 1;
    }
    if (!literal.empty()) op.text_parts.push_back({std::move(literal), std::nullopt});
    return true;
}

// if COND / while COND: the rest of the line is an expression.
bool parse_condition(const std::string& text, const std::vector<Token>& toks, OpDecl& op, TextError& err) {
    op.control = toks[0].text == "if" ? Control::If : Control::While;
    op.kind = OpKind::Test;
    if (toks.size() < 2) return err = {toks[0].offset + toks[0].text.size(), "expected a condition after '" + toks[0].text + "'"}, false;
    op.cond_offset = toks[1].offset;
    TextError e;
    if (!parse_expr(text.substr(op.cond_offset), op.cond, e, true)) return err = {op.cond_offset + e.offset, e.message}, false;
    for (auto& n : op.cond.nodes) n.offset += op.cond_offset;  // offsets in the op text
    return true;
}

}  // namespace

bool parse_op(const std::string& text, OpDecl& op, TextError& err) {
    op.text = text;
    std::vector<Token> toks;
    if (!tokenize(text, toks, err)) return false;
    if (toks.empty()) return err = {0, "empty op"}, false;
    const std::string& verb = toks[0].text;
    op.verb = verb;
    if (!toks[0].quoted && (verb == "if" || verb == "while")) return parse_condition(text, toks, op, err);
    if (!toks[0].quoted && (verb == "else" || verb == "end" || verb == "break")) {
        op.control = verb == "else" ? Control::Else : verb == "end" ? Control::End : Control::Break;
        op.kind = OpKind::Jump;
        return expect_count(toks, 1, verb, err);
    }
    if (!toks[0].quoted && verb == "repeat") {
        op.control = Control::Repeat;
        op.kind = OpKind::Loop;
        if (!expect_count(toks, 2, "repeat N", err)) return false;
        if (!parse_int(toks[1], op.value) || op.value < 0 || op.value > 1'000'000'000)
            return err = {toks[1].offset, "repeat takes a count from 0 to 1000000000"}, false;
        return true;
    }
    // "... as NAME": the value the op gives, for later conditions and {values}.
    if (toks.size() >= 3 && !toks[toks.size() - 2].quoted && toks[toks.size() - 2].text == "as") {
        const Token& name = toks.back();
        if (name.quoted || !valid_name(name.text) || name.text.find('.') != std::string::npos)
            return err = {name.offset, "expected a name after 'as', got '" + name.text + "'"}, false;
        if (name.text == "i" || name.text == "n")
            return err = {name.offset, "'" + name.text + "' is the replica's own " + (name.text == "i" ? "index" : "count") + "; bind another name"},
                   false;
        op.bind = name.text;
        op.bind_offset = name.offset;
        toks.resize(toks.size() - 2);
    }
    // A {value} computed at run time stands in three places only.
    for (std::size_t k = 1; k < toks.size(); ++k) {
        if (!is_value_token(toks[k])) continue;
        const bool allowed = (k == 2 && (verb == "send" || toks[1].text == "=")) || (k == 3 && verb == "sigqueue");
        if (!allowed)
            return err = {toks[k].offset, "a {value} computed when the op runs goes in a send's type, a stored value or a sigqueue's value"},
                   false;
    }
    if (verb == "P" || verb == "V") return op.kind = OpKind::Semop, parse_sem_pv(toks, op, err);
    if (verb == "semop") return op.kind = OpKind::Semop, parse_semop(toks, op, err);
    // NAME = N or NAME = {expression}: one of the script's own values (no dot: not a cell).
    if (toks.size() >= 2 && toks[1].text == "=" && !toks[0].quoted && valid_name(toks[0].text) && toks[0].text.find('.') == std::string::npos) {
        op.kind = OpKind::SetValue;
        op.bind = toks[0].text, op.bind_offset = toks[0].offset;
        if (op.bind == "i" || op.bind == "n")
            return err = {toks[0].offset, "'" + op.bind + "' is the replica's own " + (op.bind == "i" ? "index" : "count") + "; set another name"}, false;
        if (toks.size() != 3) return err = {toks.size() < 3 ? toks[1].offset + 1 : toks[3].offset, "expected 'NAME = N' or 'NAME = {expression}'"}, false;
        if (is_value_token(toks[2])) return parse_value_token(toks[2], op, err);
        if (!parse_int(toks[2], op.value)) return err = {toks[2].offset, "expected a number or a {expression}, got '" + toks[2].text + "'"}, false;
        return true;
    }
    if (toks.size() >= 2 && (toks[1].text == "=" || toks[1].text == "+=" || toks[1].text == "-="))
        return parse_shm_assign(toks, op, err);
    if (verb == "load") {
        op.kind = OpKind::ShmLoad;
        return expect_count(toks, 2, "load seg.cell", err) && parse_ref(toks[1], op.target, err, &op.index_expr);
    }
    if (verb == "write") {
        op.kind = OpKind::PipeWrite;
        if (!expect_count(toks, 3, "write PIPE \"text\"", err) || !parse_object(toks[1], op.target, err)) return false;
        if (!toks[2].quoted) return err = {toks[2].offset, "expected a quoted string"}, false;
        return text_template(toks[2], op, err);
    }
    if (verb == "read") {
        op.kind = OpKind::PipeRead;
        op.value = 4096;
        if (toks.size() < 2 || toks.size() > 3) return expect_count(toks, 2, "read PIPE [BYTES|all]", err);
        if (!parse_object(toks[1], op.target, err)) return false;
        if (toks.size() == 3) {
            if (toks[2].text == "all") op.read_all = true;
            else if (!parse_int(toks[2], op.value) || op.value < 1 || op.value > 65536)
                return err = {toks[2].offset, "expected a byte count from 1 to 65536 or 'all'"}, false;
        }
        return true;
    }
    if (verb == "close") {
        op.kind = OpKind::PipeClose;
        return expect_count(toks, 2, "close PIPE", err) && parse_object(toks[1], op.target, err);
    }
    if (verb == "send") {
        // send Q [N] "text": N is the mtype (System V, default 1) or the priority (POSIX, default 0)
        op.kind = OpKind::MsgSend;
        if (toks.size() < 3) return expect_count(toks, 3, "send QUEUE [TYPE|PRIORITY] \"text\" [nowait]", err);
        if (!parse_object(toks[1], op.target, err)) return false;
        std::size_t i = 2;
        if (is_value_token(toks[i])) {
            if (!parse_value_token(toks[i], op, err)) return false;
            ++i;
        } else if (!toks[i].quoted) {
            std::int64_t n = 0;
            if (!parse_int(toks[i], n) || n < 0)
                return err = {toks[i].offset, "expected a message type or priority (a number >= 0) or the quoted text"}, false;
            op.msg_type = n;
            ++i;
        }
        if (i >= toks.size() || !toks[i].quoted)
            return err = {i < toks.size() ? toks[i].offset : toks.back().offset + toks.back().text.size(), "expected the quoted message text"}, false;
        if (!text_template(toks[i++], op, err)) return false;
        return sem_flags(toks, i, op, err);
    }
    if (verb == "recv") {
        // recv Q [TYPE] [nowait]: TYPE as msgrcv's msgtyp (System V only)
        op.kind = OpKind::MsgRecv;
        if (toks.size() < 2) return expect_count(toks, 2, "recv QUEUE [TYPE] [nowait]", err);
        if (!parse_object(toks[1], op.target, err)) return false;
        std::size_t i = 2;
        std::int64_t n = 0;
        if (i < toks.size() && parse_int(toks[i], n)) op.msg_type = n, ++i;
        return sem_flags(toks, i, op, err);
    }
    if (verb == "open") {
        op.kind = OpKind::FifoOpen;
        if (toks.size() < 3) return expect_count(toks, 3, "open FIFO read|write [nowait]", err);
        if (!parse_object(toks[1], op.target, err)) return false;
        if (toks[2].text != "read" && toks[2].text != "write")
            return err = {toks[2].offset, "expected 'read' or 'write', got '" + toks[2].text + "'"}, false;
        op.value = toks[2].text == "write";
        return sem_flags(toks, 3, op, err);
    }
    // ---- signals and processes ----
    auto signal_at = [&](std::size_t i) -> int {
        if (i >= toks.size()) return err = {toks.back().offset + toks.back().text.size(), "expected a signal, e.g. SIGUSR1"}, -1;
        int s = parse_signal(toks[i].text);
        if (s == 0) return err = {toks[i].offset, "unknown signal '" + toks[i].text + "'"}, -1;
        op.signals.push_back(s);
        return s;
    };
    if (verb == "kill" || verb == "sigqueue") {
        op.kind = OpKind::Kill;
        std::string usage = verb == "kill" ? "kill PROCESS SIGNAL" : "sigqueue PROCESS SIGNAL VALUE";
        if (toks.size() < 3) return expect_count(toks, 3, usage, err);
        op.target.object = toks[1].text;
        op.target.offset = toks[1].offset;
        if (signal_at(2) < 0) return false;
        if (verb == "sigqueue") {
            std::int64_t v = 0;
            if (toks.size() >= 4 && is_value_token(toks[3])) {
                if (!parse_value_token(toks[3], op, err)) return false;
                op.sigval = 0;  // computed when the op runs
                return expect_count(toks, 4, usage, err);
            }
            if (toks.size() < 4 || !parse_int(toks[3], v) || v < INT32_MIN || v > INT32_MAX)
                return err = {toks.size() < 4 ? toks[2].offset + toks[2].text.size() : toks[3].offset, "expected an int value to queue"}, false;
            op.sigval = v;
            return expect_count(toks, 4, usage, err);
        }
        return expect_count(toks, 3, usage, err);
    }
    if (verb == "raise") {
        op.kind = OpKind::Kill;
        op.to_self = true;
        return signal_at(1) > 0 && expect_count(toks, 2, "raise SIGNAL", err);
    }
    if (verb == "block" || verb == "unblock") {
        op.kind = OpKind::SigMask;
        op.value = verb == "unblock";
        if (toks.size() < 2) return signal_at(1) > 0;
        for (std::size_t i = 1; i < toks.size(); ++i)
            if (signal_at(i) < 0) return false;
        return true;
    }
    if (verb == "pause") return op.kind = OpKind::Pause, expect_count(toks, 1, "pause", err);
    if (verb == "sigwait") {
        op.kind = OpKind::SigWait;
        return signal_at(1) > 0 && expect_count(toks, 2, "sigwait SIGNAL", err);
    }
    if (verb == "fork") {
        op.kind = OpKind::Fork;
        if (!expect_count(toks, 2, "fork CHILD", err)) return false;
        op.target.object = toks[1].text;
        op.target.offset = toks[1].offset;
        return true;
    }
    if (verb == "wait") {
        op.kind = OpKind::Wait;
        if (toks.size() > 2) return expect_count(toks, 2, "wait [CHILD]", err);
        if (toks.size() == 2) op.target.object = toks[1].text, op.target.offset = toks[1].offset;
        return true;
    }
    if (verb == "crash") {
        op.kind = OpKind::Crash;
        if (!expect_count(toks, 2, "crash segv|abort", err)) return false;
        if (toks[1].text != "segv" && toks[1].text != "abort")
            return err = {toks[1].offset, "expected 'segv' or 'abort', got '" + toks[1].text + "'"}, false;
        op.value = toks[1].text == "segv" ? SIGSEGV : SIGABRT;
        return true;
    }
    if (verb == "semget" || verb == "shmget" || verb == "msgget") {
        // semget SET [NSEMS] [create] [excl] [mode 0640]
        op.kind = OpKind::IpcGet;
        op.command = verb;
        if (toks.size() < 2) return expect_count(toks, 2, verb + " OBJECT [SIZE] [create] [excl] [mode 0640]", err);
        if (!parse_object(toks[1], op.target, err)) return false;
        op.ipc_flags = 0600;
        for (std::size_t i = 2; i < toks.size(); ++i) {
            std::int64_t n = 0;
            if (toks[i].text == "create") op.ipc_flags |= IPC_CREAT;
            else if (toks[i].text == "excl") op.ipc_flags |= IPC_EXCL;
            else if (toks[i].text == "mode" && i + 1 < toks.size()) {
                std::int64_t m = 0;
                if (!parse_mode(toks[i + 1], m, err)) return false;
                op.ipc_flags = (op.ipc_flags & ~0777) | m;
                ++i;
            } else if (verb != "msgget" && !op.size && parse_int(toks[i], n) && n >= 0) {
                op.size = n;
            } else {
                return err = {toks[i].offset, "unexpected '" + toks[i].text + "' (flags are create, excl, mode 0640)"}, false;
            }
        }
        return true;
    }
    if (verb == "shmctl" || verb == "msgctl") {
        op.kind = verb == "shmctl" ? OpKind::Shmctl : OpKind::Msgctl;
        if (toks.size() < 3) return expect_count(toks, 3, verb + " OBJECT IPC_STAT|IPC_SET|IPC_RMID", err);
        if (!parse_object(toks[1], op.target, err)) return false;
        op.command = toks[2].text;
        if (op.command == "IPC_SET") return parse_ipc_set(toks, op, err);
        if (op.command != "IPC_STAT" && op.command != "IPC_RMID")
            return err = {toks[2].offset, "unknown " + verb + " command '" + op.command + "' (IPC_STAT, IPC_SET, IPC_RMID)"}, false;
        return expect_count(toks, 3, verb + " OBJECT " + op.command, err);
    }
    if (verb == "semctl") {
        // semctl SET.member SETVAL N | GETVAL | GETNCNT | GETZCNT ; semctl SET IPC_RMID
        op.kind = OpKind::Semctl;
        if (toks.size() < 3) return expect_count(toks, 3, "semctl SET[.member] COMMAND [VALUE]", err);
        op.command = toks[2].text;
        bool member = toks[1].text.find('.') != std::string::npos;
        if (member ? !parse_ref(toks[1], op.target, err) : !parse_object(toks[1], op.target, err)) return false;
        if (op.command == "SETVAL") {
            if (toks.size() < 4 || !parse_int(toks[3], op.value) || op.value < 0 || op.value > 32767)
                return err = {toks.size() < 4 ? toks[2].offset + 6 : toks[3].offset, "SETVAL needs a value from 0 to 32767"}, false;
            return expect_count(toks, 4, "semctl SET.member SETVAL N", err);
        }
        if (op.command == "SETALL") {
            // semctl SET SETALL v0 v1 ...: kept as sem terms (member i, value)
            for (std::size_t i = 3; i < toks.size(); ++i) {
                std::int64_t v = 0;
                if (!parse_int(toks[i], v) || v < 0 || v > 32767) return err = {toks[i].offset, "SETALL values are 0 to 32767"}, false;
                op.sems.push_back({{}, v});
            }
            if (op.sems.empty()) return err = {toks[2].offset + 6, "SETALL needs one value per member"}, false;
            return true;
        }
        if (op.command == "IPC_SET") return parse_ipc_set(toks, op, err);
        if (op.command == "GETVAL" || op.command == "GETNCNT" || op.command == "GETZCNT" || op.command == "IPC_RMID" ||
            op.command == "GETALL" || op.command == "IPC_STAT")
            return expect_count(toks, 3, "semctl SET[.member] " + op.command, err);
        return err = {toks[2].offset,
                      "unknown semctl command '" + op.command + "' (SETVAL, GETVAL, GETNCNT, GETZCNT, SETALL, GETALL, IPC_STAT, IPC_SET, IPC_RMID)"},
               false;
    }
    if (verb == "sleep") {
        op.kind = OpKind::Sleep;
        if (!expect_count(toks, 2, "sleep DURATION", err)) return false;
        auto ns = parse_duration_ns(toks[1].text);
        if (!ns) return err = {toks[1].offset, "expected a duration such as 10ms, got '" + toks[1].text + "'"}, false;
        op.sleep_ns = *ns;
        return true;
    }
    if (verb == "print") {
        op.kind = OpKind::Print;
        if (!expect_count(toks, 2, "print \"text\"", err)) return false;
        if (!toks[1].quoted) return err = {toks[1].offset, "expected a quoted string"}, false;
        return text_template(toks[1], op, err);
    }
    if (verb == "exit") {
        op.kind = OpKind::Exit;
        if (!expect_count(toks, 2, "exit CODE", err)) return false;
        if (!parse_int(toks[1], op.value) || op.value < 0 || op.value > 255)
            return err = {toks[1].offset, "exit code must be 0..255"}, false;
        return true;
    }
    static const std::vector<std::string> verbs = {"P", "V", "semop", "load", "open", "write", "read", "close", "send",
                                                   "recv", "kill", "sigqueue", "raise", "block", "unblock", "pause",
                                                   "sigwait", "fork", "wait", "crash", "sleep", "print", "exit",
                                                   "semget", "shmget", "msgget", "semctl", "shmctl", "msgctl"};
    return err = {0, "unknown op '" + verb + "'" + did_you_mean_suffix(verb, verbs) + " (the ops are listed in docs/scenario-format.md)"},
           false;
}

namespace {

// The value of a replica's {expression} when it uses only numbers, i and n;
// nullopt when it names anything else (a value bound at run time, a cell).
std::optional<std::int64_t> replica_value(const ExprTree& t, int node, std::int64_t i, std::int64_t n, std::string& error) {
    const ExprNode& x = t.nodes[static_cast<std::size_t>(node)];
    switch (x.op) {
        case ExprOp::Int: return x.value;
        case ExprOp::Var:
            if (x.object == "i") return i;
            if (x.object == "n") return n;
            return std::nullopt;
        case ExprOp::Neg:
        case ExprOp::Not: {
            auto a = replica_value(t, x.lhs, i, n, error);
            if (!a) return a;
            if (x.op == ExprOp::Not) return !*a;
            if (*a == INT64_MIN) return error = "integer overflow", std::nullopt;
            return -*a;
        }
        default: break;
    }
    if (x.lhs < 0 || x.rhs < 0) return std::nullopt;
    auto a = replica_value(t, x.lhs, i, n, error);
    if (!a) return a;
    auto b = replica_value(t, x.rhs, i, n, error);
    if (!b) return b;
    std::int64_t r = 0;
    switch (x.op) {
        case ExprOp::Add: return __builtin_add_overflow(*a, *b, &r) ? (error = "integer overflow", std::nullopt) : std::optional(r);
        case ExprOp::Sub: return __builtin_sub_overflow(*a, *b, &r) ? (error = "integer overflow", std::nullopt) : std::optional(r);
        case ExprOp::Mul: return __builtin_mul_overflow(*a, *b, &r) ? (error = "integer overflow", std::nullopt) : std::optional(r);
        case ExprOp::Div:
        case ExprOp::Mod:
            if (*b == 0) return error = "division by zero", std::nullopt;
            if (*a == INT64_MIN && *b == -1) return error = "integer overflow", std::nullopt;
            return x.op == ExprOp::Div ? *a / *b : *a % *b;
        case ExprOp::Lt: return *a < *b;
        case ExprOp::Le: return *a <= *b;
        case ExprOp::Gt: return *a > *b;
        case ExprOp::Ge: return *a >= *b;
        case ExprOp::Eq: return *a == *b;
        case ExprOp::Ne: return *a != *b;
        case ExprOp::And: return *a && *b;
        case ExprOp::Or: return *a || *b;
        default: return std::nullopt;
    }
}

}  // namespace

void to_written_offsets(OpDecl& op) {
    if (op.origin.empty()) return;
    auto map = [&](std::size_t& o) { o = op.written(o); };
    map(op.target.offset);
    for (auto& t : op.sems) map(t.ref.offset);
    map(op.cond_offset);
    for (auto& n : op.cond.nodes) map(n.offset);
    map(op.bind_offset);
    for (auto& part : op.text_parts) {
        if (!part.value) continue;
        map(part.value->offset);
        for (auto& n : part.value->expr.nodes) map(n.offset);
    }
    if (op.index_expr) {
        map(op.index_expr->offset);
        for (auto& n : op.index_expr->expr.nodes) map(n.offset);
    }
    if (op.value_expr) {
        map(op.value_expr->offset);
        for (auto& n : op.value_expr->expr.nodes) map(n.offset);
    }
}

bool has_replica_values(const std::string& text) { return text.find('{') != std::string::npos; }

bool expand_replica(const std::string& text, std::int64_t i, std::int64_t n, std::string& out, std::vector<std::uint32_t>& origin,
                    TextError& err) {
    out.clear();
    origin.clear();
    bool quoted = false;
    for (std::size_t k = 0; k < text.size();) {
        char c = text[k];
        if (c == '"' && (k == 0 || text[k - 1] != '\\')) quoted = !quoted;
        if (c != '{') {
            out += c;
            origin.push_back(static_cast<std::uint32_t>(k++));
            continue;
        }
        std::size_t close = text.find('}', k);
        if (close == std::string::npos) return err = {k, "unterminated '{': a value is written {expression}, e.g. forks.f{(i + 1) % n}"}, false;
        ExprTree t;
        TextError e;
        if (!parse_expr(text.substr(k + 1, close - k - 1), t, e, true)) return err = {k + 1 + e.offset, e.message}, false;
        std::string error;
        auto v = replica_value(t, t.root, i, n, error);
        if (!error.empty()) return err = {k + 1, error}, false;
        if (!v) {
            // Computed when the op runs: kept as written (one token, or a part of a text).
            for (std::size_t m = k; m <= close; ++m) out += text[m], origin.push_back(static_cast<std::uint32_t>(m));
        } else {
            std::string digits = std::to_string(*v);
            for (char d : digits) out += d, origin.push_back(static_cast<std::uint32_t>(k));
        }
        k = close + 1;
    }
    origin.push_back(static_cast<std::uint32_t>(text.size()));
    return true;
}

}  // namespace simrun
