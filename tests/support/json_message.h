// A server frame parsed as JSON (simdjson DOM), read through JSON pointers ("/seq/chat.lobby"),
// plus the exact bytes of a top-level field so tests can check pass-through byte for byte.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace wsa::test {

class json_message {
 public:
  /// Throws std::runtime_error if `text` is not one JSON object.
  explicit json_message(std::string text);

  const std::string& text() const { return text_; }
  std::string_view op() const;

  bool has(std::string_view pointer) const;
  simdjson::dom::element at(std::string_view pointer) const;  // throws if missing
  std::string str(std::string_view pointer) const;             // throws if not a string
  uint64_t u64(std::string_view pointer) const;
  int64_t i64(std::string_view pointer) const;
  /// Number of elements of the array or fields of the object at `pointer`.
  std::size_t size(std::string_view pointer) const;
  /// The value of top-level field `key` exactly as it appears in the text (throws if absent).
  /// The only way to read `id` or `data` when they hold numbers a double cannot represent.
  std::string_view raw(std::string_view key) const;

 private:
  std::string text_;
  std::string dom_text_;  // what the DOM parsed when text_ holds numbers it cannot represent
  std::shared_ptr<simdjson::dom::parser> parser_;
  simdjson::dom::element root_;
};

}  // namespace wsa::test
