// The hiredis reply parser behind a view API; see resp_reader.h. hiredis builds a reply by
// calling our object functions in depth-first order; each returns a node index (+1, so that
// it is never NULL, which hiredis takes for out-of-memory) into the reader's arena. Nothing
// is freed per reply: the arena is cleared when the next reply starts.
#include "redis/resp_reader.h"

#include <hiredis/hiredis.h>

#include <cstdint>
#include <string>

#include "util/check.h"

namespace wsa {
namespace {

// Bytes hiredis may keep allocated for an empty input buffer; above this it frees the
// buffer, which under a steady stream of large batches would mean malloc/free per batch.
constexpr std::size_t reader_keep_bytes = 256 * 1024;

redisReader* raw(void* r) { return static_cast<redisReader*>(r); }

void* create_string(const redisReadTask* task, char* s, size_t len);
void* create_array(const redisReadTask* task, int elements);
void* create_integer(const redisReadTask* task, long long value);
void* create_nil(const redisReadTask* task);
void free_object(void*) {}  // the arena owns everything

redisReplyObjectFunctions object_functions = {create_string, create_array, create_integer,
                                              create_nil, free_object};

}  // namespace

// hiredis sees only the C functions above; they forward to these members through the
// task's privdata, which hiredis copies from the reader into every task.
struct resp_reader_access {
  static void* add_string(resp_reader* r, const redisReadTask* task, const char* s,
                          std::size_t len) {
    if (!r->fits(len + sizeof(resp_reader::node))) {
      return nullptr;  // hiredis takes NULL for out of memory: the reply fails
    }
    resp_reader::node n{};
    n.type = static_cast<resp_type>(task->type);
    n.offset = r->text_.size();
    n.length = len;
    r->text_.append(s, len);
    return r->add(task, n);
  }
  static void* add_array(resp_reader* r, const redisReadTask* task, int elements) {
    // hiredis passes at most INT_MAX (and refuses negative counts but -1, the nil array):
    // a bare header could otherwise make us allocate gigabytes of slots.
    if (elements < 0 ||
        !r->fits(sizeof(resp_reader::node) +
                 static_cast<std::size_t>(elements) *
                     (sizeof(uint32_t) + sizeof(resp_reader::node)))) {
      return nullptr;
    }
    resp_reader::node n{};
    n.type = resp_type::array;
    n.count = static_cast<uint32_t>(elements);
    n.offset = r->children_.size();
    r->children_.resize(r->children_.size() + static_cast<std::size_t>(elements), 0);
    return r->add(task, n);
  }
  static void* add_integer(resp_reader* r, const redisReadTask* task, long long value) {
    if (!r->fits(sizeof(resp_reader::node))) {
      return nullptr;
    }
    resp_reader::node n{};
    n.type = resp_type::integer;
    n.integer = value;
    return r->add(task, n);
  }
  static void* add_nil(resp_reader* r, const redisReadTask* task) {
    if (!r->fits(sizeof(resp_reader::node))) {
      return nullptr;
    }
    resp_reader::node n{};
    n.type = resp_type::nil;
    return r->add(task, n);
  }
};

namespace {

resp_reader* owner(const redisReadTask* task) { return static_cast<resp_reader*>(task->privdata); }

void* create_string(const redisReadTask* task, char* s, size_t len) {
  return resp_reader_access::add_string(owner(task), task, s, len);
}
void* create_array(const redisReadTask* task, int elements) {
  return resp_reader_access::add_array(owner(task), task, elements);
}
void* create_integer(const redisReadTask* task, long long value) {
  return resp_reader_access::add_integer(owner(task), task, value);
}
void* create_nil(const redisReadTask* task) {
  return resp_reader_access::add_nil(owner(task), task);
}

}  // namespace

resp_reader::resp_reader() { reset(); }

resp_reader::~resp_reader() {
  if (reader_ != nullptr) {
    redisReaderFree(raw(reader_));
  }
}

void resp_reader::reset() {
  if (reader_ != nullptr) {
    redisReaderFree(raw(reader_));
  }
  redisReader* r = redisReaderCreateWithFunctions(&object_functions);
  WSA_CHECK(r != nullptr, "out of memory");
  r->maxbuf = reader_keep_bytes;
  r->privdata = this;
  reader_ = r;
  failed_ = false;
  too_large_ = false;
  last_was_reply_ = false;
  clear_arena();
}

std::size_t resp_reader::arena_bytes() const {
  return text_.size() + nodes_.size() * sizeof(node) + children_.size() * sizeof(uint32_t);
}

bool resp_reader::fits(std::size_t more) {
  // Each element is judged at its full cost in the arena (a string: its bytes and a node),
  // which is more than its bytes on the wire, so the bytes still unparsed (a prefix of one
  // element) never refuse a reply that would fit whole: the verdict is the same however
  // the replies were cut into receives.
  const std::size_t held = arena_bytes();
  if (max_reply_bytes_ == 0 || (more <= max_reply_bytes_ && held <= max_reply_bytes_ - more)) {
    return true;
  }
  too_large_ = true;
  limit_text_ = "a reply larger than " + std::to_string(max_reply_bytes_) +
                " bytes (--redis-max-reply-bytes)";
  return false;
}

void resp_reader::clear_arena() {
  nodes_.clear();
  children_.clear();
  text_.clear();
}

bool resp_reader::feed(const char* data, std::size_t size) {
  if (failed_ || redisReaderFeed(raw(reader_), data, size) != REDIS_OK) {
    failed_ = true;
    return false;
  }
  return true;
}

resp_reader::result resp_reader::next(resp_view& out) {
  if (failed_) {
    return result::error;
  }
  if (last_was_reply_) {
    // The previous reply is done with; a partial next reply never starts before it ends.
    clear_arena();
    last_was_reply_ = false;
  }
  void* reply = nullptr;
  if (redisReaderGetReply(raw(reader_), &reply) != REDIS_OK) {
    failed_ = true;
    return result::error;
  }
  if (reply == nullptr) {
    // A reply still on its way: the rest of its current element waits in hiredis' buffer (a
    // bulk string is buffered whole before it is handed over).
    const redisReader* r = raw(reader_);
    if (!fits(r->len - r->pos)) {
      failed_ = true;
      return result::error;
    }
    return result::none;
  }
  last_was_reply_ = true;
  out = resp_view(this, static_cast<uint32_t>(reinterpret_cast<uintptr_t>(reply) - 1));
  return result::reply;
}

const char* resp_reader::error_text() const {
  if (too_large_) {
    return limit_text_.c_str();
  }
  const char* text = raw(reader_)->errstr;
  return text[0] != '\0' ? text : "protocol error";
}

void* resp_reader::add(const void* task_ptr, node n) {
  const auto* task = static_cast<const redisReadTask*>(task_ptr);
  const auto index = static_cast<uint32_t>(nodes_.size());
  nodes_.push_back(n);
  if (task->parent != nullptr) {
    const auto parent = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(task->parent->obj) - 1);
    const node& p = nodes_[parent];
    WSA_ASSERT(task->idx >= 0 && static_cast<uint32_t>(task->idx) < p.count);
    children_[p.offset + static_cast<std::size_t>(task->idx)] = index;
  }
  return reinterpret_cast<void*>(uintptr_t{index} + 1);
}

resp_type resp_view::type() const { return reader_->nodes_[node_].type; }

std::string_view resp_view::str() const {
  const resp_reader::node& n = reader_->nodes_[node_];
  if (n.type != resp_type::string && n.type != resp_type::status && n.type != resp_type::error) {
    return {};
  }
  return std::string_view(reader_->text_).substr(n.offset, n.length);
}

int64_t resp_view::integer() const {
  const resp_reader::node& n = reader_->nodes_[node_];
  return n.type == resp_type::integer ? n.integer : 0;
}

std::size_t resp_view::size() const {
  const resp_reader::node& n = reader_->nodes_[node_];
  return n.type == resp_type::array ? n.count : 0;
}

resp_view resp_view::operator[](std::size_t i) const {
  const resp_reader::node& n = reader_->nodes_[node_];
  WSA_ASSERT(n.type == resp_type::array && i < n.count);
  return resp_view(reader_, reader_->children_[n.offset + i]);
}

}  // namespace wsa
