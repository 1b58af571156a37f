// simdjson's DOM behind json/document.h.
#include "json/document.h"

#include <cstring>
#include <new>
#include <type_traits>

#include <simdjson.h>

#include "util/check.h"

namespace wsa {
namespace {

namespace dom = simdjson::dom;

// The views' storage in document.h holds these by value.
template <class T>
constexpr bool fits = sizeof(T) <= 16 && alignof(T) <= 8 && std::is_trivially_copyable_v<T> &&
                      std::is_trivially_destructible_v<T>;
static_assert(fits<dom::element> && fits<dom::object::iterator> && fits<dom::array::iterator>);

const dom::element& element_of(const unsigned char* storage) {
  return *std::launder(reinterpret_cast<const dom::element*>(storage));
}

void store(unsigned char* storage, const dom::element& e) { new (storage) dom::element(e); }

}  // namespace

struct json_document::impl {
  dom::parser parser;
  std::string copy;  // parse(): the document with its padding
  explicit impl(std::size_t max_bytes) : parser(max_bytes) {}
};

json_value::json_value() { store(element_, dom::element()); }

void json_value::append_minified(std::string& out) const {
  out.append(simdjson::minify(element_of(element_)));
}

json_type json_value::type() const {
  switch (element_of(element_).type()) {
    case dom::element_type::NULL_VALUE:
      return json_type::null;
    case dom::element_type::BOOL:
      return json_type::boolean;
    case dom::element_type::INT64:
      return json_type::integer;
    case dom::element_type::UINT64:
      return json_type::big_integer;
    case dom::element_type::DOUBLE:
      return json_type::number;
    case dom::element_type::STRING:
      return json_type::string;
    case dom::element_type::ARRAY:
      return json_type::array;
    case dom::element_type::OBJECT:
      return json_type::object;
  }
  return json_type::null;
}

bool json_value::get(std::string_view& out) const {
  return element_of(element_).get_string().get(out) == simdjson::SUCCESS;
}

bool json_value::get(int64_t& out) const {
  return type() == json_type::integer &&
         element_of(element_).get_int64().get(out) == simdjson::SUCCESS;
}

bool json_value::get(double& out) const {
  return type() == json_type::number &&
         element_of(element_).get_double().get(out) == simdjson::SUCCESS;
}

bool json_value::member(std::string_view key, json_value& out) const {
  dom::object obj;
  if (element_of(element_).get_object().get(obj) != simdjson::SUCCESS) {
    return false;
  }
  for (dom::key_value_pair field : obj) {
    if (field.key == key) {
      store(out.element_, field.value);
      return true;
    }
  }
  return false;
}

json_value::range json_value::members() const {
  range r;
  dom::object obj;
  if (element_of(element_).get_object().get(obj) == simdjson::SUCCESS) {
    r.begin_.object_ = r.end_.object_ = true;
    new (r.begin_.at_) dom::object::iterator(obj.begin());
    new (r.end_.at_) dom::object::iterator(obj.end());
  } else {
    new (r.begin_.at_) dom::array::iterator();
    new (r.end_.at_) dom::array::iterator();
  }
  return r;
}

json_value::range json_value::elements() const {
  range r;
  dom::array arr;
  if (element_of(element_).get_array().get(arr) == simdjson::SUCCESS) {
    new (r.begin_.at_) dom::array::iterator(arr.begin());
    new (r.end_.at_) dom::array::iterator(arr.end());
  } else {
    new (r.begin_.at_) dom::array::iterator();
    new (r.end_.at_) dom::array::iterator();
  }
  return r;
}

json_member json_iterator::operator*() const {
  json_member m;
  if (object_) {
    const auto& it = *std::launder(reinterpret_cast<const dom::object::iterator*>(at_));
    const dom::key_value_pair field = *it;
    m.key = field.key;
    store(m.value.element_, field.value);
  } else {
    const auto& it = *std::launder(reinterpret_cast<const dom::array::iterator*>(at_));
    store(m.value.element_, *it);
  }
  return m;
}

json_iterator& json_iterator::operator++() {
  if (object_) {
    ++*std::launder(reinterpret_cast<dom::object::iterator*>(at_));
  } else {
    ++*std::launder(reinterpret_cast<dom::array::iterator*>(at_));
  }
  return *this;
}

bool json_iterator::operator!=(const json_iterator& other) const {
  if (object_) {
    return *std::launder(reinterpret_cast<const dom::object::iterator*>(at_)) !=
           *std::launder(reinterpret_cast<const dom::object::iterator*>(other.at_));
  }
  return *std::launder(reinterpret_cast<const dom::array::iterator*>(at_)) !=
         *std::launder(reinterpret_cast<const dom::array::iterator*>(other.at_));
}

json_document::json_document(std::size_t max_bytes, bool allocate_now)
    : impl_(std::make_unique<impl>(max_bytes)) {
  if (allocate_now) {
    WSA_CHECK(impl_->parser.allocate(max_bytes) == simdjson::SUCCESS, "JSON parser allocation");
  }
}

json_document::~json_document() = default;

std::size_t json_document::padding() { return simdjson::SIMDJSON_PADDING; }

bool json_document::parse_padded(const char* data, std::size_t size, json_value& root,
                                 std::string& error) {
  dom::element e;
  if (auto code = impl_->parser.parse(reinterpret_cast<const uint8_t*>(data), size, false)
                      .get(e);
      code != simdjson::SUCCESS) {
    error = simdjson::error_message(code);
    return false;
  }
  store(root.element_, e);
  return true;
}

bool json_document::parse(std::string_view text, json_value& root, std::string& error) {
  impl_->copy.assign(text);
  impl_->copy.resize(text.size() + padding());
  return parse_padded(impl_->copy.data(), text.size(), root, error);
}

}  // namespace wsa
