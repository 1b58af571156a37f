// Help texts. See help.h.
#include "cli/help.h"

#include "cli/options.h"
#include "cli/tool_args.h"

namespace wsa {
namespace {

constexpr std::size_t help_width = 80;
constexpr std::size_t help_indent = 6;

}  // namespace

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

std::string render_options(std::span<const option_help> options, std::string_view help_group) {
  const std::string help_entry =
      "  -h, --help\n" + wrap_text("Print this help.", help_indent, help_width);
  std::string out;
  std::string_view group;
  bool help_listed = false;
  for (const option_help& o : options) {
    if (o.group != group) {
      if (group == help_group) {
        out += help_entry;
        help_listed = true;
      }
      group = o.group;
      out += "\n" + std::string(group) + ":\n";
    }
    out += "  --" + std::string(o.name);
    if (!o.value_name.empty()) {
      out += " " + std::string(o.value_name);
    }
    out += '\n';
    std::string text(o.help);
    if (o.repeatable) {
      text += " Repeatable.";
    }
    std::string notes;
    if (!o.default_text.empty()) {
      notes += "[default: " + o.default_text + "]";
    }
    if (!o.env.empty()) {
      notes += (notes.empty() ? "" : " ") + std::string("[env: ") + o.env + "]";
    }
    out += wrap_text(text, help_indent, help_width);
    if (!notes.empty()) {
      out += wrap_text(notes, help_indent, help_width);
    }
  }
  if (!help_listed) {
    if (group != help_group) {
      out += "\n" + std::string(help_group) + ":\n";
    }
    out += help_entry;
  }
  return out;
}

std::string top_level_help() {
  return R"(wsagent: a real-time messaging server. Clients connect over WebSocket, prove
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
)";
}

std::string serve_help() {
  std::string out = R"(Usage: wsagent serve [OPTIONS]

Runs one wsagent node: WebSocket pub/sub at GET /ws (subprotocol wsagent.v1),
and GET /healthz, GET /readyz, GET /metrics and POST /api/publish, all on the
--listen address.

Every option can also be set by its environment variable (env, below) or by its
name in the config file. Command-line flags win over environment variables,
which win over the config file, which wins over the defaults. Empty environment
variables count as unset.
)";
  out += render_table(serve_options(), config{}, true, "General");
  out += R"(
Values:
  DURATION  Whole numbers with units ms, s, m, h, d: 250ms, 5s, 1m30s, 2h.
            A bare number means milliseconds, except for --history-max-age
            and --token-leeway, where it means seconds.
  SIZE      Bytes with an optional binary suffix, any case: 512, 64k
            (= 64KiB = 65536 bytes), 1m, 1MiB, 1g.
  Flags     On the command line the name alone (--no-auth) or --no-auth=false;
            in the environment and the config file: true/false, 1/0, yes/no
            or on/off.

Config file example (wsagent serve --config /etc/wsagent/wsagent.conf):
  # one option per line; quotes around a value are optional
  listen = 0.0.0.0:8080
  broker = redis://:PASSWORD@10.0.0.5:6379/0
  jwks = /etc/wsagent/jwks.json
  max-message-bytes = 256k
  idle-timeout = 2m
)";
  return out;
}

std::string keygen_help() {
  std::string out = R"(Usage: wsagent keygen --out-private FILE --out-jwks FILE [--kid ID] [--force]

Writes a new Ed25519 key pair: the private key, which signs tokens (keep it
secret), and the public key as a JSON Web Key Set, which the server verifies
tokens with.
)";
  out += render_table(keygen_options(), keygen_args{}, false, "Other");
  out += R"(
Example:
  wsagent keygen --out-private key.jwk --out-jwks jwks.json
  wsagent serve --jwks jwks.json
)";
  return out;
}

std::string token_help() {
  std::string out =
      R"(Usage: wsagent token (--key FILE | --hmac-secret-file FILE) --sub ID
         [--pub PATTERN]... [--subscribe PATTERN]... [--ttl DURATION] [--kid ID]

Prints a signed JSON Web Token on stdout. Clients present it in an
Authorization: Bearer header, as ?token= on the WebSocket URL, or in their first
`auth` frame. Patterns are tags with wildcards: `*` matches one segment, `>` as
the last segment matches one or more.
)";
  out += render_table(token_options(), token_args{}, false, "Other");
  out += R"(
Example:
  wsagent token --key key.jwk --sub alice --pub 'chat.*' \
                --subscribe 'chat.>' --ttl 1h
)";
  return out;
}

}  // namespace wsa
