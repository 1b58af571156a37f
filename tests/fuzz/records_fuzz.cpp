// libFuzzer target: the cross-shard records (src/router/records.h, core/record.h) and the
// mailbox that carries them (core/mailbox.h). Records only ever come from the process's own
// shards, so what is checked is the codec's and the ring's contract, not hostile input:
// - read_record on any bytes, for every record type: refused, or every view lies inside the
//   bytes and writing the record back gives exactly those bytes (one encoding per record);
// - records built from the input, written into a small mailbox (so that it wraps and
//   overflows) with publishes and consumes interleaved as the input says, come out in
//   order, each read back field for field.
// The first byte chooses the part.
#include <cstring>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "core/mailbox.h"
#include "core/record.h"
#include "fuzz_support.h"
#include "router/records.h"

namespace {

using namespace wsa;

bool inside(std::string_view v, std::string_view in) {
  return v.empty() || (v.data() >= in.data() && v.data() + v.size() <= in.data() + in.size());
}

// Checks a view-holding record's fields lie in `in`: the fields() walk, on views only.
struct views_inside {
  std::string_view in;
  bool ok = true;
  template <class T>
  void operator()(const T& value) {
    if constexpr (std::is_same_v<T, std::string_view>) {
      ok = ok && inside(value, in);
    }
  }
};

template <class R>
void check_read(std::string_view bytes) {
  R r;
  if (!read_record(bytes, r)) {
    return;
  }
  views_inside check{bytes};
  R::fields(r, check);
  WSA_FUZZ_REQUIRE(check.ok);
  WSA_FUZZ_REQUIRE(record_size(r) == bytes.size());
  std::string again(bytes.size(), '\0');
  WSA_FUZZ_REQUIRE(write_record(again.data(), r) == again.data() + again.size());
  WSA_FUZZ_REQUIRE(again == bytes);
}

void read_any(std::string_view bytes) {
  check_read<records::publish>(bytes);
  check_read<records::published>(bytes);
  check_read<records::deliver>(bytes);
  check_read<records::query>(bytes);
  check_read<records::replay>(bytes);
  check_read<records::queried>(bytes);
  check_read<records::interest>(bytes);
  check_read<records::gap>(bytes);
}

// A publish record (three strings and a value) as text, for comparisons.
std::string describe(const records::publish& r) {
  return std::to_string(r.from.slot) + "/" + std::to_string(r.from.generation) + "|" +
         std::string(r.tag) + "|" + std::string(r.request_id) + "|" + std::string(r.data);
}

// The port post_record() writes through: one mailbox, as a shard's mail to one peer.
struct one_mailbox {
  mailbox& box;
  char* begin_record(unsigned, uint32_t type, std::size_t size) {
    return box.begin_record(type, static_cast<uint32_t>(size));
  }
  void end_record(unsigned) { box.end_record(); }
};

void through_a_mailbox(fuzz::input& in) {
  constexpr std::size_t capacity = 4096;  // the smallest ring: wraps and overflows early
  mailbox box(capacity);
  one_mailbox port{box};
  std::deque<std::string> expected;  // published, not consumed yet
  std::vector<std::string> written;  // written since the last publish
  while (!in.empty()) {
    const uint8_t action = in.byte();
    if (action < 160) {
      // Field sizes bounded so that a record fits in half the ring.
      records::publish r;
      r.from = {in.u32(), in.u32()};
      r.tag = in.bytes(in.byte() % 64);
      r.request_id = in.bytes(in.byte() % 32);
      r.data = in.bytes((std::size_t{in.byte()} << 3) % 1800);
      post_record(port, 0, r);
      written.push_back(describe(r));
    } else if (action < 208) {
      box.publish();
      for (std::string& d : written) {
        expected.push_back(std::move(d));
      }
      written.clear();
    } else {
      box.consume([&](uint32_t type, std::string_view bytes) {
        WSA_FUZZ_REQUIRE(type == records::publish::type);
        records::publish r;
        WSA_FUZZ_REQUIRE(read_record(bytes, r));
        WSA_FUZZ_REQUIRE(!expected.empty());
        WSA_FUZZ_REQUIRE(describe(r) == expected.front());
        expected.pop_front();
      });
    }
  }
  // Everything published comes out, once the overflow has drained into the ring.
  for (int round = 0; round < 64 && !(expected.empty() && written.empty()); ++round) {
    box.publish();
    for (std::string& d : written) {
      expected.push_back(std::move(d));
    }
    written.clear();
    box.consume([&](uint32_t, std::string_view bytes) {
      records::publish r;
      WSA_FUZZ_REQUIRE(read_record(bytes, r));
      WSA_FUZZ_REQUIRE(!expected.empty() && describe(r) == expected.front());
      expected.pop_front();
    });
  }
  WSA_FUZZ_REQUIRE(expected.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  fuzz::input in(data, size);
  if (in.byte() % 2 == 0) {
    read_any(in.rest());
  } else {
    through_a_mailbox(in);
  }
  return 0;
}
