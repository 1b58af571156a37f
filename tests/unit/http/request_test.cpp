// Tests of the HTTP/1.1 request-head parser: whole and split input, pipelining, every refusal
// with its status, limits decided before the head ends, and the header helpers.
#include "http/request.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace wsa {
namespace {

using namespace std::string_literals;

constexpr std::size_t limit = 8192;

const std::string browser_upgrade =
    "GET /ws?token=abc.def.ghi HTTP/1.1\r\n"
    "Host: chat.example.com:8080\r\n"
    "Connection: Upgrade\r\n"
    "Pragma: no-cache\r\n"
    "Cache-Control: no-cache\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36\r\n"
    "Upgrade: websocket\r\n"
    "Origin: https://chat.example.com\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Accept-Language: en-US,en;q=0.9\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    "Sec-WebSocket-Protocol: wsagent.v1, chat\r\n"
    "\r\n";

parse_result parse(std::string_view bytes, http_request& r, std::size_t max = limit) {
  return parse_request(bytes, max, r);
}

// Feeds growing prefixes, one byte more each time, carrying the progress, until the parser
// stops saying incomplete. Returns the final result; `fed` is the prefix length it ended at.
parse_result feed_bytewise(std::string_view bytes, http_request& r, std::size_t& fed,
                           std::size_t max = limit) {
  parse_progress progress{};
  parse_result result;
  for (fed = 0; fed <= bytes.size(); ++fed) {
    result = parse_request(bytes.substr(0, fed), max, r, &progress);
    if (result.status != parse_status::incomplete) {
      return result;
    }
  }
  fed = bytes.size();
  return result;
}

// The status a request is refused with, checked to be the same whether it arrives whole or a
// byte at a time.
uint16_t error_status(std::string_view bytes, std::size_t max = limit) {
  http_request r;
  const parse_result whole = parse(bytes, r, max);
  std::size_t fed = 0;
  const parse_result split = feed_bytewise(bytes, r, fed, max);
  EXPECT_EQ(whole.status, parse_status::error) << bytes;
  EXPECT_EQ(split.status, parse_status::error) << bytes;
  EXPECT_EQ(whole.http_status, split.http_status) << bytes;
  EXPECT_FALSE(whole.reason.empty());
  return whole.http_status;
}

bool inside(std::string_view view, std::string_view buffer) {
  return view.empty() || (view.data() >= buffer.data() &&
                          view.data() + view.size() <= buffer.data() + buffer.size());
}

TEST(http_request, parses_a_browser_upgrade_in_one_piece) {
  http_request r;
  const parse_result res = parse(browser_upgrade, r);
  ASSERT_EQ(res.status, parse_status::complete);
  EXPECT_EQ(res.head_length, browser_upgrade.size());
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target, "/ws?token=abc.def.ghi");
  EXPECT_EQ(r.path, "/ws");
  EXPECT_EQ(r.query, "token=abc.def.ghi");
  EXPECT_EQ(r.version, http_version::http_1_1);
  EXPECT_TRUE(r.has_host);
  EXPECT_EQ(r.host, "chat.example.com:8080");
  ASSERT_EQ(r.connection.count, 1);
  EXPECT_EQ(r.connection.values[0], "Upgrade");
  ASSERT_EQ(r.upgrade.count, 1);
  EXPECT_EQ(r.upgrade.values[0], "websocket");
  EXPECT_EQ(r.origin, "https://chat.example.com");
  EXPECT_EQ(r.sec_websocket_version, "13");
  EXPECT_EQ(r.sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  ASSERT_EQ(r.sec_websocket_protocol.count, 1);
  EXPECT_EQ(r.sec_websocket_protocol.values[0], "wsagent.v1, chat");
  EXPECT_TRUE(r.authorization.empty());
  EXPECT_FALSE(r.has_content_length);
  EXPECT_EQ(r.header_count, 13);
  for (std::string_view v : {r.method, r.target, r.path, r.query, r.host, r.origin,
                             r.sec_websocket_key, r.sec_websocket_version}) {
    EXPECT_TRUE(inside(v, browser_upgrade));
  }
}

TEST(http_request, every_strict_prefix_is_incomplete) {
  for (bool with_progress : {false, true}) {
    parse_progress progress{};
    http_request r;
    for (std::size_t n = 0; n < browser_upgrade.size(); ++n) {
      const parse_result res = parse_request(std::string_view(browser_upgrade).substr(0, n), limit,
                                             r, with_progress ? &progress : nullptr);
      ASSERT_EQ(res.status, parse_status::incomplete) << "prefix " << n;
    }
    const parse_result res =
        parse_request(browser_upgrade, limit, r, with_progress ? &progress : nullptr);
    ASSERT_EQ(res.status, parse_status::complete);
    EXPECT_EQ(res.head_length, browser_upgrade.size());
    EXPECT_EQ(r.sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
    EXPECT_EQ(r.host, "chat.example.com:8080");
    EXPECT_EQ(r.header_count, 13);
  }
}

TEST(http_request, progress_survives_arrivals_of_any_size) {
  // Arrivals of 1..40 bytes: the progress must give the same answer as a whole parse.
  for (std::size_t step = 1; step <= 40; ++step) {
    parse_progress progress{};
    http_request r;
    parse_result res;
    std::size_t n = 0;
    do {
      n = std::min(n + step, browser_upgrade.size());
      res = parse_request(std::string_view(browser_upgrade).substr(0, n), limit, r, &progress);
    } while (res.status == parse_status::incomplete && n < browser_upgrade.size());
    ASSERT_EQ(res.status, parse_status::complete) << "step " << step;
    EXPECT_EQ(res.head_length, browser_upgrade.size());
    EXPECT_EQ(r.origin, "https://chat.example.com");
  }
}

TEST(http_request, progress_from_other_bytes_is_not_trusted) {
  parse_progress progress{};
  http_request r;
  ASSERT_EQ(
      parse_request(std::string_view(browser_upgrade).substr(0, 100), limit, r, &progress).status,
      parse_status::incomplete);
  const std::string small = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  progress.line_start = 200;  // beyond the new bytes: must start over, not read past them
  progress.scanned = 220;
  const parse_result res = parse_request(small, limit, r, &progress);
  ASSERT_EQ(res.status, parse_status::complete);
  EXPECT_EQ(r.path, "/");
}

TEST(http_request, leaves_pipelined_bytes_and_bodies_alone) {
  const std::string first = "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n";
  const std::string second = "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n";
  const std::string both = first + second;
  http_request r;
  parse_result res = parse(both, r);
  ASSERT_EQ(res.status, parse_status::complete);
  EXPECT_EQ(res.head_length, first.size());
  EXPECT_EQ(r.path, "/healthz");
  res = parse(std::string_view(both).substr(res.head_length), r);
  ASSERT_EQ(res.status, parse_status::complete);
  EXPECT_EQ(r.path, "/metrics");

  const std::string post =
      "POST /api/publish HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer t0k\r\n"
      "Content-Type: application/json\r\nContent-Length: 23\r\n\r\n"
      "{\"tag\":\"a\",\"data\":1234}";
  res = parse(post, r);
  ASSERT_EQ(res.status, parse_status::complete);
  EXPECT_EQ(post.size() - res.head_length, 23u);
  EXPECT_TRUE(r.has_content_length);
  EXPECT_EQ(r.content_length, 23u);
  EXPECT_EQ(r.authorization, "Bearer t0k");
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.method, "POST");
}

TEST(http_request, header_names_match_in_any_case_and_values_are_trimmed) {
  const std::string req =
      "GET /ws HTTP/1.1\r\nhOsT:   a.b  \r\nCONNECTION:\tkeep-alive, UPGRADE\t\r\n"
      "upgrade: WebSocket\r\nsec-websocket-key:k\r\nSEC-WEBSOCKET-VERSION: 13\r\n"
      "content-LENGTH: 0012\r\nX-Unknown: ignored\r\nexpect: 100-continue\r\n\r\n";
  http_request r;
  ASSERT_EQ(parse(req, r).status, parse_status::complete);
  EXPECT_EQ(r.host, "a.b");
  EXPECT_EQ(r.connection.values[0], "keep-alive, UPGRADE");
  EXPECT_TRUE(r.connection.has_token("upgrade"));
  EXPECT_TRUE(r.upgrade.has_token("websocket"));
  EXPECT_EQ(r.sec_websocket_key, "k");
  EXPECT_EQ(r.sec_websocket_version, "13");
  EXPECT_EQ(r.content_length, 12u);
  EXPECT_EQ(r.expect, "100-continue");
  EXPECT_EQ(r.header_count, 8);
}

TEST(http_request, repeatable_headers_are_all_kept) {
  const std::string req =
      "GET /ws HTTP/1.1\r\nHost: a\r\nSec-WebSocket-Protocol: chat\r\n"
      "Sec-WebSocket-Protocol: wsagent.v1\r\nConnection: keep-alive\r\nConnection: Upgrade\r\n\r\n";
  http_request r;
  ASSERT_EQ(parse(req, r).status, parse_status::complete);
  ASSERT_EQ(r.sec_websocket_protocol.count, 2);
  EXPECT_EQ(r.sec_websocket_protocol.values[1], "wsagent.v1");
  EXPECT_TRUE(r.connection.has_token("upgrade"));
  EXPECT_TRUE(r.connection.has_token("keep-alive"));

  std::string many = "GET /ws HTTP/1.1\r\nHost: a\r\n";
  for (std::size_t i = 0; i <= header_list::capacity; ++i) {
    many += "Sec-WebSocket-Protocol: p" + std::to_string(i) + "\r\n";
  }
  EXPECT_EQ(error_status(many + "\r\n"), 431);
}

TEST(http_request, target_forms) {
  http_request r;
  ASSERT_EQ(parse("GET http://example.com:80/ws?token=x HTTP/1.1\r\nHost: e\r\n\r\n", r).status,
            parse_status::complete);
  EXPECT_EQ(r.path, "/ws");
  EXPECT_EQ(r.query, "token=x");
  ASSERT_EQ(parse("GET HTTPS://example.com HTTP/1.1\r\nHost: e\r\n\r\n", r).status,
            parse_status::complete);
  EXPECT_EQ(r.path, "/");
  EXPECT_TRUE(r.query.empty());
  ASSERT_EQ(parse("GET http://e?q=1 HTTP/1.1\r\nHost: e\r\n\r\n", r).status,
            parse_status::complete);
  EXPECT_EQ(r.path, "/");
  EXPECT_EQ(r.query, "q=1");
  ASSERT_EQ(parse("OPTIONS * HTTP/1.1\r\nHost: e\r\n\r\n", r).status, parse_status::complete);
  EXPECT_EQ(r.path, "*");
  ASSERT_EQ(parse("GET /a/b? HTTP/1.1\r\nHost: e\r\n\r\n", r).status, parse_status::complete);
  EXPECT_EQ(r.path, "/a/b");
  EXPECT_TRUE(r.query.empty());
  ASSERT_EQ(parse("GET /a?b?c HTTP/1.1\r\nHost: e\r\n\r\n", r).status, parse_status::complete);
  EXPECT_EQ(r.query, "b?c");

  EXPECT_EQ(error_status("CONNECT example.com:443 HTTP/1.1\r\nHost: e\r\n\r\n"), 400);
  EXPECT_EQ(error_status("GET http:///ws HTTP/1.1\r\nHost: e\r\n\r\n"), 400);
  EXPECT_EQ(error_status("GET ftp://e/ws HTTP/1.1\r\nHost: e\r\n\r\n"), 400);
  EXPECT_EQ(error_status("GET ws HTTP/1.1\r\nHost: e\r\n\r\n"), 400);
}

TEST(http_request, versions) {
  http_request r;
  ASSERT_EQ(parse("GET / HTTP/1.0\r\n\r\n", r).status, parse_status::complete);
  EXPECT_EQ(r.version, http_version::http_1_0);
  EXPECT_FALSE(r.has_host);  // optional in 1.0
  EXPECT_EQ(error_status("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505);
  EXPECT_EQ(error_status("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), 505);
  EXPECT_EQ(error_status("GET / HTTP/0.9\r\nHost: a\r\n\r\n"), 505);
  EXPECT_EQ(error_status("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505);
  EXPECT_EQ(error_status("GET / HTTP/1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(error_status("GET / http/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(error_status("GET / HTTP/1.1 \r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(error_status("GET / HTTP/11.1\r\nHost: a\r\n\r\n"), 400);
  // The version is refused as soon as the request line is complete.
  EXPECT_EQ(parse("GET / HTTP/2.0\r\n", r).http_status, 505);
}

TEST(http_request, malformed_request_lines) {
  for (const char* line :
       {"GET\r\n", "GET /\r\n", "GET  / HTTP/1.1\r\n", "GET /  HTTP/1.1\r\n", "GET\t/ HTTP/1.1\r\n",
        " GET / HTTP/1.1\r\n", "G(T / HTTP/1.1\r\n", "GET /a b HTTP/1.1\r\n",
        "GET /\xc3\xa9 HTTP/1.1\r\n", "/ HTTP/1.1\r\n", "GET / HTTP/1.1 extra\r\n"}) {
    EXPECT_EQ(error_status(std::string(line) + "Host: a\r\n\r\n"), 400) << line;
  }
}

TEST(http_request, malformed_header_lines) {
  const std::string start = "GET / HTTP/1.1\r\nHost: a\r\n";
  EXPECT_EQ(error_status(start + "X-A: 1\r\n folded\r\n\r\n"), 400);   // obs-fold
  EXPECT_EQ(error_status(start + "X-A: 1\r\n\tfolded\r\n\r\n"), 400);  // obs-fold
  EXPECT_EQ(error_status(start + "X-A : 1\r\n\r\n"), 400);             // space before the colon
  EXPECT_EQ(error_status(start + ": 1\r\n\r\n"), 400);                 // empty name
  EXPECT_EQ(error_status(start + "X-A 1\r\n\r\n"), 400);               // no colon
  EXPECT_EQ(error_status(start + "X(A): 1\r\n\r\n"), 400);             // separator in the name
  EXPECT_EQ(error_status(start + "X-A: a\0b\r\n\r\n"s), 400);          // NUL
  EXPECT_EQ(error_status(start + "X-A: a\x7f b\r\n\r\n"), 400);        // DEL
  EXPECT_EQ(error_status(start + "X-A: a\x01\r\n\r\n"), 400);          // control byte
  EXPECT_EQ(error_status(start + "X-A: a\rb\r\n\r\n"), 400);           // lone CR
  EXPECT_EQ(error_status(start + "X-A: a\nX-B: b\r\n\r\n"), 400);      // bare LF
  EXPECT_EQ(error_status("GET / HTTP/1.1\nHost: a\n\n"), 400);         // bare LF everywhere
  EXPECT_EQ(error_status(start + "\n"), 400);                          // bare LF terminator
  // obs-text is legal in a value; an empty value too.
  http_request r;
  ASSERT_EQ(parse(start + "X-A: caf\xc3\xa9\r\nX-B:\r\n\r\n", r).status, parse_status::complete);
  EXPECT_EQ(r.header_count, 3);
}

TEST(http_request, refuses_ambiguous_message_framing_and_hosts) {
  const std::string start = "POST /api/publish HTTP/1.1\r\nHost: a\r\n";
  EXPECT_EQ(error_status(start + "Content-Length: 5\r\nContent-Length: 5\r\n\r\n"), 400);
  EXPECT_EQ(error_status(start + "Content-Length: 5\r\ncontent-length: 6\r\n\r\n"), 400);
  for (const char* bad : {"abc", "-1", "+1", "1 2", "1,1", "0x10", "", "1.0",
                          "18446744073709551616", "99999999999999999999999"}) {
    EXPECT_EQ(error_status(start + "Content-Length: " + bad + "\r\n\r\n"), 400) << bad;
  }
  http_request r;
  ASSERT_EQ(parse(start + "Content-Length: 18446744073709551615\r\n\r\n", r).status,
            parse_status::complete);
  EXPECT_EQ(r.content_length, 18446744073709551615u);

  EXPECT_EQ(error_status(start + "Transfer-Encoding: chunked\r\n\r\n"), 501);
  EXPECT_EQ(error_status(start + "Transfer-Encoding: identity\r\n\r\n"), 501);
  EXPECT_EQ(error_status(start + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"), 400);
  EXPECT_EQ(error_status(start + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);

  EXPECT_EQ(error_status("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
  EXPECT_EQ(error_status("GET / HTTP/1.1\r\nHost: a\r\nHOST: a\r\n\r\n"), 400);
  EXPECT_EQ(error_status("GET / HTTP/1.1\r\nX-Host: a\r\n\r\n"), 400);  // missing Host
  ASSERT_EQ(parse("GET / HTTP/1.1\r\nHost:\r\n\r\n", r).status, parse_status::complete);
  EXPECT_TRUE(r.has_host);
  EXPECT_TRUE(r.host.empty());

  for (const char* header : {"Sec-WebSocket-Key: a", "Sec-WebSocket-Version: 13",
                             "Authorization: Bearer x", "Origin: o", "Content-Type: t"}) {
    EXPECT_EQ(error_status("GET / HTTP/1.1\r\nHost: a\r\n" + std::string(header) + "\r\n" + header +
                           "\r\n\r\n"),
              400)
        << header;
  }
}

TEST(http_request, head_size_limit) {
  const std::string base = "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ";
  // A head of exactly the limit is accepted; one byte more is 431.
  const std::string exact = base + std::string(limit - base.size() - 4, 'p') + "\r\n\r\n";
  ASSERT_EQ(exact.size(), limit);
  http_request r;
  parse_result res = parse(exact, r);
  ASSERT_EQ(res.status, parse_status::complete);
  EXPECT_EQ(res.head_length, limit);
  EXPECT_EQ(error_status(exact, limit - 1), 431);
  // Pipelined bytes past the limit do not count against this head.
  EXPECT_EQ(parse(exact + "GET / HTTP/1.1\r\n", r).status, parse_status::complete);

  // 431 as soon as the limit is reached without the end of the head.
  const std::string endless = base + std::string(limit, 'x');
  EXPECT_EQ(parse(std::string_view(endless).substr(0, limit - 1), r).status,
            parse_status::incomplete);
  res = parse(std::string_view(endless).substr(0, limit), r);
  EXPECT_EQ(res.status, parse_status::error);
  EXPECT_EQ(res.http_status, 431);
  std::size_t fed = 0;
  res = feed_bytewise(endless, r, fed);
  EXPECT_EQ(res.http_status, 431);
  EXPECT_EQ(fed, limit);
  // The CR of the final CRLF at the last allowed byte: the head would be one byte too long.
  const std::string off_by_one = base + std::string(limit - base.size() - 3, 'p') + "\r\n\r\n";
  EXPECT_EQ(error_status(off_by_one), 431);
}

TEST(http_request, header_count_limit_is_decided_before_the_head_ends) {
  std::string req = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (std::size_t i = 1; i < max_header_count; ++i) {
    req += "X-" + std::to_string(i) + ": v\r\n";
  }
  http_request r;
  parse_result res = parse(req + "\r\n", r);
  ASSERT_EQ(res.status, parse_status::complete);
  EXPECT_EQ(r.header_count, max_header_count);
  req += "X-Last: v\r\n";  // one too many, and no end of head yet
  res = parse(req, r);
  EXPECT_EQ(res.status, parse_status::error);
  EXPECT_EQ(res.http_status, 431);
  EXPECT_EQ(error_status(req + "\r\n"), 431);
}

TEST(http_request, the_first_fault_decides_however_the_head_is_split) {
  // A duplicate early and too many fields later: 400 whole or split (the split parser must
  // remember the first Host across calls).
  std::string req = "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n";
  for (std::size_t i = 0; i < max_header_count + 4; ++i) {
    req += "X-" + std::to_string(i) + ": v\r\n";
  }
  EXPECT_EQ(error_status(req + "\r\n"), 400);
  // Too many Connection fields early, a syntax fault later: 431 either way.
  std::string lists = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (std::size_t i = 0; i <= header_list::capacity; ++i) {
    lists += "Connection: keep-alive\r\n";
  }
  EXPECT_EQ(error_status(lists + "Bad Name: v\r\n\r\n"), 431);
}

TEST(http_request, garbage_is_refused_early) {
  http_request r;
  const std::string tls_hello = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
  parse_result res = parse(tls_hello, r);
  EXPECT_EQ(res.status, parse_status::error);
  EXPECT_EQ(res.http_status, 400);
  res = parse(std::string_view("\0", 1), r);
  EXPECT_EQ(res.http_status, 400);
  EXPECT_EQ(error_status("\r\n\r\n\r\n\x01"), 400);
  EXPECT_EQ(error_status("hello world\r\n\r\n"), 400);
  EXPECT_EQ(error_status("\r\r\n"), 400);
  // A partial line of plausible bytes is still incomplete.
  EXPECT_EQ(parse("GE", r).status, parse_status::incomplete);
  EXPECT_EQ(parse("", r).status, parse_status::incomplete);
}

TEST(http_request, skips_empty_lines_before_the_request_line) {
  const std::string req = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
  http_request r;
  const parse_result res = parse(req, r);
  ASSERT_EQ(res.status, parse_status::complete);
  EXPECT_EQ(res.head_length, req.size());
  EXPECT_EQ(r.path, "/");
  std::size_t fed = 0;
  EXPECT_EQ(feed_bytewise(req, r, fed).status, parse_status::complete);
  EXPECT_EQ(fed, req.size());
}

TEST(http_request, header_has_token) {
  EXPECT_TRUE(header_has_token("Upgrade", "upgrade"));
  EXPECT_TRUE(header_has_token("keep-alive, Upgrade", "upgrade"));
  EXPECT_TRUE(header_has_token(" keep-alive ,\tUPGRADE\t", "Upgrade"));
  EXPECT_TRUE(header_has_token(",,upgrade,", "upgrade"));
  EXPECT_FALSE(header_has_token("upgrades", "upgrade"));
  EXPECT_FALSE(header_has_token("up grade", "upgrade"));
  EXPECT_FALSE(header_has_token("keep-alive;upgrade", "upgrade"));
  EXPECT_FALSE(header_has_token("", "upgrade"));
  EXPECT_FALSE(header_has_token("a,,b", ""));
}

TEST(http_request, keep_alive) {
  http_request r;
  ASSERT_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n", r).status, parse_status::complete);
  EXPECT_TRUE(keep_alive(r));
  ASSERT_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, Close\r\n\r\n", r).status,
            parse_status::complete);
  EXPECT_FALSE(keep_alive(r));
  ASSERT_EQ(parse("GET / HTTP/1.0\r\n\r\n", r).status, parse_status::complete);
  EXPECT_FALSE(keep_alive(r));
  ASSERT_EQ(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", r).status,
            parse_status::complete);
  EXPECT_TRUE(keep_alive(r));
}


TEST(http_request, keeps_the_first_if_none_match_field) {
  http_request r;
  const std::string one = "GET /a.js HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"abc\", W/\"d\"\r\n\r\n";
  ASSERT_EQ(parse(one, r).status, parse_status::complete);
  EXPECT_EQ(r.if_none_match, "\"abc\", W/\"d\"");
  // The field may repeat (a list); the first is enough to answer 304.
  const std::string two =
      "GET /a.js HTTP/1.1\r\nHost: a\r\nif-none-match: \"x\"\r\nIf-None-Match: \"y\"\r\n\r\n";
  ASSERT_EQ(parse(two, r).status, parse_status::complete);
  EXPECT_EQ(r.if_none_match, "\"x\"");
  ASSERT_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n", r).status, parse_status::complete);
  EXPECT_TRUE(r.if_none_match.empty());
}

}  // namespace
}  // namespace wsa
