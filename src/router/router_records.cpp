// The router's records from other shards (router/records.h): each decoded and handed to
// the owner side or the subscriber side; a record that does not decode is a bug, dropped
// and counted.
#include "router/router.h"

#include "obs/log.h"
#include "router/records.h"

namespace wsa {

template <class R>
bool router::read(std::string_view bytes, R& record) {
  if (read_record(bytes, record)) {
    return true;
  }
  // Every record comes from this process's own shards: one that does not parse is a bug.
  ++bad_records_;
  WSA_LOG(error, "malformed record between shards dropped")
      .kv("type", R::type)
      .kv("bytes", bytes.size());
  return false;
}

void router::on_record(unsigned from, uint32_t type, std::string_view bytes) {
  switch (type) {
    case records::publish::type: {
      records::publish r;
      if (!read(bytes, r)) {
        return;
      }
      if (mail_.any_backlogged() && fanout_backlogged(r.tag)) [[unlikely]] {
        // Its copies would wait behind a full backlog to a peer: refused, not queued.
        metrics_.shard_backlog_refusals.add();
        send(from, records::published{r.from, 0, 0, false, r.request_id, "unavailable"});
        return;
      }
      owner_publish(from, r.from, r.request_id, r.tag, r.data, r.idem, r.meta);
      return;
    }
    case records::published::type: {
      records::published r;
      if (read(bytes, r)) {
        client_.published(r.to, r.request_id,
                          publish_outcome{r.ok, r.seq, r.ts_ms, r.error, r.dup});
      }
      return;
    }
    case records::deliver::type: {
      records::deliver r;
      if (read(bytes, r) && r.scope <= static_cast<uint8_t>(delivery_scope::patterns)) {
        // This shard's own message: its reference count never crosses threads.
        message_ref m =
            message_ref::adopt(message::make(r.tag, r.seq, r.ts_ms, r.data, r.meta));
        fan_out(*m, static_cast<delivery_scope>(r.scope));
      }
      return;
    }
    case records::query::type: {
      records::query r;
      if (read(bytes, r)) {
        owner_query(from, r.from, r.request, r.key,
                    since_request{r.has_since, r.since_seq, r.since_epoch, r.max_bytes});
      }
      return;
    }
    case records::replay::type: {
      records::replay r;
      if (read(bytes, r)) {
        message_ref m =
            message_ref::adopt(message::make(r.tag, r.seq, r.ts_ms, r.data, r.meta));
        pending_.on_replay(r.to, r.request, r.key, *m);
      }
      return;
    }
    case records::queried::type: {
      records::queried r;
      if (read(bytes, r)) {
        on_answer(r.to, r.request, r.key, r.ok, r.top, r.epoch, r.gap);
      }
      return;
    }
    case records::pattern_query::type: {
      records::pattern_query r;
      if (read(bytes, r)) {
        owner_query_pattern(from, r);
      }
      return;
    }
    case records::pattern_position::type: {
      records::pattern_position r;
      if (read(bytes, r)) {
        pending_.on_pattern_position(r.to, r.request, r.key, r.tag, r.top, r.epoch, r.gap);
      }
      return;
    }
    case records::interest::type: {
      records::interest r;
      if (read(bytes, r)) {
        apply_interest(from, r.key, r.added);
      }
      return;
    }
    case records::gap::type: {
      records::gap r;
      if (read(bytes, r)) {
        notify_gap(r.key);
      }
      return;
    }
    default:
      if (on_presence_record(from, type, bytes)) {
        return;
      }
      ++bad_records_;
      WSA_LOG(error, "record of unknown type between shards dropped").kv("type", type);
      return;
  }
}

// The presence records, read in router_presence.cpp.
template bool router::read(std::string_view, records::presence_change&);
template bool router::read(std::string_view, records::presence_event&);
template bool router::read(std::string_view, records::presence_query&);
template bool router::read(std::string_view, records::presence_listed&);

}  // namespace wsa
