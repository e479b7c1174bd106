// A JSON document read into a tree (RFC 8259), for what simrun reads back
// of what it wrote: grading reports (-j workers, shard merge). Not for the
// trace's hot path. Nesting is capped (kMaxJsonDepth) so that no input can
// exhaust the stack; errors say where: "line 3, column 7: expected ','".
#pragma once

#include "util/error.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace simrun {

inline constexpr int kMaxJsonDepth = 128;

class JsonValue {
public:
    enum class Kind { Null, Bool, Number, String, Array, Object };

    Kind kind() const { return kind_; }
    bool is_null() const { return kind_ == Kind::Null; }
    // The member, or a null value when this is not an object or has no such member.
    const JsonValue& operator[](const std::string& key) const;
    const JsonValue& operator[](std::size_t i) const;
    std::size_t size() const;  // array elements or object members
    const std::vector<JsonValue>& items() const { return array_; }
    const std::map<std::string, JsonValue>& members() const { return object_; }

    // The value, or `fallback` when it is of another kind.
    std::string str(std::string fallback = {}) const { return kind_ == Kind::String ? string_ : fallback; }
    double num(double fallback = 0) const { return kind_ == Kind::Number ? number_ : fallback; }
    bool boolean(bool fallback = false) const { return kind_ == Kind::Bool ? bool_ : fallback; }
    // A number as an integer: 0 (or fallback) when it is not a number or out
    // of the type's range (no cast of an out-of-range double, which is undefined).
    std::uint64_t whole(std::uint64_t fallback = 0) const {
        return kind_ == Kind::Number && number_ >= 0 && number_ < 18446744073709551616.0 ? static_cast<std::uint64_t>(number_) : fallback;
    }
    int integer(int fallback = 0) const {
        return kind_ == Kind::Number && number_ >= -2147483648.0 && number_ <= 2147483647.0 ? static_cast<int>(number_) : fallback;
    }
    std::vector<std::string> strings() const;  // an array's strings

private:
    friend class JsonReader;
    Kind kind_ = Kind::Null;
    bool bool_ = false;
    double number_ = 0;
    std::string string_;
    std::vector<JsonValue> array_;
    std::map<std::string, JsonValue> object_;
};

Result<JsonValue, std::string> parse_json(std::string_view text);

}  // namespace simrun
