#include "scenario/expr.hpp"

#include "scenario/model.hpp"
#include "scenario/names.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

namespace simrun {
namespace {

bool is_ident_start(char c) { return is_name_start(c); }
bool is_ident_char(char c) { return is_name_char(c); }

class ExprParser {
public:
    ExprParser(const std::string& text, ExprTree& out, bool values) : s_(text), t_(out), values_(values) {}

    bool parse(ExprError& err) {
        int root = parse_or();
        skip_ws();
        if (!failed_ && i_ < s_.size()) fail("unexpected '" + std::string(1, s_[i_]) + "'");
        if (failed_) {
            err = err_;
            return false;
        }
        t_.root = root;
        return true;
    }

private:
    void skip_ws() {
        while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
    }
    bool eat(std::string_view tok) {
        skip_ws();
        if (s_.compare(i_, tok.size(), tok) != 0) return false;
        i_ += tok.size();
        return true;
    }
    // A word operator (and, or, not): the word, not the start of a name.
    bool eat_word(std::string_view word) {
        skip_ws();
        if (s_.compare(i_, word.size(), word) != 0) return false;
        if (i_ + word.size() < s_.size() && is_ident_char(s_[i_ + word.size()])) return false;
        i_ += word.size();
        return true;
    }
    int fail(std::string message) {
        if (!failed_) err_ = {i_, std::move(message)}, failed_ = true;
        return -1;
    }
    // Every node's height, bounded: the checker evaluates trees by
    // recursion, and a file must not drive it (or this parser) off the stack.
    int add(ExprNode n) {
        if (failed_) return -1;
        int h = 1;
        for (int child : {n.lhs, n.rhs})
            if (child >= 0) h = std::max(h, height_[static_cast<std::size_t>(child)] + 1);
        if (h > kMaxExprDepth) return fail(fmt::format("the expression nests deeper than {} levels", kMaxExprDepth));
        if (t_.nodes.size() >= kMaxExprNodes) return fail(fmt::format("the expression has more than {} terms", kMaxExprNodes));
        t_.nodes.push_back(std::move(n));
        height_.push_back(h);
        return static_cast<int>(t_.nodes.size()) - 1;
    }
    // A level of the parser's own recursion (a unary operator, parentheses).
    struct Level {
        explicit Level(int& depth) : depth_(depth) { ++depth_; }
        ~Level() { --depth_; }
        bool too_deep() const { return depth_ > kMaxExprDepth; }
        int& depth_;
    };
    int binary(ExprOp op, int lhs, int rhs, std::size_t at) {
        ExprNode n;
        n.op = op, n.lhs = lhs, n.rhs = rhs, n.offset = at;
        return add(std::move(n));
    }

    int parse_or() {
        int lhs = parse_and();
        while (!failed_) {
            std::size_t at = (skip_ws(), i_);
            if (!eat("||") && !eat_word("or")) break;
            lhs = binary(ExprOp::Or, lhs, parse_and(), at);
        }
        return lhs;
    }
    int parse_and() {
        int lhs = parse_cmp();
        while (!failed_) {
            std::size_t at = (skip_ws(), i_);
            if (!eat("&&") && !eat_word("and")) break;
            lhs = binary(ExprOp::And, lhs, parse_cmp(), at);
        }
        return lhs;
    }
    bool cmp_op(ExprOp& op) {
        static const std::pair<std::string_view, ExprOp> ops[] = {
            {"<=", ExprOp::Le}, {">=", ExprOp::Ge}, {"==", ExprOp::Eq}, {"!=", ExprOp::Ne},
            {"<", ExprOp::Lt},  {">", ExprOp::Gt}};
        for (auto [tok, o] : ops)
            if (eat(tok)) return op = o, true;
        return false;
    }
    // a < b <= c means (a < b) && (b <= c); b is shared, not copied.
    int parse_cmp() {
        int lhs = parse_add();
        int result = -1;
        ExprOp op;
        while (!failed_) {
            std::size_t at = (skip_ws(), i_);
            if (!cmp_op(op)) break;
            int rhs = parse_add();
            int cmp = binary(op, lhs, rhs, at);
            result = result < 0 ? cmp : binary(ExprOp::And, result, cmp, at);
            lhs = rhs;
        }
        return result < 0 ? lhs : result;
    }
    int parse_add() {
        int lhs = parse_mul();
        while (!failed_) {
            std::size_t at = (skip_ws(), i_);
            if (eat("+")) lhs = binary(ExprOp::Add, lhs, parse_mul(), at);
            else if (eat("-")) lhs = binary(ExprOp::Sub, lhs, parse_mul(), at);
            else break;
        }
        return lhs;
    }
    int parse_mul() {
        int lhs = parse_unary();
        while (!failed_) {
            std::size_t at = (skip_ws(), i_);
            if (eat("*")) lhs = binary(ExprOp::Mul, lhs, parse_unary(), at);
            else if (eat("/")) lhs = binary(ExprOp::Div, lhs, parse_unary(), at);
            else if (eat("%")) lhs = binary(ExprOp::Mod, lhs, parse_unary(), at);
            else break;
        }
        return lhs;
    }
    int parse_unary() {
        const Level level(depth_);
        if (level.too_deep()) return fail(fmt::format("the expression nests deeper than {} levels", kMaxExprDepth));
        std::size_t at = (skip_ws(), i_);
        if ((s_.compare(i_, 2, "!=") != 0 && eat("!")) || eat_word("not")) return binary(ExprOp::Not, parse_unary(), -1, at);
        if (eat("-")) return binary(ExprOp::Neg, parse_unary(), -1, at);
        return parse_primary();
    }
    std::string ident() {
        std::size_t start = i_;
        while (i_ < s_.size() && is_ident_char(s_[i_])) ++i_;
        return s_.substr(start, i_ - start);
    }
    bool integer(std::int64_t& v) {
        auto [end, ec] = std::from_chars(s_.data() + i_, s_.data() + s_.size(), v);
        if (ec == std::errc::result_out_of_range) return fail("integer out of range"), false;
        if (ec != std::errc{}) return false;
        i_ = static_cast<std::size_t>(end - s_.data());
        return true;
    }
    // "text" with \" \\ \n \t escapes.
    bool string_literal(std::string& out) {
        skip_ws();
        if (i_ >= s_.size() || s_[i_] != '"') return fail("expected a quoted string"), false;
        for (++i_; i_ < s_.size() && s_[i_] != '"'; ++i_) {
            if (s_[i_] != '\\') {
                out += s_[i_];
                continue;
            }
            if (++i_ >= s_.size()) break;
            switch (s_[i_]) {
                case 'n': out += '\n'; break;
                case 't': out += '\t'; break;
                case '"':
                case '\\': out += s_[i_]; break;
                default: return fail("unknown escape '\\" + std::string(1, s_[i_]) + "' (\\n \\t \\\" \\\\)"), false;
            }
        }
        if (i_ >= s_.size()) return fail("the string has no closing quote"), false;
        ++i_;
        return true;
    }
    struct Arg {
        std::string text;    // trimmed
        std::size_t offset;  // where it starts
    };

    // The raw arguments of a call, after its '(': `count` of them separated
    // by commas, up to ')'. Ops and names are taken as written.
    bool raw_args(std::vector<Arg>& args, std::size_t count, const std::string& usage) {
        std::size_t close = s_.find(')', i_);
        if (close == std::string::npos) return fail("expected " + usage), false;
        std::size_t at = i_;
        for (std::size_t k = 0; k < count; ++k) {
            std::size_t end = k + 1 < count ? s_.find(',', at) : close;
            if (end == std::string::npos || end > close) return fail("expected " + usage), false;
            std::size_t first = s_.find_first_not_of(' ', at);
            std::size_t last = s_.find_last_not_of(' ', end - 1);
            if (first >= end || last == std::string::npos || last < first) {
                i_ = at;
                return fail("expected " + usage), false;
            }
            args.push_back({s_.substr(first, last - first + 1), first});
            at = end + 1;
        }
        // One argument may hold commas (an op such as "semop s.a -1, s.b +1");
        // the last of several may not: that is an argument too many.
        if (count > 1) {
            std::size_t extra = args.back().text.find(',');
            if (extra != std::string::npos) {
                i_ = args.back().offset + extra;
                return fail("expected " + usage), false;
            }
        }
        i_ = close + 1;
        return true;
    }

    int parse_primary() {
        skip_ws();
        std::size_t at = i_;
        if (i_ >= s_.size()) return fail("expression ends too early");
        if (eat("(")) {
            int inner = parse_or();
            if (!failed_ && !eat(")")) return fail("expected ')'");
            return inner;
        }
        ExprNode n;
        n.offset = at;
        if (std::isdigit(static_cast<unsigned char>(s_[i_]))) {
            n.op = ExprOp::Int;
            if (!integer(n.value)) return fail("expected a number");
            return add(std::move(n));
        }
        if (!is_ident_start(s_[i_])) return fail("unexpected '" + std::string(1, s_[i_]) + "'");
        std::string name = ident();
        if ((name == "count" || name == "errors" || name == "errno") && eat("(")) {
            // count(VERB TARGET): the op as written
            n.op = name == "count" ? ExprOp::Count : name == "errors" ? ExprOp::Errors : ExprOp::Errno;
            std::vector<Arg> args;
            if (!raw_args(args, 1, name + "(OP), e.g. count(V slots.full)")) return -1;
            n.object = args[0].text, n.offset = args[0].offset;
            return add(std::move(n));
        }
        if (name == "status" && eat("(")) {
            n.op = ExprOp::Status;
            std::vector<Arg> args;
            if (!raw_args(args, 1, "status(OP), e.g. status(wait child)")) return -1;
            n.object = args[0].text, n.offset = args[0].offset;
            return add(std::move(n));
        }
        if ((name == "ipc_left" || name == "zombies_left") && eat("(")) {
            if (!eat(")")) return fail(name + "() takes no argument");
            n.op = name == "ipc_left" ? ExprOp::IpcLeft : ExprOp::ZombiesLeft;
            return add(std::move(n));
        }
        if (name == "before" && eat("(")) {
            n.op = ExprOp::Before;
            std::vector<Arg> args;
            if (!raw_args(args, 2, "before(OP, OP), e.g. before(send q, recv q)")) return -1;
            n.object = args[0].text, n.offset = args[0].offset;
            n.second = args[1].text, n.second_offset = args[1].offset;
            return add(std::move(n));
        }
        if (name == "message" && eat("(")) {
            // message(recv q, 0) == "text": compared as a whole, the only string in expressions
            n.op = ExprOp::Message;
            std::vector<Arg> args;
            const std::string usage = "message(OP, INDEX) == \"text\", e.g. message(recv q, 0) == \"ping\"";
            if (!raw_args(args, 2, usage)) return -1;
            n.object = args[0].text, n.offset = args[0].offset;
            auto [end, ec] = std::from_chars(args[1].text.data(), args[1].text.data() + args[1].text.size(), n.value);
            if (ec != std::errc{} || end != args[1].text.data() + args[1].text.size() || n.value < 0) {
                i_ = args[1].offset;
                return fail("expected an index from 0 (the first message), got '" + args[1].text + "'");
            }
            if (eat("==")) n.negate = false;
            else if (eat("!=")) n.negate = true;
            else return fail("expected == or != after message(...): " + usage);
            if (!string_literal(n.literal)) return -1;
            return add(std::move(n));
        }
        if (name == "received" && eat("(")) {
            n.op = ExprOp::Received;
            std::vector<Arg> args;
            if (!raw_args(args, 2, "received(PROCESS, SIGNAL)")) return -1;
            n.object = args[0].text, n.offset = args[0].offset;
            n.value = parse_signal(args[1].text);
            if (n.value == 0) {
                i_ = args[1].offset;
                return fail("unknown signal '" + args[1].text + "'");
            }
            return add(std::move(n));
        }
        if ((name == "exit" || name == "signal" || name == "verdict") && eat("(")) {
            n.op = name == "exit" ? ExprOp::Exit : name == "signal" ? ExprOp::Signal : ExprOp::Verdict;
            skip_ws();
            n.offset = i_;
            if (i_ >= s_.size() || !is_ident_start(s_[i_])) return fail("expected a process name");
            n.object = ident();
            if (i_ < s_.size() && s_[i_] == '#') {
                ++i_;
                std::size_t digits = i_;
                std::int64_t idx = 0;
                if (!integer(idx)) return fail("expected a replica number after '#'");
                n.object += "#" + s_.substr(digits, i_ - digits);
            }
            if (!eat(")")) return fail("expected ')'");
            return add(std::move(n));
        }
        if (i_ >= s_.size() || s_[i_] != '.') {
            // A constant: an errno name (EINVAL) or a signal name (SIGUSR1).
            if (int e = errno_value(name)) return n.op = ExprOp::Int, n.value = e, add(std::move(n));
            for (std::size_t v = 0; v < std::size(kVerdictConstants); ++v)
                if (name == kVerdictConstants[v]) return n.op = ExprOp::Int, n.value = static_cast<std::int64_t>(v), add(std::move(n));
            if (name.rfind("SIG", 0) == 0)
                if (int sig = parse_signal(name)) return n.op = ExprOp::Int, n.value = sig, add(std::move(n));
            if (values_) return n.op = ExprOp::Var, n.object = name, n.offset = at, add(std::move(n));
            i_ = at;
            return fail("expected 'object.member' (a shm cell, a semaphore or a queue), got '" + name + "'");
        }
        ++i_;
        if (i_ >= s_.size() || !is_ident_start(s_[i_])) return fail("expected a member name after '.'");
        n.op = ExprOp::Ref;
        n.object = name;
        n.member = ident();
        if (i_ < s_.size() && s_[i_] == '[') {
            ++i_;
            skip_ws();
            if (values_) {
                // A script's condition may index by a value: choosing[j], number[(i + 1) % n].
                int index = parse_or();
                if (failed_) return -1;
                if (t_.nodes[static_cast<std::size_t>(index)].op == ExprOp::Int) n.index = t_.nodes[static_cast<std::size_t>(index)].value;
                else n.lhs = index;
            } else if (!integer(n.index)) {
                return fail("expected an index");
            }
            n.indexed = true;
            if (!eat("]")) return fail("expected ']'");
        }
        return add(std::move(n));
    }

    const std::string& s_;
    ExprTree& t_;
    bool values_;
    std::vector<int> height_;  // parallel to t_.nodes
    int depth_ = 0;
    std::size_t i_ = 0;
    bool failed_ = false;
    ExprError err_{};
};

}  // namespace

int errno_value(std::string_view name) {
    if (name.size() < 2 || name[0] != 'E') return 0;
    for (int e = 1; e < 200; ++e)
        if (const char* n = strerrorname_np(e); n && name == n) return e;
    return 0;
}

bool parse_expr(const std::string& text, ExprTree& out, ExprError& err, bool values) {
    out = {};
    return ExprParser(text, out, values).parse(err);
}

}  // namespace simrun
