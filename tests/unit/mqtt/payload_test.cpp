// Payload <-> data (docs/protocol.md, "MQTT mapping"): each kind both ways, the documented
// exceptions, and round trips of random payloads: every payload that is not itself a JSON string or
// a $b64 object comes back to MQTT subscribers byte for byte.
#include "mqtt/payload.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "json/validate.h"

namespace wsa::mqtt {
namespace {

using namespace std::string_literals;

std::string to_data(std::string_view payload) {
  std::string scratch;
  const std::string_view data = payload_to_data(payload, scratch);
  EXPECT_TRUE(is_valid_json(data)) << data;
  return std::string(data);
}

std::string to_payload(std::string_view data) {
  std::string scratch;
  return std::string(data_to_payload(data, scratch));
}

TEST(mqtt_payload, json_is_data_as_is) {
  for (const char* json : {"{\"t\":21.5}", "21.5", "-0", "true", "null", "[1,2]",
                           " { \"a\" : [ ] } \n", "\"quoted\"", "{}"}) {
    EXPECT_EQ(classify_payload(json), payload_kind::json) << json;
    std::string scratch;
    const std::string_view data = payload_to_data(json, scratch);
    EXPECT_EQ(data, json);
    EXPECT_EQ(data.data(), json) << "no copy";
  }
}

TEST(mqtt_payload, text_becomes_a_json_string) {
  EXPECT_EQ(classify_payload("hello"), payload_kind::text);
  EXPECT_EQ(to_data("hello"), "\"hello\"");
  EXPECT_EQ(to_data(""), "\"\"");
  EXPECT_EQ(to_data("21.5 C"), "\"21.5 C\"");
  EXPECT_EQ(to_data("a\"b\\c\nd\x01"), "\"a\\\"b\\\\c\\u000ad\\u0001\"");  // writer.h escapes
  EXPECT_EQ(to_data("caf\xc3\xa9 \xf0\x9f\x98\x80"), "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");
  EXPECT_EQ(to_data("{\"unterminated\":"), "\"{\\\"unterminated\\\":\"");
  EXPECT_EQ(to_data("tru"), "\"tru\"");
  EXPECT_EQ(to_data("\0"s), "\"\\u0000\"");
  // Valid JSON nested past the command parser's depth is text, so every `data` stays
  // acceptable to WebSocket clients' parsers and to our own.
  const std::string deep = std::string(65, '[') + std::string(65, ']');
  EXPECT_EQ(classify_payload(deep), payload_kind::text);
  EXPECT_EQ(to_data(deep), "\"" + deep + "\"");
}

TEST(mqtt_payload, other_bytes_become_b64) {
  EXPECT_EQ(classify_payload("\x00\x01\xff"s), payload_kind::binary);
  EXPECT_EQ(to_data("\x00\x01\xff"s), "{\"$b64\":\"AAH/\"}");
  EXPECT_EQ(to_data("\xc3\x28"), "{\"$b64\":\"wyg=\"}");      // bad UTF-8
  EXPECT_EQ(to_data("\xed\xa0\x80"), "{\"$b64\":\"7aCA\"}");  // a surrogate
  EXPECT_EQ(to_data("ab\xff"), "{\"$b64\":\"YWL/\"}");
  EXPECT_EQ(to_data("\xff"), "{\"$b64\":\"/w==\"}");
}

TEST(mqtt_payload, data_back_to_bytes) {
  EXPECT_EQ(to_payload("\"hello\""), "hello");
  EXPECT_EQ(to_payload("  \"hello\"\n"), "hello");
  EXPECT_EQ(to_payload("\"\""), "");
  EXPECT_EQ(to_payload("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\""), "a\"b\\c/d\b\f\n\r\t");
  EXPECT_EQ(to_payload("\"\\u00e9\\u20ac\\ud83d\\ude00\\u0000\""),
            "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\0"s);
  EXPECT_EQ(to_payload("{\"$b64\":\"AAH/\"}"), "\x00\x01\xff"s);
  EXPECT_EQ(to_payload(" { \"$b64\" : \"AAH/\" } "), "\x00\x01\xff"s);
  EXPECT_EQ(to_payload("{\"$b64\":\"AAH\\/\"}"), "\x00\x01\xff"s);  // an escaped '/'
  EXPECT_EQ(to_payload("{\"\\u0024b64\":\"AAH/\"}"), "\x00\x01\xff"s);
  EXPECT_EQ(to_payload("{\"$b64\":\"\"}"), "");
  // Anything else is the JSON text itself.
  for (const char* json :
       {"{\"t\":21.5}", "21.5", "null", "[\"AAH/\"]", " 1 ", "{\"$b64\":\"AAH/\",\"x\":1}",
        "{\"x\":1,\"$b64\":\"AAH/\"}", "{\"$b64\":\"not base64!\"}", "{\"$b64\":\"AAH\"}",
        "{\"$b64\":\"AA==AA==\"}", "{\"$b64\":1}", "{\"$B64\":\"AAH/\"}", "\"\\ud800\"",
        "{\"$b64\":\"\\ud800\"}"}) {
    EXPECT_EQ(to_payload(json), json) << json;
  }
}

TEST(mqtt_payload, no_copy_when_possible) {
  const std::string data = "\"plain\"";
  std::string scratch;
  const std::string_view p = data_to_payload(data, scratch);
  EXPECT_EQ(p, "plain");
  EXPECT_EQ(p.data(), data.data() + 1);
  const std::string json = "{\"a\":1}";
  EXPECT_EQ(data_to_payload(json, scratch).data(), json.data());
}

TEST(mqtt_payload, round_trips) {
  std::mt19937 rng(42);
  auto random_bytes = [&](std::size_t n) {
    std::string s(n, '\0');
    for (char& c : s) {
      c = static_cast<char>(rng());
    }
    return s;
  };
  const std::string text_pieces[] = {
      "a", " ", "\"", "\\", "\n",   "\x01", "\xc3\xa9", "\xf0\x9f\x98\x80", "{", "}", "[",
      "]", ":", ",",  "1",  "$b64", "\x7f", "true"};
  int exceptions = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string payload;
    switch (i % 3) {
      case 0:
        payload = random_bytes(rng() % 40);
        break;
      case 1:
        for (std::size_t k = rng() % 12; k > 0; --k) {
          payload += text_pieces[rng() % std::size(text_pieces)];
        }
        break;
      default: {
        // JSON-looking payloads, some of them valid.
        const char* shapes[] = {"{\"k\":%}", "[%]", "\"%\"", "%", "{\"$b64\":\"%\"}"};
        std::string shape = shapes[rng() % std::size(shapes)];
        std::string fill = std::to_string(rng() % 1000);
        if (rng() % 2) {
          fill = text_pieces[rng() % std::size(text_pieces)];
        }
        payload = shape.replace(shape.find('%'), 1, fill);
        break;
      }
    }
    const std::string data = to_data(payload);
    const std::string back = to_payload(data);
    const payload_kind kind = classify_payload(payload);
    const std::string_view trimmed = [&] {
      std::string_view t(payload);
      while (!t.empty() && std::string_view(" \t\r\n").find(t.front()) != std::string::npos) {
        t.remove_prefix(1);
      }
      return t;
    }();
    const bool decoded_on_the_way_back = kind == payload_kind::json && !trimmed.empty() &&
                                         (trimmed[0] == '"' || trimmed[0] == '{') &&
                                         back != payload;
    if (decoded_on_the_way_back) {
      // Only a JSON string or a $b64 object may come back decoded, and then it must be
      // what its JSON says.
      ++exceptions;
      if (trimmed[0] == '{') {
        EXPECT_NE(payload.find("$b64"), std::string::npos) << payload;
      }
      continue;
    }
    EXPECT_EQ(back, payload) << "kind " << static_cast<int>(kind) << " data " << data;
  }
  EXPECT_GT(exceptions, 0);
}

}  // namespace
}  // namespace wsa::mqtt
