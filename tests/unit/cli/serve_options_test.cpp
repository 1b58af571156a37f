// `wsagent serve` options: every option through a flag, a WSAGENT_* variable and the config
// file; precedence between the three; every error with its message.
#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "cli/command_line.h"
#include "cli/option_set.h"
#include "cli_test_support.h"

namespace wsa {
namespace {

using testing_cli::contains;
using testing_cli::run_serve;
using testing_cli::serve_run;
using testing_cli::temp_file;

struct sample {
  std::string name;
  std::string value;  // a value different from the default
  std::function<bool(const config&)> applied;
};

// One sample per option; OptionSamples.CoverEveryOption keeps this list complete.
std::vector<sample> samples() {
  return {
      {"listen", "127.0.0.1:9001",
       [](const config& c) { return c.listen.host == "127.0.0.1" && c.listen.port == 9001; }},
      {"shards", "3", [](const config& c) { return c.shards == 3; }},
      {"mqtt-listen", "127.0.0.1:1884",
       [](const config& c) { return c.mqtt_tcp && c.mqtt_listen.port == 1884; }},
      {"mqtt-ws", "true", [](const config& c) { return c.mqtt_ws; }},
      {"mqtt-max-packet-bytes", "64k",
       [](const config& c) { return c.mqtt_max_packet_bytes == 65536; }},
      {"mqtt-max-inflight", "8", [](const config& c) { return c.mqtt_max_inflight == 8; }},
      {"mqtt-max-queued", "50", [](const config& c) { return c.mqtt_max_pending == 50; }},
      {"mqtt-max-subscriptions", "20",
       [](const config& c) { return c.mqtt_max_subscriptions == 20; }},
      {"mqtt-max-sessions", "7", [](const config& c) { return c.mqtt_max_sessions == 7; }},
      {"mqtt-max-session-bytes", "3m",
       [](const config& c) { return c.mqtt_max_session_bytes == 3 * 1024 * 1024; }},
      {"mqtt-max-will-bytes", "1k",
       [](const config& c) { return c.mqtt_max_will_bytes == 1024; }},
      {"mqtt-retained-max", "5", [](const config& c) { return c.mqtt_retained_max == 5; }},
      {"mqtt-retained-max-bytes", "2m",
       [](const config& c) { return c.mqtt_retained_max_bytes == 2 * 1024 * 1024; }},
      {"stats-tag", "sys.stats", [](const config& c) { return c.stats_tag == "sys.stats"; }},
      {"static", "demo", [](const config& c) { return c.static_dir == "demo"; }},
      {"no-pin", "true", [](const config& c) { return !c.pin_shards; }},
      {"node-id", "n1.eu-west:2", [](const config& c) { return c.node_id == "n1.eu-west:2"; }},
      {"max-message-bytes", "128k",
       [](const config& c) { return c.max_message_bytes == 128 * 1024; }},
      {"max-connections", "500", [](const config& c) { return c.max_connections == 500; }},
      {"max-tags-per-connection", "16",
       [](const config& c) { return c.max_tags_per_connection == 16; }},
      {"max-recovery-tags", "9", [](const config& c) { return c.max_recovery_tags == 9; }},
      {"max-outbound-bytes", "2MiB",
       [](const config& c) { return c.max_outbound_bytes == 2 * 1024 * 1024; }},
      {"max-header-bytes", "16k", [](const config& c) { return c.max_header_bytes == 16384; }},
      {"handshake-timeout", "250ms", [](const config& c) { return c.handshake_timeout_ms == 250; }},
      {"idle-timeout", "2m", [](const config& c) { return c.idle_timeout_ms == 120000; }},
      {"drain-delay", "3s", [](const config& c) { return c.drain_delay_ms == 3000; }},
      {"drain-timeout", "10s", [](const config& c) { return c.drain_timeout_ms == 10000; }},
      {"drain-spread", "2s", [](const config& c) { return c.drain_spread_ms == 2000; }},
      {"pub-rate", "0", [](const config& c) { return c.pub_rate == 0; }},
      {"pub-burst", "7", [](const config& c) { return c.pub_burst == 7; }},
      {"sub-rate", "5", [](const config& c) { return c.sub_rate == 5; }},
      {"sub-burst", "9", [](const config& c) { return c.sub_burst == 9; }},
      {"auth-rate", "2", [](const config& c) { return c.auth_rate == 2; }},
      {"auth-burst", "3", [](const config& c) { return c.auth_burst == 3; }},
      {"max-paused-input", "32KiB",
       [](const config& c) { return c.max_paused_input_bytes == 32u * 1024; }},
      {"invalid-frame-rate", "4", [](const config& c) { return c.invalid_frame_rate == 4; }},
      {"invalid-frame-burst", "5", [](const config& c) { return c.invalid_frame_burst == 5; }},
      {"redis-max-reply-bytes", "2MiB",
       [](const config& c) { return c.redis_max_reply_bytes == 2u * 1024 * 1024; }},
      {"max-pending-recoveries", "2",
       [](const config& c) { return c.max_pending_recoveries == 2; }},
      {"max-shard-backlog", "8MiB",
       [](const config& c) { return c.max_shard_backlog == 8 * 1024 * 1024; }},
      {"max-broker-backlog", "1MiB",
       [](const config& c) { return c.max_broker_backlog == 1024 * 1024; }},
      {"broker", "redis://127.0.0.1:6380/1",
       [](const config& c) {
         return c.broker.type == broker_url::kind::redis && c.broker.redis.host == "127.0.0.1" &&
                c.broker.redis.port == 6380 && c.broker.redis.db == 1;
       }},
      {"history-size", "1000", [](const config& c) { return c.history_size == 1000; }},
      {"history-max-age", "1h", [](const config& c) { return c.history_max_age_s == 3600; }},
      {"idempotency-window", "90s",
       [](const config& c) { return c.idempotency_window_ms == 90000; }},
      {"idempotency-max-keys", "1234",
       [](const config& c) { return c.idempotency_max_keys == 1234; }},
      {"presence-max-members", "77", [](const config& c) { return c.presence_max_members == 77; }},
      {"presence-ttl", "5s", [](const config& c) { return c.presence_ttl_ms == 5000; }},
      {"history-max-bytes", "1g",
       [](const config& c) { return c.history_max_bytes == (uint64_t{1} << 30); }},
      {"redis-key-ttl", "2h", [](const config& c) { return c.redis_key_ttl_s == 7200; }},
      {"redis-max-patterns", "8", [](const config& c) { return c.redis_max_patterns == 8; }},
      {"redis-wait-replicas", "1", [](const config& c) { return c.redis_wait_replicas == 1; }},
      {"redis-wait-timeout", "250ms",
       [](const config& c) { return c.redis_wait_timeout_ms == 250; }},
      {"no-auth", "yes", [](const config& c) { return c.no_auth; }},
      {"jwks", "/etc/wsagent/jwks.json",
       [](const config& c) { return c.jwks_file == "/etc/wsagent/jwks.json"; }},
      {"hmac-secret-file", "/run/secrets/hmac",
       [](const config& c) { return c.hmac_secret_file == "/run/secrets/hmac"; }},
      {"auth-timeout", "2s", [](const config& c) { return c.auth_timeout_ms == 2000; }},
      {"token-leeway", "1m", [](const config& c) { return c.token_leeway_s == 60; }},
      {"max-token-bytes", "4k", [](const config& c) { return c.max_token_bytes == 4096; }},
      {"jwt-audience", "https://api.example",
       [](const config& c) { return c.jwt_audience == "https://api.example"; }},
      {"jwt-issuer", "auth.example", [](const config& c) { return c.jwt_issuer == "auth.example"; }},
      {"log-level", "debug", [](const config& c) { return c.log_level == log_level::debug; }},
      {"log-format", "json", [](const config& c) { return c.log_format == log_format::json; }},
  };
}

bool is_flag(std::string_view name) {
  for (const option_info& option : list_options("serve")) {
    if (option.name == name) {
      return option.value_name.empty();
    }
  }
  ADD_FAILURE() << "no option " << name;
  return false;
}

// Every run needs a key or --no-auth; the no-auth sample provides its own.
std::vector<std::string> base_args(const sample& s) {
  return s.name == "no-auth" ? std::vector<std::string>{} : std::vector<std::string>{"--no-auth"};
}

TEST(OptionSamples, CoverEveryOption) {
  std::set<std::string> sampled;
  for (const sample& s : samples()) {
    sampled.insert(s.name);
    EXPECT_FALSE(s.applied(config{}))
        << s.name << ": the sample value must differ from the default";
  }
  for (const option_info& option : list_options("serve")) {
    if (option.name != "config") {
      EXPECT_TRUE(sampled.count(option.name)) << "no sample for --" << option.name;
    }
  }
}

TEST(ServeOptions, EveryOptionAsFlagWithEquals) {
  for (const sample& s : samples()) {
    std::vector<std::string> args = base_args(s);
    args.push_back("--" + s.name + "=" + s.value);
    const serve_run r = run_serve(args);
    ASSERT_EQ(r.status, cli_status::ok) << s.name << ": " << r.message;
    EXPECT_TRUE(s.applied(r.cfg)) << s.name;
  }
}

TEST(ServeOptions, EveryOptionAsFlagWithSeparateValueOrBare) {
  for (const sample& s : samples()) {
    std::vector<std::string> args = base_args(s);
    args.push_back("--" + s.name);
    if (!is_flag(s.name)) {
      args.push_back(s.value);
    }
    const serve_run r = run_serve(args);
    ASSERT_EQ(r.status, cli_status::ok) << s.name << ": " << r.message;
    EXPECT_TRUE(s.applied(r.cfg)) << s.name;
  }
}

TEST(ServeOptions, EveryOptionAsEnvironmentVariable) {
  for (const sample& s : samples()) {
    const std::string var = env_name(s.name);
    const serve_run r = run_serve(base_args(s), {"PATH=/usr/bin", var + "=" + s.value});
    ASSERT_EQ(r.status, cli_status::ok) << var << ": " << r.message;
    EXPECT_TRUE(s.applied(r.cfg)) << var;
    for (const std::string& w : r.warnings) {
      EXPECT_FALSE(contains(w, "is not an option")) << var << ": " << w;
    }
  }
}

TEST(ServeOptions, EveryOptionInTheConfigFile) {
  for (const sample& s : samples()) {
    temp_file file("# written by the test\n\n" + s.name + " = " + s.value + "\n");
    std::vector<std::string> args = base_args(s);
    args.push_back("--config");
    args.push_back(file.path());
    const serve_run r = run_serve(args);
    ASSERT_EQ(r.status, cli_status::ok) << s.name << ": " << r.message;
    EXPECT_TRUE(s.applied(r.cfg)) << s.name;
  }
}

TEST(ServeOptions, FlagsCanBeTurnedOffExplicitly) {
  serve_run r = run_serve({"--jwks", "/k", "--no-auth=false", "--no-pin=0"});
  ASSERT_EQ(r.status, cli_status::ok) << r.message;
  EXPECT_FALSE(r.cfg.no_auth);
  EXPECT_TRUE(r.cfg.pin_shards);

  r = run_serve({"--jwks", "/k"}, {"WSAGENT_NO_AUTH=off", "WSAGENT_NO_PIN=no"});
  ASSERT_EQ(r.status, cli_status::ok) << r.message;
  EXPECT_FALSE(r.cfg.no_auth);
  EXPECT_TRUE(r.cfg.pin_shards);
}

TEST(ServeOptions, DefaultsWhenNothingIsGiven) {
  const serve_run r = run_serve({"--no-auth"});
  ASSERT_EQ(r.status, cli_status::ok) << r.message;
  config expected;
  expected.no_auth = true;
  EXPECT_EQ(r.cfg.listen.text(), expected.listen.text());
  EXPECT_EQ(r.cfg.shards, expected.shards);
  EXPECT_EQ(r.cfg.max_message_bytes, expected.max_message_bytes);
  EXPECT_EQ(r.cfg.idle_timeout_ms, expected.idle_timeout_ms);
  EXPECT_EQ(r.cfg.broker.type, broker_url::kind::embedded);
  EXPECT_EQ(r.cfg.log_level, expected.log_level);
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_TRUE(r.message.empty());
}

TEST(ServeOptions, BareNumbersTakeEachFieldsUnit) {
  const serve_run r = run_serve({"--no-auth", "--idle-timeout", "1500", "--token-leeway", "45",
                                 "--history-max-age", "90", "--drain-timeout=0"});
  ASSERT_EQ(r.status, cli_status::ok) << r.message;
  EXPECT_EQ(r.cfg.idle_timeout_ms, 1500u);
  EXPECT_EQ(r.cfg.token_leeway_s, 45u);
  EXPECT_EQ(r.cfg.history_max_age_s, 90u);
  EXPECT_EQ(r.cfg.drain_timeout_ms, 0u);
}

// --- precedence -------------------------------------------------------------------------

TEST(ServePrecedence, FlagOverEnvOverFileOverDefault) {
  temp_file file("shards = 2\nlog-level = warn\nno-auth = true\n");
  const std::string cfg_flag = "--config=" + file.path();
  const std::string env_shards = "WSAGENT_SHARDS=3";

  serve_run r = run_serve({cfg_flag, "--shards", "4"}, {env_shards});
  ASSERT_EQ(r.status, cli_status::ok) << r.message;
  EXPECT_EQ(r.cfg.shards, 4u) << "flag wins";
  EXPECT_EQ(r.cfg.log_level, log_level::warn) << "options not overridden keep the file's value";

  r = run_serve({cfg_flag}, {env_shards});
  ASSERT_EQ(r.status, cli_status::ok) << r.message;
  EXPECT_EQ(r.cfg.shards, 3u) << "environment over file";

  r = run_serve({cfg_flag});
  ASSERT_EQ(r.status, cli_status::ok) << r.message;
  EXPECT_EQ(r.cfg.shards, 2u) << "file over default";

  r = run_serve({"--no-auth"});
  ASSERT_EQ(r.status, cli_status::ok) << r.message;
  EXPECT_EQ(r.cfg.shards, 0u) << "default";
}

TEST(ServePrecedence, ConfigPathFromEnvironmentAndFlagWins) {
  temp_file from_env("shards = 5\nno-auth = 1\n");
  temp_file from_flag("shards = 6\nno-auth = 1\n");
  serve_run r = run_serve({}, {"WSAGENT_CONFIG=" + from_env.path()});
  ASSERT_EQ(r.status, cli_status::ok) << r.message;
  EXPECT_EQ(r.cfg.shards, 5u);

  r = run_serve({"--config", from_flag.path()}, {"WSAGENT_CONFIG=" + from_env.path()});
  ASSERT_EQ(r.status, cli_status::ok) << r.message;
  EXPECT_EQ(r.cfg.shards, 6u);
}

TEST(ServePrecedence, LastFlagWinsAndEmptyVariablesAreUnset) {
  serve_run r = run_serve({"--no-auth", "--shards", "2", "--shards=3"});
  ASSERT_EQ(r.status, cli_status::ok) << r.message;
  EXPECT_EQ(r.cfg.shards, 3u);

  temp_file file("shards = 2\n");
  r = run_serve({"--no-auth", "--config", file.path()}, {"WSAGENT_SHARDS=", "WSAGENT_CONFIG="});
  ASSERT_EQ(r.status, cli_status::ok) << r.message;
  EXPECT_EQ(r.cfg.shards, 2u);
}

TEST(ServePrecedence, FlagOverridesAnInvalidCombinationFromLowerLayers) {
  // The environment alone would fail validation; checks run on the merged result only.
  const serve_run r = run_serve({"--max-outbound-bytes", "4m"},
                                {"WSAGENT_MAX_MESSAGE_BYTES=2m", "WSAGENT_NO_AUTH=1"});
  ASSERT_EQ(r.status, cli_status::ok) << r.message;
  EXPECT_EQ(r.cfg.max_message_bytes, 2u << 20);
}

// --- config file syntax ------------------------------------------------------------------

TEST(ServeConfigFile, CommentsBlanksQuotesSpacesCrlfAndBom) {
  temp_file file(
      "\xEF\xBB\xBF# wsagent.conf\r\n"
      "\r\n"
      "   # indented comment\n"
      "; an INI comment\n"
      "listen=[::1]:7000\r\n"
      "\tnode-id   =   \"edge-1\"  \n"
      "broker = redis://:pa=ss#1;x@10.0.0.5:6379/2\n"
      "jwks = \"/etc/my keys, v2/jwks.json\"\n"
      "no-auth = true");  // no final newline
  const serve_run r = run_serve({"--config", file.path()});
  ASSERT_EQ(r.status, cli_status::ok) << r.message;
  EXPECT_EQ(r.cfg.listen.text(), "[::1]:7000") << "a value starting with '[' is not an array";
  EXPECT_EQ(r.cfg.node_id, "edge-1");
  EXPECT_EQ(r.cfg.broker.redis.password, "pa=ss#1;x") << "'=', '#' and ';' inside a value";
  EXPECT_EQ(r.cfg.jwks_file, "/etc/my keys, v2/jwks.json") << "spaces and commas are kept";
  EXPECT_TRUE(r.cfg.no_auth);
}

TEST(ServeConfigFile, AFlagAloneOnItsLineIsSet) {
  temp_file file("no-auth\nno-pin = off\n");
  const serve_run r = run_serve({"--config", file.path()});
  ASSERT_EQ(r.status, cli_status::ok) << r.message;
  EXPECT_TRUE(r.cfg.no_auth);
  EXPECT_TRUE(r.cfg.pin_shards);
}

struct file_error {
  const char* contents;
  const char* expected;  // after "<path>: "
};

TEST(ServeConfigFile, ErrorsNameTheFileAndTheKey) {
  const file_error cases[] = {
      {"# ok\nlisten = :1\nlistne = :2\n", "unknown key 'listne' (did you mean listen?)"},
      {"\n\nfrobnicate = 1\n", "unknown key 'frobnicate'"},
      {"listen :8080\n", "unknown key 'listen :8080'"},
      {"shards = 2\n\nshards = 3\n", "'shards' is set more than once"},
      {"shards = 2\nlisten = :1\nshards = 3\n", "'shards' is set more than once"},
      {"config = /etc/other.conf\n", "a config file cannot name another one"},
      {"no-auth = 1\nshards = many\n", "shards: bad number 'many'"},
      {"max-message-bytes = 64q\n", "max-message-bytes: bad size '64q'"},
      {"idle-timeout = soon\n", "idle-timeout: bad duration 'soon'"},
      {"no-pin = maybe\n", "no-pin: bad boolean 'maybe'"},
      {"--listen = :80\n", "unknown key '--listen' (did you mean listen?)"},
      {"[serve]\nlisten = :80\n", "unknown key 'serve.listen'"},
      {"hmac-secret = hunter2\n", "unknown key 'hmac-secret' (did you mean hmac-secret-file?)"},
  };
  for (const file_error& c : cases) {
    temp_file file(c.contents);
    const serve_run r = run_serve({"--no-auth", "--config", file.path()});
    ASSERT_EQ(r.status, cli_status::error) << c.contents;
    EXPECT_TRUE(contains(r.message, file.path() + ": " + c.expected)) << r.message;
    EXPECT_FALSE(contains(r.message, "hunter2")) << r.message;
  }
}

TEST(ServeConfigFile, ABadValueUnderAFlagOrVariableIsNotRead) {
  // The file is below flags and variables: what they set is never taken from it.
  temp_file file("shards = many\nlog-level = loud\n");
  const serve_run r =
      run_serve({"--no-auth", "--config", file.path(), "--shards", "2"}, {"WSAGENT_LOG_LEVEL=warn"});
  ASSERT_EQ(r.status, cli_status::ok) << r.message;
  EXPECT_EQ(r.cfg.shards, 2u);
  EXPECT_EQ(r.cfg.log_level, log_level::warn);
}

TEST(ServeConfigFile, UnreadableFileNamesItsSource) {
  const std::string missing = ::testing::TempDir() + "wsagent_no_such_file.conf";
  serve_run r = run_serve({"--no-auth", "--config", missing});
  ASSERT_EQ(r.status, cli_status::error);
  EXPECT_EQ(r.message,
            "--config: cannot read config file '" + missing + "': No such file or directory");

  r = run_serve({"--no-auth"}, {"WSAGENT_CONFIG=" + missing});
  ASSERT_EQ(r.status, cli_status::error);
  EXPECT_TRUE(contains(r.message, "WSAGENT_CONFIG: cannot read config file '" + missing + "'"))
      << r.message;

  r = run_serve({"--no-auth", "--config="});
  ASSERT_EQ(r.status, cli_status::error);
  EXPECT_EQ(r.message, "--config: empty file name");

  r = run_serve({"--no-auth", "--config", ::testing::TempDir()});
  ASSERT_EQ(r.status, cli_status::error) << "a directory is not a config file";
  EXPECT_TRUE(contains(r.message, "--config: cannot read config file")) << r.message;
}

TEST(ServeConfigFile, RefusesHugeFiles) {
  temp_file file(std::string(2 << 20, '#'));
  const serve_run r = run_serve({"--no-auth", "--config", file.path()});
  ASSERT_EQ(r.status, cli_status::error);
  EXPECT_TRUE(contains(r.message, "is larger than 1MiB")) << r.message;
}

// --- command-line errors -----------------------------------------------------------------

TEST(ServeErrors, UnknownOptionSuggestsTheClosestAndHintsAtHelp) {
  serve_run r = run_serve({"--no-auth", "--lisen", ":80"});
  ASSERT_EQ(r.status, cli_status::error);
  EXPECT_EQ(r.message,
            "unknown option '--lisen' (did you mean --listen?)\n"
            "(run 'wsagent serve --help' to list the options)");

  r = run_serve({"--max-conections=5"});
  EXPECT_TRUE(contains(r.message,
                       "unknown option '--max-conections' (did you mean "
                       "--max-connections?)"))
      << r.message;

  r = run_serve({"--shard", "2"});
  EXPECT_TRUE(contains(r.message, "(did you mean --shards?)")) << r.message;

  r = run_serve({"-listen", ":80"});
  EXPECT_TRUE(contains(r.message, "unknown option '-listen' (did you mean --listen?)"))
      << r.message;

  r = run_serve({"--frobnicate"});
  EXPECT_TRUE(contains(r.message, "unknown option '--frobnicate'\n")) << r.message;
  EXPECT_FALSE(contains(r.message, "did you mean")) << r.message;
}

TEST(ServeErrors, UnknownOptionValuesAreNeverRepeated) {
  const serve_run r = run_serve({"--hmac-secrett=hunter2"});
  ASSERT_EQ(r.status, cli_status::error);
  EXPECT_TRUE(contains(r.message, "unknown option '--hmac-secrett'")) << r.message;
  EXPECT_FALSE(contains(r.message, "hunter2")) << r.message;
}

TEST(ServeErrors, SecretOnTheCommandLineIsRefusedWithTheWayOut) {
  for (const char* arg : {"--hmac-secret=hunter2", "--hmac-secret"}) {
    const serve_run r = run_serve({"--no-auth", arg, "hunter2"});
    ASSERT_EQ(r.status, cli_status::error) << arg;
    EXPECT_TRUE(contains(r.message, "--hmac-secret: secrets are not accepted on the command line"))
        << r.message;
    EXPECT_TRUE(contains(r.message, "--hmac-secret-file FILE")) << r.message;
    EXPECT_FALSE(contains(r.message, "hunter2")) << r.message;
  }
  bool has_secret_option = false;
  for (const option_info& option : list_options("serve")) {
    has_secret_option |= option.name == "hmac-secret";
  }
  EXPECT_FALSE(has_secret_option);
}

TEST(ServeErrors, MissingValue) {
  serve_run r = run_serve({"--no-auth", "--listen"});
  ASSERT_EQ(r.status, cli_status::error);
  EXPECT_EQ(r.message,
            "missing value for --listen\n(run 'wsagent serve --help' to list the options)");

  r = run_serve({"--listen", "--no-auth"});
  ASSERT_EQ(r.status, cli_status::error);
  EXPECT_TRUE(contains(r.message,
                       "missing value for --listen (the next word, '--no-auth', is an "
                       "option; write --listen=VALUE"))
      << r.message;
}

TEST(ServeErrors, UnexpectedPositionalArguments) {
  serve_run r = run_serve({"--no-auth", "8080"});
  ASSERT_EQ(r.status, cli_status::error);
  EXPECT_TRUE(contains(r.message, "unexpected argument '8080'")) << r.message;

  r = run_serve({"--no-auth", "--", "x"});
  EXPECT_TRUE(contains(r.message, "unexpected argument 'x'")) << r.message;

  r = run_serve({"--no-auth", "--"});
  EXPECT_EQ(r.status, cli_status::ok) << "a lone -- ends the options";
}

struct value_error {
  std::vector<std::string> args;
  const char* expected;
};

TEST(ServeErrors, BadValuesNameTheOptionAndTheText) {
  const value_error cases[] = {
      {{"--shards", "two"}, "--shards: bad number 'two' (expected a whole decimal number)"},
      {{"--shards", "1025"}, "--shards: '1025' is out of range (0..1024)"},
      {{"--shards=-1"}, "--shards: bad number '-1'"},
      {{"--max-message-bytes", "0"}, "--max-message-bytes: '0' is out of range (1..64MiB)"},
      {{"--max-message-bytes", "65m"}, "--max-message-bytes: '65m' is out of range (1..64MiB)"},
      {{"--max-message-bytes", "64kk"}, "--max-message-bytes: bad size '64kk'"},
      {{"--max-connections", "0"}, "--max-connections: '0' is out of range (1..4294967295)"},
      {{"--max-connections", "4294967296"}, "--max-connections: '4294967296' is out of range"},
      {{"--max-tags-per-connection", "0"}, "--max-tags-per-connection: '0' is out of range"},
      {{"--max-outbound-bytes", "100"}, "--max-outbound-bytes: '100' is out of range (1KiB..1GiB)"},
      {{"--max-header-bytes", "2m"}, "--max-header-bytes: '2m' is out of range (1KiB..1MiB)"},
      {{"--handshake-timeout", "0"}, "--handshake-timeout: '0' is out of range (1ms..1h)"},
      {{"--handshake-timeout", "5 s"}, "--handshake-timeout: bad duration '5 s'"},
      {{"--idle-timeout", "25h"}, "--idle-timeout: '25h' is out of range (0s..1d)"},
      {{"--drain-timeout", "1.5s"}, "--drain-timeout: bad duration '1.5s'"},
      {{"--history-size", "1000001"}, "--history-size: '1000001' is out of range (0..1000000)"},
      {{"--history-max-age", "366d"}, "--history-max-age: '366d' is out of range (0s..365d)"},
      {{"--history-max-age", "500ms"},
       "--history-max-age: '500ms' is not a whole number of "
       "seconds"},
      {{"--auth-timeout", "2h"}, "--auth-timeout: '2h' is out of range (1ms..1h)"},
      {{"--token-leeway", "2h"}, "--token-leeway: '2h' is out of range (0s..1h)"},
      {{"--max-token-bytes", "32"}, "--max-token-bytes: '32' is out of range (64..64KiB)"},
      {{"--log-level", "verbose"},
       "--log-level: bad log level 'verbose' (expected debug, info, "
       "warn or error)"},
      {{"--log-format", "logfmt"}, "--log-format: bad log format 'logfmt' (expected text or json)"},
      {{"--stats-tag", "a.*"}, "--stats-tag: 'a.*' is not an exact tag"},
      {{"--static="}, "--static: empty file name"},
      {{"--node-id", "has space"}, "--node-id: bad node id 'has space'"},
      {{"--node-id", std::string(65, 'n')}, "is longer than 64 characters"},
      {{"--listen", "::1:80"},
       "--listen: bad listen address '::1:80': an IPv6 address goes in "
       "brackets"},
      {{"--listen", "host:70000"}, "--listen: bad listen address 'host:70000': bad port"},
      {{"--broker", "redis://:hunter2@h:0"}, "--broker: bad broker 'redis://:***@h:0'"},
      {{"--broker", "kafka://h"}, "--broker: bad broker 'kafka://h': unknown broker"},
      {{"--jwks="}, "--jwks: empty file name"},
      {{"--hmac-secret-file", ""}, "--hmac-secret-file: empty file name"},
      {{"--no-pin=maybe"}, "--no-pin: bad boolean 'maybe'"},
  };
  for (const value_error& c : cases) {
    std::vector<std::string> args = {"serve", "--no-auth"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    invocation untouched;
    untouched.serve.shards = 77;
    std::string message;
    testing_cli::scoped_env no_variables({});
    ASSERT_EQ(parse_command_line(args, untouched, message), cli_status::error) << c.expected;
    EXPECT_TRUE(contains(message, c.expected)) << "got: " << message << "\nwant: " << c.expected;
    EXPECT_FALSE(contains(message, "hunter2")) << message;
    EXPECT_EQ(untouched.serve.shards, 77u) << "the output is left alone on error";
  }
}

TEST(ServeErrors, EnvironmentErrorsNameTheVariable) {
  serve_run r = run_serve({"--no-auth"}, {"WSAGENT_SHARDS=lots"});
  ASSERT_EQ(r.status, cli_status::error);
  EXPECT_EQ(r.message, "WSAGENT_SHARDS: bad number 'lots' (expected a whole decimal number)");

  r = run_serve({}, {"WSAGENT_NO_AUTH=perhaps"});
  ASSERT_EQ(r.status, cli_status::error);
  EXPECT_TRUE(contains(r.message, "WSAGENT_NO_AUTH: bad boolean 'perhaps'")) << r.message;
}

TEST(ServeErrors, CombinationsAreCheckedAfterAllSources) {
  serve_run r = run_serve({"--no-auth", "--max-message-bytes", "2m"});
  ASSERT_EQ(r.status, cli_status::error);
  EXPECT_EQ(r.message,
            "--max-outbound-bytes (1MiB) must be at least --max-message-bytes (2MiB), or no "
            "subscriber could be sent a message of the largest size");

  r = run_serve({});
  ASSERT_EQ(r.status, cli_status::error);
  EXPECT_TRUE(contains(r.message,
                       "authentication is on and no key is configured: give --jwks "
                       "FILE"))
      << r.message;
  EXPECT_TRUE(contains(r.message, "or --no-auth")) << r.message;

  for (const char* key : {"--jwks=/k.json", "--hmac-secret-file=/s"}) {
    r = run_serve({key});
    EXPECT_EQ(r.status, cli_status::ok) << key << ": " << r.message;
  }
}

TEST(ServeErrors, HelpWinsOverEverythingElse) {
  for (const char* help : {"--help", "-h"}) {
    const serve_run r = run_serve({"--bogus", "--shards", "9999", help});
    ASSERT_EQ(r.status, cli_status::exit_success) << help;
    EXPECT_TRUE(contains(r.message, "Usage: wsagent serve")) << r.message;
  }
  const serve_run r = run_serve({"--no-auth", "--", "--help"});
  EXPECT_EQ(r.status, cli_status::error) << "after --, --help is just a word";
}

// --- warnings ----------------------------------------------------------------------------

TEST(ServeWarnings, UnknownWsagentVariablesAreReportedOthersIgnored) {
  const serve_run r = run_serve({"--no-auth"}, {"WSAGENT_SHRADS=4", "WSAGENT_WITH_PEERS=1",
                                                "HOME=/root", "WSAGENT_HMAC_SECRET=hunter2"});
  ASSERT_EQ(r.status, cli_status::ok) << r.message;
  ASSERT_EQ(r.warnings.size(), 3u);
  const auto warned = [&r](std::string_view text) {
    for (const std::string& w : r.warnings) {
      if (contains(w, text)) {
        return true;
      }
    }
    return false;
  };
  EXPECT_TRUE(warned("environment variable WSAGENT_SHRADS is not an option and is ignored (did "
                     "you mean WSAGENT_SHARDS?)"));
  EXPECT_TRUE(warned("WSAGENT_WITH_PEERS is not an option"));
  EXPECT_TRUE(warned("WSAGENT_HMAC_SECRET is not an option and is ignored (did you mean "
                     "WSAGENT_HMAC_SECRET_FILE?)"));
  EXPECT_FALSE(warned("hunter2"));
  EXPECT_EQ(r.cfg.shards, 0u);
}

TEST(ServeWarnings, RedisPasswordOnTheCommandLine) {
  serve_run r = run_serve({"--no-auth", "--broker", "redis://:pw@127.0.0.1:6379"});
  ASSERT_EQ(r.status, cli_status::ok) << r.message;
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_TRUE(contains(r.warnings[0], "Redis password in --broker is visible")) << r.warnings[0];
  EXPECT_FALSE(contains(r.warnings[0], "pw@"));

  r = run_serve({"--no-auth"}, {"WSAGENT_BROKER=redis://:pw@127.0.0.1:6379"});
  ASSERT_EQ(r.status, cli_status::ok) << r.message;
  EXPECT_TRUE(r.warnings.empty()) << "the environment is not world-readable";

  r = run_serve({"--no-auth", "--broker", "redis://127.0.0.1:6379"});
  EXPECT_TRUE(r.warnings.empty());
}

TEST(ServeWarnings, SettingsThatHaveNoEffect) {
  serve_run r = run_serve({"--no-auth", "--history-max-age", "1h"});
  ASSERT_EQ(r.status, cli_status::ok) << r.message;
  EXPECT_TRUE(r.warnings.empty()) << "both brokers drop history by age";

  r = run_serve({"--no-auth", "--redis-max-patterns", "8"});
  ASSERT_EQ(r.status, cli_status::ok) << r.message;
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_TRUE(contains(r.warnings[0], "apply to the Redis broker only"));

  r = run_serve({"--no-auth", "--broker", "redis://127.0.0.1:6379", "--history-max-bytes", "1g"});
  ASSERT_EQ(r.status, cli_status::ok) << r.message;
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_TRUE(contains(r.warnings[0], "--history-max-bytes applies to the embedded broker only"));

  r = run_serve({"--no-auth", "--jwks", "/k"});
  ASSERT_EQ(r.status, cli_status::ok) << r.message;
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_TRUE(contains(r.warnings[0], "--no-auth is set: the configured keys are ignored"));

  r = run_serve({"--no-auth", "--broker", "redis://127.0.0.1:6379", "--redis-max-reply-bytes",
                 "1MiB"});
  ASSERT_EQ(r.status, cli_status::ok) << r.message;
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_TRUE(contains(r.warnings[0], "--redis-max-reply-bytes (1MiB) is below a full history "
                                      "read"))
      << r.warnings[0];

  r = run_serve({"--no-auth", "--redis-max-reply-bytes", "1MiB"});
  ASSERT_EQ(r.status, cli_status::ok) << r.message;
  EXPECT_TRUE(r.warnings.empty()) << "the embedded broker reads no reply";
}

TEST(ServeWarnings, TestMailboxBytesIsReadWithTheConfiguration) {
  serve_run r = run_serve({"--no-auth", "--max-message-bytes", "1KiB"},
                          {"WSA_TEST_MAILBOX_BYTES=4096"});
  ASSERT_EQ(r.status, cli_status::ok) << r.message;
  EXPECT_EQ(r.cfg.test_mailbox_bytes, 4096u);
  EXPECT_TRUE(r.warnings.empty());

  for (const char* bad : {"WSA_TEST_MAILBOX_BYTES=5000", "WSA_TEST_MAILBOX_BYTES=2048"}) {
    r = run_serve({"--no-auth", "--max-message-bytes", "1KiB"}, {bad});
    ASSERT_EQ(r.status, cli_status::ok) << r.message;
    EXPECT_EQ(r.cfg.test_mailbox_bytes, 0u) << bad;
    ASSERT_EQ(r.warnings.size(), 1u) << bad;
    EXPECT_TRUE(contains(r.warnings[0], "ignored: a power of two from 4096")) << r.warnings[0];
  }
  r = run_serve({"--no-auth"}, {"WSA_TEST_MAILBOX_BYTES=4096"});
  EXPECT_EQ(r.cfg.test_mailbox_bytes, 0u) << "a 64 KiB record would not fit in half the ring";

  r = run_serve({"--no-auth"});
  EXPECT_EQ(r.cfg.test_mailbox_bytes, 0u);
}

TEST(ServeOptions, DeclarationShape) {
  const std::vector<option_info> options = list_options("serve");
  ASSERT_FALSE(options.empty());
  EXPECT_EQ(options[0].name, "config") << "--config is listed first, under General";
  std::set<std::string> names;
  for (const option_info& option : options) {
    EXPECT_TRUE(names.insert(option.name).second) << "duplicate --" << option.name;
    EXPECT_FALSE(option.help.empty()) << option.name;
    EXPECT_FALSE(option.group.empty()) << option.name;
    EXPECT_EQ(option.env, env_name(option.name)) << "every serve option has its variable";
    EXPECT_EQ(option.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz-"), std::string::npos)
        << option.name;
  }
}

TEST(EnvName, UppercasesAndReplacesDashes) {
  EXPECT_EQ(env_name("listen"), "WSAGENT_LISTEN");
  EXPECT_EQ(env_name("max-tags-per-connection"), "WSAGENT_MAX_TAGS_PER_CONNECTION");
  EXPECT_EQ(env_name("hmac-secret-file"), "WSAGENT_HMAC_SECRET_FILE");
}

}  // namespace
}  // namespace wsa
