// MQTT payloads <-> wsagent `data` (docs/protocol.md, "MQTT mapping"). MQTT payloads are bytes;
// `data` is JSON. Publishing over MQTT:
//   - a payload that is valid JSON is `data` as it is (byte for byte, whitespace included);
//   - other valid UTF-8 becomes a JSON string of it;
//   - any other bytes become {"$b64":"<standard base64 with padding>"}.
// Delivering to MQTT, the bytes are taken back from `data`:
//   - a JSON string gives its content, unescaped;
//   - an object with the single member "$b64" holding valid base64 gives the decoded bytes;
//   - any other JSON gives its text as it is.
// So every payload published over MQTT reaches MQTT subscribers unchanged, except payloads
// that are themselves a JSON string or a {"$b64":...} object: those arrive decoded (this is
// what lets WebSocket clients send text and bytes to devices). JSON nested deeper than the
// command parser accepts (64) is treated as text. Pure functions: any thread.
#pragma once

#include <string>
#include <string_view>

namespace wsa::mqtt {

enum class payload_kind : unsigned char { json, text, binary };

payload_kind classify_payload(std::string_view payload);

/// The `data` for an MQTT payload: a view of `payload` itself when it is JSON (no copy),
/// else of `scratch`, which receives the JSON string or the $b64 object.
std::string_view payload_to_data(std::string_view payload, std::string& scratch);

/// The MQTT payload for `data` (valid JSON): a view into `data` when the bytes are its text
/// or a string without escapes, else into `scratch`.
std::string_view data_to_payload(std::string_view data, std::string& scratch);

}  // namespace wsa::mqtt
