// Help texts and their layout. See help.h.
#include "cli/help.h"

#include <CLI/CLI.hpp>

namespace wsa {
namespace {

constexpr std::size_t help_width = 80;
constexpr std::size_t help_indent = 6;

struct command_text {
  std::string_view name;
  std::string_view summary;
  std::string_view header;
  std::string_view footer;
};

constexpr command_text texts[] = {
    {"", "",
     R"(wsagent: a real-time messaging server. Clients connect over WebSocket, prove
who they are with a signed token, subscribe to tags and publish to them; every
message published to a tag reaches every subscriber of that tag, on this node or
any node of the cluster.

Usage:
  wsagent <command> [options]

Commands:
  serve     Run a server node: WebSocket pub/sub, health, metrics, HTTP publish
  keygen    Write a new Ed25519 key pair (private JWK, public JWKS for serve)
  token     Print a signed token (JWT) that lets a client publish and subscribe
  version   Print the version

Run 'wsagent <command> --help' or 'wsagent help <command>' for its options.
Quick start: wsagent serve --listen 127.0.0.1:8080 --no-auth
More: README.md in the source tree (build, run, architecture, wire protocol).
)",
     ""},
    {"serve", "Run a server node: WebSocket pub/sub, health, metrics, HTTP publish",
     R"(Usage: wsagent serve [OPTIONS]

Runs one wsagent node: WebSocket pub/sub at GET /ws (subprotocol wsagent.v1),
and GET /healthz, GET /readyz, GET /metrics and POST /api/publish, all on the
--listen address.

Every option can also be set by its environment variable (env, below) or by its
name in the config file. Command-line flags win over environment variables,
which win over the config file, which wins over the defaults. Empty environment
variables count as unset.
)",
     R"(
Values:
  DURATION  Whole numbers with units ms, s, m, h, d: 250ms, 5s, 1m30s, 2h.
            A bare number means milliseconds, except for --history-max-age,
            --redis-key-ttl and --token-leeway, where it means seconds.
  SIZE      Bytes with an optional binary suffix, any case: 512, 64k
            (= 64KiB = 65536 bytes), 1m, 1MiB, 1g.
  Flags     On the command line the name alone (--no-auth) or --no-auth=false;
            in the environment and the config file: true/false, 1/0, yes/no
            or on/off.

Config file example (wsagent serve --config /etc/wsagent/wsagent.conf):
  # one option per line; a line starting with # or ; is a comment;
  # quotes around a value are optional
  listen = 0.0.0.0:8080
  broker = redis://:PASSWORD@10.0.0.5:6379/0
  jwks = /etc/wsagent/jwks.json
  max-message-bytes = 256k
  idle-timeout = 2m
)"},
    {"keygen", "Write a new Ed25519 key pair (private JWK, public JWKS for serve)",
     R"(Usage: wsagent keygen --out-private FILE --out-jwks FILE [--kid ID] [--force]

Writes a new Ed25519 key pair: the private key, which signs tokens (keep it
secret), and the public key as a JSON Web Key Set, which the server verifies
tokens with.
)",
     R"(
Example:
  wsagent keygen --out-private key.jwk --out-jwks jwks.json
  wsagent serve --jwks jwks.json
)"},
    {"token", "Print a signed token (JWT) that lets a client publish and subscribe",
     R"(Usage: wsagent token (--key FILE | --hmac-secret-file FILE) --sub ID
         [--pub PATTERN]... [--subscribe PATTERN]... [--ttl DURATION] [--kid ID]

Prints a signed JSON Web Token on stdout. Clients present it in an
Authorization: Bearer header, as ?token= on the WebSocket URL, or in their first
`auth` frame. Patterns are tags with wildcards: `*` matches one segment, `>` as
the last segment matches one or more.
)",
     R"(
Example:
  wsagent token --key key.jwk --sub alice --pub 'chat.*' \
                --subscribe 'chat.>' --ttl 1h
)"},
    {"version", "Print the version", "Usage: wsagent version\n\nPrints the version of this binary.\n",
     ""},
};

const command_text& text_of(std::string_view command) {
  for (const command_text& t : texts) {
    if (t.name == command) {
      return t;
    }
  }
  return texts[0];
}

// Header, then each group of options in the order they were declared:
//   --name VALUE
//       Help text, wrapped. Repeatable.
//       [default: 64KiB] [env: WSAGENT_NAME]
// then the footer. The top level lists no options (its header lists the commands).
class help_formatter : public CLI::Formatter {
 public:
  explicit help_formatter(const command_text& text) : text_(text) {}

  std::string make_help(const CLI::App* app, std::string, CLI::AppFormatMode) const override {
    std::string out(text_.header);
    for (const std::string& group : app->get_groups()) {
      const auto options = app->get_options([&group](const CLI::Option* option) {
        return option->get_group() == group && option->nonpositional();
      });
      if (group.empty() || options.empty()) {
        continue;
      }
      out += "\n" + group + ":\n";
      for (const CLI::Option* option : options) {
        out += make_option(option, false);
      }
    }
    return out + std::string(text_.footer);
  }

  std::string make_option(const CLI::Option* option, bool) const override {
    std::string names;
    for (const std::string& name : option->get_snames()) {
      names += (names.empty() ? "-" : ", -") + name;
    }
    for (const std::string& name : option->get_lnames()) {
      names += (names.empty() ? "--" : ", --") + name;
    }
    std::string out = "  " + names;
    if (option->get_expected_min() > 0 && !option->get_type_name().empty()) {
      out += " " + option->get_type_name();
    }
    std::string help = option->get_description();
    if (option->get_multi_option_policy() == CLI::MultiOptionPolicy::TakeAll) {
      help += " Repeatable.";
    }
    std::string notes;
    if (!option->get_default_str().empty()) {
      notes = "[default: " + option->get_default_str() + "]";
    }
    if (!option->get_envname().empty()) {
      notes += (notes.empty() ? "[env: " : " [env: ") + option->get_envname() + "]";
    }
    out += "\n" + wrap_text(help, help_indent, help_width);
    return notes.empty() ? out : out + wrap_text(notes, help_indent, help_width);
  }

 private:
  const command_text& text_;
};

}  // namespace

void set_help(CLI::App& app, std::string_view command) {
  app.formatter(std::make_shared<help_formatter>(text_of(command)));
}

std::string_view command_summary(std::string_view command) { return text_of(command).summary; }

std::string wrap_text(std::string_view text, std::size_t indent, std::size_t width) {
  std::string out;
  std::size_t column = 0;
  while (!text.empty()) {
    const std::size_t space = text.find(' ');
    const std::string_view word = text.substr(0, space);
    text.remove_prefix(space == std::string_view::npos ? text.size() : space + 1);
    if (word.empty()) {
      continue;
    }
    if (column > indent && column + 1 + word.size() > width) {
      out += '\n';
      column = 0;
    }
    if (column == 0) {
      out.append(indent, ' ');
      column = indent;
    } else {
      out += ' ';
      ++column;
    }
    out += word;
    column += word.size();
  }
  out += '\n';
  return out;
}

}  // namespace wsa
