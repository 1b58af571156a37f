// RESP2 command encoding; see resp_writer.h.
#include "redis/resp_writer.h"

#include <charconv>

namespace wsa {
namespace {

// "<prefix><decimal>\r\n" in one append.
void append_line(std::string& out, char prefix, uint64_t n) {
  char buf[24];
  buf[0] = prefix;
  char* end = std::to_chars(buf + 1, buf + sizeof buf - 2, n).ptr;
  *end++ = '\r';
  *end++ = '\n';
  out.append(buf, static_cast<std::size_t>(end - buf));
}

std::size_t digits(uint64_t n) {
  std::size_t d = 1;
  while (n >= 10) {
    n /= 10;
    ++d;
  }
  return d;
}

}  // namespace

void resp_array(std::string& out, std::size_t count) { append_line(out, '*', count); }

void resp_bulk(std::string& out, std::string_view arg) {
  append_line(out, '$', arg.size());
  out.append(arg);
  out.append("\r\n", 2);
}

void resp_bulk(std::string& out, uint64_t arg) {
  char digits_buf[20];
  const char* end = std::to_chars(digits_buf, digits_buf + sizeof digits_buf, arg).ptr;
  resp_bulk(out, std::string_view(digits_buf, static_cast<std::size_t>(end - digits_buf)));
}

void resp_bulk_concat(std::string& out, std::initializer_list<std::string_view> parts) {
  std::size_t size = 0;
  for (std::string_view part : parts) {
    size += part.size();
  }
  append_line(out, '$', size);
  for (std::string_view part : parts) {
    out.append(part);
  }
  out.append("\r\n", 2);
}

void resp_command(std::string& out, std::initializer_list<std::string_view> args) {
  resp_array(out, args.size());
  for (std::string_view arg : args) {
    resp_bulk(out, arg);
  }
}

std::size_t resp_bulk_size(std::size_t size) { return 1 + digits(size) + 2 + size + 2; }

}  // namespace wsa
