#include "util/json_value.hpp"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <cstdlib>

namespace simrun {

const JsonValue& JsonValue::operator[](const std::string& key) const {
    static const JsonValue null;
    if (kind_ != Kind::Object) return null;
    auto it = object_.find(key);
    return it == object_.end() ? null : it->second;
}

const JsonValue& JsonValue::operator[](std::size_t i) const {
    static const JsonValue null;
    return kind_ == Kind::Array && i < array_.size() ? array_[i] : null;
}

std::size_t JsonValue::size() const { return kind_ == Kind::Array ? array_.size() : kind_ == Kind::Object ? object_.size() : 0; }

std::vector<std::string> JsonValue::strings() const {
    std::vector<std::string> out;
    for (const auto& v : array_)
        if (v.kind_ == Kind::String) out.push_back(v.string_);
    return out;
}

class JsonReader {
public:
    explicit JsonReader(std::string_view text) : s_(text) {}

    Result<JsonValue, std::string> document() {
        JsonValue v;
        if (!value(v, 0)) return error_;
        space();
        if (at_ < s_.size()) return where("text after the value");
        return v;
    }

private:
    std::string where(const std::string& what) {
        int line = 1, col = 1;
        for (std::size_t i = 0; i < at_ && i < s_.size(); ++i) {
            if (s_[i] == '\n') ++line, col = 1;
            else ++col;
        }
        return fmt::format("line {}, column {}: {}", line, col, what);
    }
    bool fail(const std::string& what) {
        if (error_.empty()) error_ = where(what);
        return false;
    }
    void space() {
        while (at_ < s_.size() && (s_[at_] == ' ' || s_[at_] == '\n' || s_[at_] == '\r' || s_[at_] == '\t')) ++at_;
    }
    bool eat(char c) {
        space();
        if (at_ < s_.size() && s_[at_] == c) return ++at_, true;
        return false;
    }
    bool word(std::string_view w) {
        if (s_.substr(at_, w.size()) != w) return fail("not a JSON value");
        at_ += w.size();
        return true;
    }

    bool value(JsonValue& v, int depth) {
        if (depth > kMaxJsonDepth) return fail(fmt::format("nested deeper than {} levels", kMaxJsonDepth));
        space();
        if (at_ >= s_.size()) return fail("the text ends where a value should be");
        const char c = s_[at_];
        if (c == '{') return object(v, depth);
        if (c == '[') return array(v, depth);
        if (c == '"') {
            v.kind_ = JsonValue::Kind::String;
            return string(v.string_);
        }
        if (c == 't' || c == 'f') {
            v.kind_ = JsonValue::Kind::Bool;
            v.bool_ = c == 't';
            return word(v.bool_ ? "true" : "false");
        }
        if (c == 'n') return word("null");
        return number(v);
    }

    bool object(JsonValue& v, int depth) {
        v.kind_ = JsonValue::Kind::Object;
        ++at_;
        if (eat('}')) return true;
        do {
            space();
            std::string key;
            if (at_ >= s_.size() || s_[at_] != '"') return fail("expected a member name in quotes");
            if (!string(key)) return false;
            if (!eat(':')) return fail("expected ':'");
            if (!value(v.object_[key], depth + 1)) return false;
        } while (eat(','));
        return eat('}') || fail("expected ',' or '}'");
    }

    bool array(JsonValue& v, int depth) {
        v.kind_ = JsonValue::Kind::Array;
        ++at_;
        if (eat(']')) return true;
        do {
            v.array_.emplace_back();
            if (!value(v.array_.back(), depth + 1)) return false;
        } while (eat(','));
        return eat(']') || fail("expected ',' or ']'");
    }

    bool number(JsonValue& v) {
        const std::size_t start = at_;
        if (at_ < s_.size() && s_[at_] == '-') ++at_;
        while (at_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[at_])) || s_[at_] == '.' || s_[at_] == 'e' ||
                                   s_[at_] == 'E' || s_[at_] == '+' || s_[at_] == '-'))
            ++at_;
        if (at_ == start) return fail("not a JSON value");
        const std::string digits(s_.substr(start, at_ - start));
        char* end = nullptr;
        v.number_ = std::strtod(digits.c_str(), &end);
        if (end != digits.c_str() + digits.size()) return at_ = start, fail("not a number");
        v.kind_ = JsonValue::Kind::Number;
        return true;
    }

    static void utf8(std::string& out, unsigned cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xc0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xe0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else {
            out += static_cast<char>(0xf0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        }
    }

    bool hex4(unsigned& cp) {
        if (at_ + 4 > s_.size()) return fail("a \\u escape needs four hex digits");
        auto r = std::from_chars(s_.data() + at_, s_.data() + at_ + 4, cp, 16);
        if (r.ptr != s_.data() + at_ + 4) return fail("a \\u escape needs four hex digits");
        at_ += 4;
        return true;
    }

    bool string(std::string& out) {
        ++at_;  // the opening quote
        while (at_ < s_.size()) {
            const char c = s_[at_++];
            if (c == '"') return true;
            if (static_cast<unsigned char>(c) < 0x20) return --at_, fail("a control character inside a string");
            if (c != '\\') {
                out += c;
                continue;
            }
            if (at_ >= s_.size()) break;
            const char e = s_[at_++];
            switch (e) {
            case '"': case '\\': case '/': out += e; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': {
                unsigned cp = 0;
                if (!hex4(cp)) return false;
                if (cp >= 0xd800 && cp < 0xdc00 && s_.substr(at_, 2) == "\\u") {
                    at_ += 2;
                    unsigned lo = 0;
                    if (!hex4(lo)) return false;
                    cp = lo >= 0xdc00 && lo < 0xe000 ? 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00) : 0xfffd;
                } else if (cp >= 0xd800 && cp < 0xe000) {
                    cp = 0xfffd;
                }
                utf8(out, cp);
                break;
            }
            default: return --at_, fail("an unknown escape in a string");
            }
        }
        return fail("the text ends inside a string");
    }

    std::string_view s_;
    std::size_t at_ = 0;
    std::string error_;
};

Result<JsonValue, std::string> parse_json(std::string_view text) { return JsonReader(text).document(); }

}  // namespace simrun
