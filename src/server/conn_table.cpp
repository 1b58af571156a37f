#include "server/conn_table.h"

#include "core/op.h"

namespace wsa {

conn* conn_table::acquire() {
  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    if (size_ % chunk_size == 0) {
      chunks_.push_back(std::make_unique<conn[]>(chunk_size));
    }
    slot = size_++;
  }
  conn& c = at(slot);
  const uint32_t generation = (c.generation + 1) & generation_mask;
  c.~conn();
  new (&c) conn();
  c.slot = slot;
  c.generation = generation;
  ++live_;
  return &c;
}

void conn_table::release(conn* c) {
  c->fd = -1;
  c->state = conn_state::dead;
  c->out.clear();
  c->ws.perms.reset();
  free_.push_back(c->slot);
  --live_;
}

}  // namespace wsa
