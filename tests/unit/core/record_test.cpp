// Typed records: the size follows from the fields, writing fills exactly that size, reading
// gives the fields back and refuses records that are short or long, and post_record goes
// through a mailbox to the other side.
#include "core/record.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/mailbox.h"

namespace wsa {
namespace {

struct address {
  uint32_t slot;
  uint32_t generation;
};

struct sample {
  static constexpr uint32_t type = 9;
  address from{};
  uint64_t seq = 0;
  bool flag = false;
  std::string_view tag;
  std::string_view data;
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field(self.from);
    field(self.seq);
    field(self.flag);
    field(self.tag);
    field(self.data);
  }
};

struct empty_strings {
  static constexpr uint32_t type = 10;
  std::string_view a;
  std::string_view b;
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field(self.a);
    field(self.b);
  }
};

std::string written(const sample& r) {
  std::string bytes(record_size(r), '\xee');
  char* end = write_record(bytes.data(), r);
  EXPECT_EQ(end, bytes.data() + bytes.size());
  return bytes;
}

TEST(record, size_is_the_sum_of_the_fields) {
  const sample r{{3, 4}, 5, true, "chat.lobby", "{\"x\":1}"};
  EXPECT_EQ(record_size(r), sizeof(address) + sizeof(uint64_t) + sizeof(bool) + 4 + 10 + 4 + 7);
  EXPECT_EQ(record_size(empty_strings{}), 8u);
}

TEST(record, read_gives_back_what_was_written) {
  const std::string data(70000, 'd');  // lengths are 32-bit: large payloads fit
  const sample in{{7, 0xabcdef}, 1ull << 40, true, "a.b", data};
  const std::string bytes = written(in);
  sample out;
  ASSERT_TRUE(read_record(bytes, out));
  EXPECT_EQ(out.from.slot, 7u);
  EXPECT_EQ(out.from.generation, 0xabcdefu);
  EXPECT_EQ(out.seq, 1ull << 40);
  EXPECT_TRUE(out.flag);
  EXPECT_EQ(out.tag, "a.b");
  EXPECT_EQ(out.data, data);
  // Views point into the record, not into the original strings.
  EXPECT_GE(out.data.data(), bytes.data());
  EXPECT_LT(out.data.data(), bytes.data() + bytes.size());
}

TEST(record, empty_strings_round_trip) {
  std::string bytes(record_size(empty_strings{}), '\0');
  write_record(bytes.data(), empty_strings{});
  empty_strings out{"x", "y"};
  ASSERT_TRUE(read_record(bytes, out));
  EXPECT_TRUE(out.a.empty());
  EXPECT_TRUE(out.b.empty());
}

TEST(record, every_truncation_is_refused) {
  const std::string bytes = written(sample{{1, 2}, 3, false, "tag", "data"});
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    sample out;
    EXPECT_FALSE(read_record(std::string_view(bytes.data(), n), out)) << n << " bytes";
  }
}

TEST(record, trailing_bytes_are_refused) {
  const std::string bytes = written(sample{{1, 2}, 3, false, "tag", "data"}) + "x";
  sample out;
  EXPECT_FALSE(read_record(bytes, out));
}

TEST(record, a_length_past_the_end_is_refused_not_read) {
  std::string bytes = written(sample{{1, 2}, 3, false, "tag", "data"});
  // The tag's length field sits after the fixed fields; claim far more than there is.
  const std::size_t tag_length_at = sizeof(address) + sizeof(uint64_t) + sizeof(bool);
  const uint32_t huge = 0xfffffff0u;
  std::memcpy(bytes.data() + tag_length_at, &huge, sizeof huge);
  sample out;
  EXPECT_FALSE(read_record(bytes, out));
}

// A port over real mailboxes, the way a shard posts.
struct mailbox_port {
  std::vector<mailbox*> boxes;
  char* begin_record(unsigned to, uint32_t type, std::size_t size) {
    return boxes[to]->begin_record(type, static_cast<uint32_t>(size));
  }
  void end_record(unsigned to) { boxes[to]->end_record(); }
};

TEST(record, post_record_travels_through_a_mailbox_in_order) {
  mailbox box(1 << 16);
  mailbox_port port{{&box}};
  post_record(port, 0, sample{{1, 1}, 10, false, "t", "first"});
  post_record(port, 0, empty_strings{"a", ""});
  post_record(port, 0, sample{{2, 2}, 11, true, "t", "second"});
  box.publish();
  std::vector<std::string> got;
  box.consume([&](uint32_t type, std::string_view bytes) {
    if (type == sample::type) {
      sample r;
      ASSERT_TRUE(read_record(bytes, r));
      got.push_back(std::string(r.data) + "@" + std::to_string(r.seq));
    } else {
      ASSERT_EQ(type, empty_strings::type);
      empty_strings r;
      ASSERT_TRUE(read_record(bytes, r));
      got.push_back("empty:" + std::string(r.a));
    }
  });
  EXPECT_EQ(got, (std::vector<std::string>{"first@10", "empty:a", "second@11"}));
}

}  // namespace
}  // namespace wsa
