#include "support/json_message.h"

#include <stdexcept>
#include <vector>

namespace wsa::test {
namespace {

std::size_t skip_space(std::string_view s, std::size_t at) {
  while (at < s.size() && (s[at] == ' ' || s[at] == '\t' || s[at] == '\n' || s[at] == '\r')) {
    ++at;
  }
  return at;
}

// End of the string whose opening quote is at `at` (one past its closing quote).
std::size_t skip_string(std::string_view s, std::size_t at) {
  for (++at; at < s.size(); ++at) {
    if (s[at] == '\\') {
      ++at;
    } else if (s[at] == '"') {
      return at + 1;
    }
  }
  throw std::runtime_error("unterminated string in " + std::string(s));
}

// End of the JSON value starting at `at` (the text is known to be valid JSON).
std::size_t skip_value(std::string_view s, std::size_t at) {
  if (s[at] == '"') {
    return skip_string(s, at);
  }
  if (s[at] == '{' || s[at] == '[') {
    int depth = 0;
    while (at < s.size()) {
      const char c = s[at];
      if (c == '"') {
        at = skip_string(s, at);
        continue;
      }
      if (c == '{' || c == '[') {
        ++depth;
      } else if ((c == '}' || c == ']') && --depth == 0) {
        return at + 1;
      }
      ++at;
    }
    throw std::runtime_error("unbalanced JSON in " + std::string(s));
  }
  while (at < s.size() && s[at] != ',' && s[at] != '}' && s[at] != ']' && s[at] != ' ' &&
         s[at] != '\t' && s[at] != '\n' && s[at] != '\r') {
    ++at;
  }
  return at;
}

struct field_span {
  std::string_view name;  // as written, escapes not decoded
  std::size_t value_at = 0;
  std::size_t value_end = 0;
};

// The fields of the top-level object of a valid JSON text, with where their values are.
std::vector<field_span> top_level_fields(std::string_view s) {
  std::vector<field_span> fields;
  std::size_t at = skip_space(s, 0) + 1;  // past '{'
  for (;;) {
    at = skip_space(s, at);
    if (at >= s.size() || s[at] != '"') {
      return fields;
    }
    const std::size_t key_end = skip_string(s, at);
    field_span f;
    f.name = s.substr(at + 1, key_end - at - 2);
    at = skip_space(s, key_end) + 1;  // past ':'
    f.value_at = skip_space(s, at);
    f.value_end = skip_value(s, f.value_at);
    fields.push_back(f);
    at = skip_space(s, f.value_end);
    if (at >= s.size() || s[at] != ',') {
      return fields;
    }
    ++at;
  }
}

// `text` with the values of the top-level `id` and `data` replaced by null: the DOM refuses
// numbers it cannot represent (big integers, 1E400), which the protocol passes through.
// Tests read those two fields with raw().
std::string without_pass_through_values(std::string_view text) {
  std::string out;
  std::size_t copied = 0;
  for (const field_span& f : top_level_fields(text)) {
    if (f.name == "id" || f.name == "data") {
      out.append(text.substr(copied, f.value_at - copied));
      out += "null";
      copied = f.value_end;
    }
  }
  out.append(text.substr(copied));
  return out;
}

}  // namespace

json_message::json_message(std::string text)
    : text_(std::move(text)), parser_(std::make_shared<simdjson::dom::parser>()) {
  auto e = parser_->parse(text_).get(root_);
  if (e == simdjson::NUMBER_ERROR) {
    dom_text_ = without_pass_through_values(text_);
    e = parser_->parse(dom_text_).get(root_);
  }
  if (e) {
    throw std::runtime_error("server sent invalid JSON (" + std::string(simdjson::error_message(e)) +
                             "): " + text_);
  }
  if (!root_.is_object()) {
    throw std::runtime_error("server frame is not a JSON object: " + text_);
  }
}

std::string_view json_message::op() const {
  std::string_view op;
  if (root_["op"].get(op) != simdjson::SUCCESS) {
    return {};
  }
  return op;
}

bool json_message::has(std::string_view pointer) const {
  simdjson::dom::element e;
  return root_.at_pointer(pointer).get(e) == simdjson::SUCCESS;
}

simdjson::dom::element json_message::at(std::string_view pointer) const {
  simdjson::dom::element e;
  if (root_.at_pointer(pointer).get(e) != simdjson::SUCCESS) {
    throw std::runtime_error("no " + std::string(pointer) + " in " + text_);
  }
  return e;
}

std::string json_message::str(std::string_view pointer) const {
  std::string_view s;
  if (at(pointer).get(s) != simdjson::SUCCESS) {
    throw std::runtime_error(std::string(pointer) + " is not a string in " + text_);
  }
  return std::string(s);
}

uint64_t json_message::u64(std::string_view pointer) const {
  uint64_t v = 0;
  if (at(pointer).get(v) != simdjson::SUCCESS) {
    throw std::runtime_error(std::string(pointer) + " is not an unsigned integer in " + text_);
  }
  return v;
}

int64_t json_message::i64(std::string_view pointer) const {
  int64_t v = 0;
  if (at(pointer).get(v) != simdjson::SUCCESS) {
    throw std::runtime_error(std::string(pointer) + " is not an integer in " + text_);
  }
  return v;
}

std::size_t json_message::size(std::string_view pointer) const {
  const simdjson::dom::element e = at(pointer);
  if (e.is_array()) {
    return simdjson::dom::array(e).size();
  }
  if (e.is_object()) {
    return simdjson::dom::object(e).size();
  }
  throw std::runtime_error(std::string(pointer) + " is neither array nor object in " + text_);
}

std::string_view json_message::raw(std::string_view key) const {
  for (const field_span& f : top_level_fields(text_)) {
    if (f.name == key) {
      return std::string_view(text_).substr(f.value_at, f.value_end - f.value_at);
    }
  }
  throw std::runtime_error("no field " + std::string(key) + " in " + text_);
}

}  // namespace wsa::test
