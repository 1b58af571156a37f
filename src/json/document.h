// Small JSON documents read whole, through a DOM: token headers and claims, key files. The
// second JSON input adapter, beside json/command.h (the hot path: client frames, parsed in
// one on-demand pass with every value checked): these documents are rare (once per token
// or at startup) and read by name and type, which a DOM makes simple. Both adapters are
// this module's; only its .cpp files include simdjson.h (its DOM and on-demand APIs).
// A parser per owner (a token verifier, a key loader); its thread only. Values are views
// into the parser's last document: valid until its next parse.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace wsa {

enum class json_type : uint8_t {
  null,
  boolean,
  integer,      ///< fits int64_t
  big_integer,  ///< above INT64_MAX (fits uint64_t)
  number,       ///< with a fraction or an exponent, or beyond uint64_t
  string,
  array,
  object,
};

class json_iterator;

/// One value of a parsed document (a view: valid until its parser's next parse).
class json_value {
 public:
  json_value();
  json_type type() const;
  /// The value when it has that type; false (out unchanged) otherwise.
  bool get(std::string_view& out) const;
  bool get(int64_t& out) const;
  bool get(double& out) const;  ///< a `number` (not an integer)

  /// Iterates an object's members in document order (duplicates included); nothing for
  /// any other type. Each item is a json_member.
  class range;
  range members() const;
  /// Iterates an array's elements; nothing for any other type. Each item is a json_member
  /// with an empty key.
  range elements() const;
  /// The (first) member `key` of an object; false when absent or not an object.
  bool member(std::string_view key, json_value& out) const;
  /// Appends the value as minified JSON text.
  void append_minified(std::string& out) const;

 private:
  friend class json_document;
  friend class json_iterator;
  alignas(8) unsigned char element_[16];  // a simdjson::dom::element
};

struct json_member {
  std::string_view key;
  json_value value;
};

class json_iterator {
 public:
  json_member operator*() const;
  json_iterator& operator++();
  bool operator!=(const json_iterator& other) const;

 private:
  friend class json_value;
  alignas(8) unsigned char at_[16];  // a simdjson::dom::object or array iterator
  bool object_ = false;
};

class json_value::range {
 public:
  json_iterator begin() const { return begin_; }
  json_iterator end() const { return end_; }

 private:
  friend class json_value;
  json_iterator begin_;
  json_iterator end_;
};

class json_document {
 public:
  /// A parser for documents of up to `max_bytes`; `allocate_now` takes all its memory at
  /// once (for owners that must not allocate later), else it grows as documents need.
  json_document(std::size_t max_bytes, bool allocate_now);
  ~json_document();
  json_document(const json_document&) = delete;
  json_document& operator=(const json_document&) = delete;

  /// Bytes that must be readable after a document given to parse_padded.
  static std::size_t padding();

  /// Parses `size` bytes at `data`, followed by padding() readable bytes. On failure `error`
  /// says why (simdjson's words).
  bool parse_padded(const char* data, std::size_t size, json_value& root, std::string& error);
  /// Parses a copy of `text`.
  bool parse(std::string_view text, json_value& root, std::string& error);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace wsa
