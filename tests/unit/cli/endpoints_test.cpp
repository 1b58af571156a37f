// --listen and --broker syntax, including Redis URLs with credentials and a database.
#include "cli/endpoints.h"

#include <gtest/gtest.h>

namespace wsa {
namespace {

listen_endpoint listen_ok(const char* text) {
  listen_endpoint spec;
  std::string why;
  EXPECT_TRUE(parse_listen(text, spec, why)) << text << ": " << why;
  return spec;
}

std::string listen_error(const char* text) {
  listen_endpoint spec;
  std::string why;
  EXPECT_FALSE(parse_listen(text, spec, why)) << text;
  return why;
}

TEST(ParseListen, Ipv4HostNameIpv6AndEmptyHost) {
  listen_endpoint s = listen_ok("0.0.0.0:8080");
  EXPECT_EQ(s.host, "0.0.0.0");
  EXPECT_EQ(s.port, 8080);
  EXPECT_FALSE(s.ipv6);

  s = listen_ok("127.0.0.1:0");
  EXPECT_EQ(s.host, "127.0.0.1");
  EXPECT_EQ(s.port, 0) << "port 0 picks a free port";

  s = listen_ok("localhost:65535");
  EXPECT_EQ(s.host, "localhost");
  EXPECT_EQ(s.port, 65535);

  s = listen_ok("[::1]:9000");
  EXPECT_EQ(s.host, "::1");
  EXPECT_EQ(s.port, 9000);
  EXPECT_TRUE(s.ipv6);

  s = listen_ok("[::]:80");
  EXPECT_EQ(s.host, "::");
  EXPECT_TRUE(s.ipv6);

  s = listen_ok("[fe80::1:2]:1");
  EXPECT_EQ(s.host, "fe80::1:2");

  s = listen_ok(":8080");
  EXPECT_EQ(s.host, "");
  EXPECT_EQ(s.port, 8080);

  s = listen_ok("my-host.example.com:443");
  EXPECT_EQ(s.host, "my-host.example.com");
}

TEST(ParseListen, ErrorsNameTheTextAndTheProblem) {
  EXPECT_NE(listen_error("8080").find("bad listen address '8080': missing ':PORT'"),
            std::string::npos);
  EXPECT_NE(listen_error("host:").find("bad port ''"), std::string::npos);
  EXPECT_NE(listen_error("host:65536").find("bad port '65536' (expected 0..65535)"),
            std::string::npos);
  EXPECT_NE(listen_error("host:-1").find("bad port '-1'"), std::string::npos);
  EXPECT_NE(listen_error("host:http").find("bad port 'http'"), std::string::npos);
  EXPECT_NE(listen_error("::1:8080").find("an IPv6 address goes in brackets"), std::string::npos);
  EXPECT_NE(listen_error("[::1:8080").find("missing ']'"), std::string::npos);
  EXPECT_NE(listen_error("[::1]8080").find("expected ':PORT' after ']'"), std::string::npos);
  EXPECT_NE(listen_error("[::1]").find("expected ':PORT' after ']'"), std::string::npos);
  EXPECT_NE(listen_error("[nope]:80").find("bad IPv6 address 'nope'"), std::string::npos);
  EXPECT_NE(listen_error("[127.0.0.1]:80").find("bad IPv6 address"), std::string::npos);
  EXPECT_NE(listen_error("256.0.0.1:80").find("bad IPv4 address '256.0.0.1'"), std::string::npos);
  EXPECT_NE(listen_error("1.2.3:80").find("bad IPv4 address '1.2.3'"), std::string::npos);
  EXPECT_NE(listen_error("bad_host:80").find("bad host name 'bad_host'"), std::string::npos);
  EXPECT_NE(listen_error("-host:80").find("bad host name"), std::string::npos);
  EXPECT_NE(listen_error("a..b:80").find("bad host name"), std::string::npos);
  EXPECT_NE(listen_error("").find("bad listen address ''"), std::string::npos);
  for (const char* bad : {"8080", "::1:8080", "host:99999"}) {
    EXPECT_NE(listen_error(bad).find("expected HOST:PORT, IPV4:PORT or [IPV6]:PORT"),
              std::string::npos);
  }
}

broker_url broker_ok(const char* text) {
  broker_url spec;
  std::string why;
  EXPECT_TRUE(parse_broker(text, spec, why)) << text << ": " << why;
  return spec;
}

std::string broker_error(const char* text) {
  broker_url spec;
  std::string why;
  EXPECT_FALSE(parse_broker(text, spec, why)) << text;
  return why;
}

TEST(ParseBroker, Embedded) {
  broker_url spec;
  spec.type = broker_url::kind::redis;
  std::string why;
  ASSERT_TRUE(parse_broker("embedded", spec, why));
  EXPECT_EQ(spec.type, broker_url::kind::embedded);
}

TEST(ParseBroker, RedisHostPortDbDefaults) {
  broker_url s = broker_ok("redis://localhost");
  EXPECT_EQ(s.type, broker_url::kind::redis);
  EXPECT_EQ(s.redis.host, "localhost");
  EXPECT_EQ(s.redis.port, 6379);
  EXPECT_EQ(s.redis.db, 0u);
  EXPECT_FALSE(s.redis.has_password);
  EXPECT_EQ(s.redis.username, "");

  s = broker_ok("redis://10.0.0.5:6380/3");
  EXPECT_EQ(s.redis.host, "10.0.0.5");
  EXPECT_EQ(s.redis.port, 6380);
  EXPECT_EQ(s.redis.db, 3u);

  s = broker_ok("redis://127.0.0.1:7000/");
  EXPECT_EQ(s.redis.port, 7000);
  EXPECT_EQ(s.redis.db, 0u);

  s = broker_ok("REDIS://[::1]:6379/15");
  EXPECT_EQ(s.redis.host, "::1");
  EXPECT_EQ(s.redis.db, 15u);

  s = broker_ok("redis://[::1]");
  EXPECT_EQ(s.redis.host, "::1");
  EXPECT_EQ(s.redis.port, 6379);
}

TEST(ParseBroker, RedisPasswordUserAndEscapes) {
  broker_url s = broker_ok("redis://:s3cret@redis.internal:6379/2");
  EXPECT_TRUE(s.redis.has_password);
  EXPECT_EQ(s.redis.password, "s3cret");
  EXPECT_EQ(s.redis.username, "");
  EXPECT_EQ(s.redis.host, "redis.internal");
  EXPECT_EQ(s.redis.db, 2u);

  s = broker_ok("redis://app:pw@h:1");
  EXPECT_EQ(s.redis.username, "app");
  EXPECT_EQ(s.redis.password, "pw");
  EXPECT_EQ(s.redis.port, 1);

  s = broker_ok("redis://:p%40ss%2Fw%3Ad@h");
  EXPECT_EQ(s.redis.password, "p@ss/w:d");

  // Unescaped '@', ':' and '/' in a password: the last '@' ends the credentials.
  s = broker_ok("redis://:a@b:c/d@host:6380/1");
  EXPECT_EQ(s.redis.password, "a@b:c/d");
  EXPECT_EQ(s.redis.host, "host");
  EXPECT_EQ(s.redis.port, 6380);
  EXPECT_EQ(s.redis.db, 1u);

  s = broker_ok("redis://:@h");
  EXPECT_TRUE(s.redis.has_password);
  EXPECT_EQ(s.redis.password, "");
}

TEST(ParseBroker, ErrorsNeverRepeatThePassword) {
  const char* bad[] = {
      "redis://:hunter2@",     "redis://:hunter2@h:0",      "redis://:hunter2@h:99999",
      "redis://:hunter2@h/x",  "redis://:hunter2@h/-1",     "redis://:hunter2%zz@h",
      "rediss://:hunter2@h",   "redis://:hunter2@h?db=1",   "redis://:hunter2@bad_host",
      "redis://:hunter2@[::1", "redis://:hunter2@::1:6379", "redis://hunter2@h",
      "http://:hunter2@h",     "redis-cluster://:hunter2@h/0", "redis-cluster://:hunter2@h,",
      "redis-sentinel://:hunter2@h",   "redis-sentinel://:hunter2@h/m/x",
  };
  for (const char* text : bad) {
    const std::string why = broker_error(text);
    EXPECT_EQ(why.find("hunter2"), std::string::npos) << why;
    EXPECT_NE(why.find("bad broker '"), std::string::npos) << why;
    EXPECT_NE(why.find("expected 'embedded', redis://"), std::string::npos) << why;
  }
}

TEST(ParseBroker, ErrorsSayWhatIsWrong) {
  EXPECT_NE(broker_error("embeded").find("unknown broker"), std::string::npos);
  EXPECT_NE(broker_error("").find("unknown broker"), std::string::npos);
  EXPECT_NE(broker_error("redis://").find("missing host"), std::string::npos);
  EXPECT_NE(broker_error("redis://:pw@").find("missing host"), std::string::npos);
  EXPECT_NE(broker_error("redis://h:0").find("bad port '0' (expected 1..65535)"),
            std::string::npos);
  EXPECT_NE(broker_error("redis://h:").find("bad port ''"), std::string::npos);
  EXPECT_NE(broker_error("redis://h/abc").find("bad database number 'abc'"), std::string::npos);
  EXPECT_NE(broker_error("redis://h/2147483648").find("bad database number"), std::string::npos);
  EXPECT_NE(broker_error("rediss://h").find("TLS"), std::string::npos);
  EXPECT_NE(broker_error("redis://h?x=1").find("URL parameters are not supported"),
            std::string::npos);
  EXPECT_NE(broker_error("redis://pw@h").find("credentials need a ':'"), std::string::npos);
  EXPECT_NE(broker_error("redis://:a%4@h").find("bad %-escape"), std::string::npos);
  EXPECT_NE(broker_error("redis://h_x").find("bad host name 'h_x'"), std::string::npos);
}

TEST(ParseBroker, RedisClusterSeeds) {
  broker_url s = broker_ok("redis-cluster://:pw@10.0.0.1:7000,redis-b,[::1]:7002");
  EXPECT_EQ(s.type, broker_url::kind::redis_cluster);
  ASSERT_EQ(s.hosts.size(), 3u);
  EXPECT_EQ(s.hosts[0].host, "10.0.0.1");
  EXPECT_EQ(s.hosts[0].port, 7000);
  EXPECT_EQ(s.hosts[1].host, "redis-b");
  EXPECT_EQ(s.hosts[1].port, 6379);
  EXPECT_EQ(s.hosts[2].host, "::1");
  EXPECT_EQ(s.hosts[2].port, 7002);
  EXPECT_TRUE(s.redis.has_password);
  EXPECT_EQ(s.redis.password, "pw");
  EXPECT_EQ(s.shown, "redis-cluster://:***@10.0.0.1:7000,redis-b,[::1]:7002");

  s = broker_ok("REDIS-CLUSTER://h:1");
  ASSERT_EQ(s.hosts.size(), 1u);
  EXPECT_FALSE(s.redis.has_password);

  EXPECT_NE(broker_error("redis-cluster://").find("missing host"), std::string::npos);
  EXPECT_NE(broker_error("redis-cluster://a:1,,b:2").find("missing host"), std::string::npos);
  EXPECT_NE(broker_error("redis-cluster://a:1,b:0").find("bad port '0'"), std::string::npos);
  EXPECT_NE(broker_error("redis-cluster://a:1/0").find("no database"), std::string::npos);
  std::string many = "redis-cluster://h:1";
  for (int i = 0; i < 64; ++i) {
    many += ",h:1";
  }
  EXPECT_NE(broker_error(many.c_str()).find("more than 64 servers"), std::string::npos);
}

TEST(ParseBroker, RedisSentinelListNameAndDb) {
  broker_url s = broker_ok("redis-sentinel://app:p%2Fw@s1,s2:26380,10.0.0.3/mymaster/2");
  EXPECT_EQ(s.type, broker_url::kind::redis_sentinel);
  ASSERT_EQ(s.hosts.size(), 3u);
  EXPECT_EQ(s.hosts[0].host, "s1");
  EXPECT_EQ(s.hosts[0].port, 26379);
  EXPECT_EQ(s.hosts[1].port, 26380);
  EXPECT_EQ(s.hosts[2].host, "10.0.0.3");
  EXPECT_EQ(s.master_name, "mymaster");
  EXPECT_EQ(s.redis.db, 2u);
  EXPECT_EQ(s.redis.username, "app");
  EXPECT_EQ(s.redis.password, "p/w");

  s = broker_ok("redis-sentinel://s1/mymaster/");
  EXPECT_EQ(s.master_name, "mymaster");
  EXPECT_EQ(s.redis.db, 0u);

  EXPECT_NE(broker_error("redis-sentinel://s1").find("missing master name"), std::string::npos);
  EXPECT_NE(broker_error("redis-sentinel://s1/").find("missing master name"), std::string::npos);
  EXPECT_NE(broker_error("redis-sentinel://s1/m x").find("bad character in the master name"),
            std::string::npos);
  EXPECT_NE(broker_error("redis-sentinel://s1/m/x").find("bad database number 'x'"),
            std::string::npos);
  EXPECT_NE(broker_error("redis-sentinel:///m").find("missing host"), std::string::npos);
  const std::string long_name = "redis-sentinel://s1/" + std::string(129, 'm');
  EXPECT_NE(broker_error(long_name.c_str()).find("longer than 128"), std::string::npos);
}

TEST(ParseBroker, ShownTextHidesThePassword) {
  EXPECT_EQ(broker_ok("redis://:s3cret@h:6379/2").shown, "redis://:***@h:6379/2");
  EXPECT_EQ(broker_ok("redis://h").shown, "redis://h");
  EXPECT_EQ(broker_ok("embedded").shown, "embedded");
}

TEST(ParseListen, TextWritesItBack) {
  for (const char* text : {"127.0.0.1:0", "[::1]:9000", ":8080", "my-host:1"}) {
    EXPECT_EQ(listen_ok(text).text(), text);
  }
}

TEST(RedactBroker, HidesPasswordsOnly) {
  EXPECT_EQ(redact_broker("embedded"), "embedded");
  EXPECT_EQ(redact_broker("redis://h:6379/1"), "redis://h:6379/1");
  EXPECT_EQ(redact_broker("redis://:pw@h:6379/1"), "redis://:***@h:6379/1");
  EXPECT_EQ(redact_broker("redis://user:pw@h"), "redis://user:***@h");
  EXPECT_EQ(redact_broker("redis://:a@b:c@h"), "redis://:***@h");
  EXPECT_EQ(redact_broker("redis://secret@h"), "redis://***@h");
}

}  // namespace
}  // namespace wsa
