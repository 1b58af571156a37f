#include "ws/msg_frame.h"

#include "json/writer.h"
#include "ws/frame.h"

namespace wsa {

frame* ws_msg_frame(message& m) {
  if (frame* cached = m.encoded(ws_v1_encoding)) {
    return cached;
  }
  const std::size_t json_size = msg_json_size(m.tag(), m.seq(), m.ts_ms(), m.data());
  const std::size_t header = frame_header_size(json_size);
  frame* f = frame::allocate(header + json_size);
  write_frame_header(f->data(), ws_opcode::text, json_size);
  write_msg_json(f->data() + header, m.tag(), m.seq(), m.ts_ms(), m.data());
  m.set_encoded(ws_v1_encoding, f);
  f->unref();  // the message holds it
  return f;
}

}  // namespace wsa
