// The Redis broker's scripts and key helpers; see redis_scripts.h.
// Lua in Redis 7 has doubles for numbers: seqs stay exact up to 2^53, and every number
// that goes into a string is formatted with %d (Lua's default would write 1e+14).
#include "broker/redis_scripts.h"

#include <algorithm>
#include <array>
#include <charconv>

namespace wsa {

namespace {

// A tag's epoch, the same in the publish and query scripts: reads `m` (HMGET of KEYS[1],
// 'e' first and 'g' third), `candidate` (a new epoch) and `generation`; defines `epoch`, a
// new one when Redis lost the tag (its history dropped, its seq restarted) or its
// generation changed.
constexpr char tag_epoch_lua[] = R"lua(local epoch = m[1]
if not epoch then
  epoch = candidate
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'e', epoch, 's', 0)
end
if generation ~= '' and m[3] ~= generation then
  epoch = candidate
  redis.call('HSET', KEYS[1], 'e', epoch, 'g', generation)
end
)lua";

// The tag's state read, the same in both publish scripts: `m` (epoch, last ts, generation,
// next refresh), `last` (0 for a tag Redis lost), then `epoch` (tag_epoch_lua).
constexpr char tag_state_lua[] = R"lua(
local m = redis.call('HMGET', KEYS[1], 'e', 't', 'g', 'r')
local last = m[1] and tonumber(m[2]) or 0
local candidate, generation = ARGV[3], ARGV[7]
)lua";

// The publish time, the same in both publish scripts: `now` (never before the tag's last
// ts), `ts` and `refresh` (the once-a-second registry and TTL refresh is due).
constexpr char publish_clock_lua[] = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if now < last then
  now = last
end
local ts = string.format('%d', now)
local refresh = not m[1] or now >= (tonumber(m[4]) or 0)
)lua";

// The tag's last ts written (`ts`), and when `refresh` is due the next one's time (`now` +
// 1 s), the same in both publish scripts.
constexpr char last_ts_write_lua[] = R"lua(if refresh then
  redis.call('HSET', KEYS[1], 't', ts, 'r', string.format('%d', now + 1000))
else
  redis.call('HSET', KEYS[1], 't', ts)
end
)lua";

// The tag registry's refresh, the same in both publish scripts (joined into each at compile
// time, so each script's text is whole): it reads `refresh`, `now`, `ttl`, KEYS[1] (the seq
// key), ARGV[9] (the registry prefix) and ARGV[10] (its cap).
constexpr char registry_refresh_lua[] = R"lua(if refresh and ARGV[9] ~= '' then
  local tag = string.sub(KEYS[1], 6, -6)
  local seg = string.match(tag, '^[^.]+')
  local reg = ARGV[9] .. 't:' .. seg
  if redis.call('ZADD', reg, now + 1000, tag) == 1 then
    local cap = tonumber(ARGV[10])
    if redis.call('ZCARD', reg) > cap then
      redis.call('ZREMRANGEBYRANK', reg, 0, -cap - 1)
    end
    redis.call('ZADD', ARGV[9] .. 'segs', now, seg)
    if redis.call('ZCARD', ARGV[9] .. 'segs') > cap then
      redis.call('ZREMRANGEBYRANK', ARGV[9] .. 'segs', 0, -cap - 1)
    end
  end
  redis.call('PEXPIRE', reg, ttl + 1000)
  redis.call('PEXPIRE', ARGV[9] .. 'segs', ttl + 1000)
end
)lua";

// The history's age trim, the same in both publish scripts: drops entries older than `age`
// ms before `now`, looking at the oldest 64 (a trim a call keeps up with the publishes).
constexpr char history_age_trim_lua[] = R"lua(
local old = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 64)
local cut = 0
for i = 1, #old do
  if tonumber(old[i][2][4]) >= now - age then
    break
  end
  cut = tonumber(string.match(old[i][1], '^(%d+)'))
end
if cut > 0 then
  redis.call('XTRIM', KEYS[2], 'MINID', string.format('%d-0', cut + 1))
end
)lua";

// The tag's keys' TTLs, set with the registry's refresh (at most once a second), the same
// in both publish scripts; defines `ttl`, which the registry refresh reads.
constexpr char key_ttl_refresh_lua[] = R"lua(local ttl = tonumber(ARGV[6])
if refresh then
  redis.call('PEXPIRE', KEYS[1], ttl + 1000)
  redis.call('PEXPIRE', KEYS[2], ttl + 1000)
end
)lua";

/// The texts joined, as one array (its last char the terminating NUL).
template <std::size_t... N>
constexpr std::array<char, (N + ...) - sizeof...(N) + 1> join_lua(const char (&... parts)[N]) {
  std::array<char, (N + ...) - sizeof...(N) + 1> out{};
  std::size_t at = 0;
  ((std::copy_n(parts, N - 1, out.begin() + static_cast<std::ptrdiff_t>(at)), at += N - 1), ...);
  return out;
}

template <std::size_t N>
constexpr std::string_view view_of(const std::array<char, N>& text) {
  return {text.data(), N - 1};
}

}  // namespace

constexpr auto publish_lua = join_lua(R"lua(
if #KEYS > 2 then
  local first = redis.call('GET', KEYS[3])
  if first then
    local s, t = string.match(first, '^(%d+) (%d+)$')
    return {tonumber(s), tonumber(t), 1}
  end
end
)lua", tag_state_lua, tag_epoch_lua, R"lua(
local seq = redis.call('HINCRBY', KEYS[1], 's', 1)
)lua", publish_clock_lua, last_ts_write_lua, R"lua(local keep = tonumber(ARGV[4])
if keep > 0 then
  local id = string.format('%d-0', seq)
  if not redis.call('XADD', KEYS[2], 'NOMKSTREAM', 'MAXLEN', keep, id, 'd', ARGV[2], 't', ts) then
    redis.call('XADD', KEYS[2], 'MAXLEN', keep, id, 'd', ARGV[2], 't', ts)
    refresh = true
  end
  local age = tonumber(ARGV[5])
  if age > 0 then
)lua", history_age_trim_lua, R"lua(  end
end
)lua", key_ttl_refresh_lua, R"lua(
redis.call('PUBLISH', ARGV[1], string.format('%d', seq) .. ' ' .. epoch .. ' ' .. ts .. ' ' ..
           ARGV[2])
if #KEYS > 2 then
  redis.call('SET', KEYS[3], string.format('%d', seq) .. ' ' .. ts, 'PX', ARGV[8])
end
)lua", registry_refresh_lua, R"lua(return {seq, now}
)lua");
const std::string_view redis_publish_script = view_of(publish_lua);

constexpr auto publish_batch_lua = join_lua(R"lua(
local seen = {}
local prior = {}
local k = 2
local nfresh = 0  -- messages that take a seq: no idem key, or a key's first use unheld
for i = 11, #ARGV, 2 do
  if ARGV[i + 1] ~= '' then
    k = k + 1
    local key = KEYS[k]
    if not seen[key] then
      seen[key] = true
      local first = redis.call('GET', key)
      if first then
        local s, t = string.match(first, '^(%d+) (%d+)$')
        prior[key] = {tonumber(s), tonumber(t)}
      else
        nfresh = nfresh + 1
      end
    end
  else
    nfresh = nfresh + 1
  end
end
local res = {}
if nfresh == 0 then
  k = 2
  for i = 11, #ARGV, 2 do
    k = k + 1
    local p = prior[KEYS[k]]
    res[#res + 1] = p[1]
    res[#res + 1] = p[2]
    res[#res + 1] = 1
  end
  return res
end
)lua", tag_state_lua, tag_epoch_lua, R"lua(
-- The seqs are taken first, as the publish script's HINCRBY does: Redis refuses a script's
-- writes (OOM, READONLY) at its first write, which must come before any PUBLISH (with no
-- history kept, the first write would otherwise follow the PUBLISHes).
local seq = redis.call('HINCRBY', KEYS[1], 's', nfresh) - nfresh
)lua", publish_clock_lua, R"lua(
local keep = tonumber(ARGV[4])
local head = ' ' .. epoch .. ' ' .. ts .. ' '
local mine = {}
k = 2
for i = 11, #ARGV, 2 do
  local key = nil
  if ARGV[i + 1] ~= '' then
    k = k + 1
    key = KEYS[k]
  end
  local p = key and (mine[key] or prior[key])
  if p then
    res[#res + 1] = p[1]
    res[#res + 1] = p[2]
    res[#res + 1] = 1
  else
    seq = seq + 1
    local s = string.format('%d', seq)
    if keep > 0 then
      local id = s .. '-0'
      if not redis.call('XADD', KEYS[2], 'NOMKSTREAM', id, 'd', ARGV[i], 't', ts) then
        redis.call('XADD', KEYS[2], id, 'd', ARGV[i], 't', ts)
        refresh = true
      end
    end
    redis.call('PUBLISH', ARGV[1], s .. head .. ARGV[i])
    if key then
      redis.call('SET', key, s .. ' ' .. ts, 'PX', ARGV[8])
      mine[key] = {seq, now}
    end
    res[#res + 1] = seq
    res[#res + 1] = now
    res[#res + 1] = 0
  end
end
)lua", last_ts_write_lua, R"lua(if keep > 0 then
  redis.call('XTRIM', KEYS[2], 'MAXLEN', keep)  -- once a call: cheaper than a trim an XADD
end
local age = tonumber(ARGV[5])
if keep > 0 and age > 0 then
)lua", history_age_trim_lua, R"lua(end
)lua", key_ttl_refresh_lua, registry_refresh_lua, R"lua(return res
)lua");
const std::string_view redis_publish_batch_script = view_of(publish_batch_lua);

constexpr auto query_lua = join_lua(R"lua(
local m = redis.call('HMGET', KEYS[1], 'e', 's', 'g')
local top = m[1] and tonumber(m[2]) or 0
local candidate, generation = ARGV[1], ARGV[10]
)lua", tag_epoch_lua, R"lua(local ttl = tonumber(ARGV[6]) + 1000
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
local res = {top, epoch, 0, 0}
if ARGV[2] == '1' then
  local after = tonumber(ARGV[3])
  if (ARGV[4] ~= '' and ARGV[4] ~= epoch) or after > top then
    after = 0
    res[3] = 1
  end
  if after < top then
    local count = tonumber(ARGV[7])
    local entries = redis.call('XRANGE', KEYS[2], string.format('%d-0', after + 1), '+',
                               'COUNT', count)
    if #entries == count and tonumber(string.match(entries[#entries][1], '^(%d+)')) < top then
      res[4] = 1
    end
    local first = 1
    local age = tonumber(ARGV[5])
    if age > 0 then
      local t = redis.call('TIME')
      local cutoff = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - age
      while first <= #entries and tonumber(entries[first][2][4]) < cutoff do
        first = first + 1
      end
    end
    if ARGV[11] ~= '' then
      local since_ts = tonumber(ARGV[11])
      local wanted = first
      while wanted <= #entries and tonumber(entries[wanted][2][4]) < since_ts do
        wanted = wanted + 1
      end
      if wanted > #entries then
        if first > #entries and (tonumber(redis.call('HGET', KEYS[1], 't')) or 0) >= since_ts then
          res[4] = 1
        end
      elseif wanted == first and tonumber(string.match(entries[first][1], '^(%d+)')) > 1 then
        res[4] = 1
      end
      first = wanted
    end
    local budget = tonumber(ARGV[8])
    local largest = tonumber(ARGV[9])
    for i = first, #entries do
      local data = entries[i][2][2]
      if #data > largest then
        res[4] = 1
      else
        budget = budget - #data
        if budget < 0 then
          res[4] = 1
          break
        end
        res[#res + 1] = tonumber(string.match(entries[i][1], '^(%d+)'))
        res[#res + 1] = tonumber(entries[i][2][4])
        res[#res + 1] = data
      end
    end
  end
end
return res
)lua");
const std::string_view redis_query_script = view_of(query_lua);

const std::string_view redis_candidates_script = R"lua(
local prefix = ARGV[1]
local min = ARGV[3] == '1' and ARGV[4] or '-inf'
local limit = tonumber(ARGV[5])
local cap = tonumber(ARGV[6])
local budget = tonumber(ARGV[7])
local ps = {}
for s in string.gmatch(ARGV[2], '[^.]+') do
  ps[#ps + 1] = s
end
local function matches(tag)
  local i = 0
  for s in string.gmatch(tag, '[^.]+') do
    i = i + 1
    local p = ps[i]
    if p == nil then
      return false
    end
    if p == '>' then
      return true
    end
    if p ~= '*' and p ~= s then
      return false
    end
  end
  return i == #ps
end
local res = {0}
local function read(key)
  if redis.call('ZCARD', key) >= cap then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    if oldest[2] and (ARGV[3] ~= '1' or tonumber(oldest[2]) >= tonumber(ARGV[4])) then
      res[1] = 1
    end
  end
  local found = redis.call('ZRANGEBYSCORE', key, min, '+inf', 'WITHSCORES', 'LIMIT', 0,
                           budget + 1)
  budget = budget - #found / 2
  if budget < 0 then
    res[1] = 1
  end
  return found
end
-- A tag's score is refreshed at most once a second, to a bound of its publishes until the
-- next refresh (now + 1000): one within a second of ts may not have been published since
-- ts. Its seq key's t (the last publish time) says.
local function since_ts(tag, score)
  if ARGV[3] ~= '1' or tonumber(score) >= tonumber(ARGV[4]) + 1000 then
    return true
  end
  local last = tonumber(redis.call('HGET', 'wsa:{' .. tag .. '}:seq', 't'))
  return last ~= nil and last >= tonumber(ARGV[4])
end
local segs = {string.match(ARGV[2], '^[^.]+')}
if ps[1] == '*' or ps[1] == '>' then
  -- every first segment ever registered (not scored by use: the oldest added is trimmed
  -- first, so a full set may have lost an active one)
  segs = redis.call('ZRANGE', prefix .. 'segs', 0, -1)
  if #segs >= cap then
    res[1] = 1
  end
end
for i = 1, #segs do
  if budget < 0 then
    break
  end
  local tags = read(prefix .. 't:' .. segs[i])
  for j = 1, #tags, 2 do
    if matches(tags[j]) and since_ts(tags[j], tags[j + 1]) then
      if #res > limit then
        res[1] = 1
        return res
      end
      res[#res + 1] = tags[j]
    end
  end
end
return res
)lua";

const std::string_view redis_presence_script = R"lua(
local pres, beats = KEYS[1], KEYS[2]
local channel, publish, op, node = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function event(joined, member, who)
  redis.call(publish, channel,
             'P' .. joined .. ' ' .. string.format('%d', #member) .. ' ' .. member .. who)
end
local function node_of(member)
  return string.match(member, '^(.*)|')
end
local function tidy()
  if redis.call('EXISTS', pres) == 0 then
    redis.call('DEL', beats)
  end
end
local dead = {}
local any = false
local b = redis.call('HGETALL', beats)
for i = 1, #b, 2 do
  if tonumber(b[i + 1]) < now then
    dead[b[i]] = true
    any = true
    redis.call('HDEL', beats, b[i])
  end
end
if any then
  local all = redis.call('HGETALL', pres)
  for i = 1, #all, 2 do
    if dead[node_of(all[i])] then
      redis.call('HDEL', pres, all[i])
      event('0', all[i], all[i + 1])
    end
  end
  tidy()
end
if op == 'q' then
  local count = redis.call('HLEN', pres)
  local out = {count}
  local limit = tonumber(ARGV[7])
  local room = tonumber(ARGV[8])
  if limit > 0 and count > 0 then
    local who = redis.call('HVALS', pres)
    for i = 1, math.min(limit, #who) do
      room = room - #who[i] - 1
      if room < 1 then
        break
      end
      out[#out + 1] = who[i]
    end
  end
  return out
end
if op == 'l' then
  local who = redis.call('HGET', pres, ARGV[9])
  if who then
    redis.call('HDEL', pres, ARGV[9])
    event('0', ARGV[9], who)
  end
  tidy()
  return 0
end
redis.call('HSET', beats, node, string.format('%d', now + tonumber(ARGV[5])))
if op == 's' then
  local listed = {}
  for i = 9, #ARGV, 2 do
    listed[ARGV[i]] = true
  end
  local all = redis.call('HGETALL', pres)
  for i = 1, #all, 2 do
    if node_of(all[i]) == node and not listed[all[i]] then
      redis.call('HDEL', pres, all[i])
      event('0', all[i], all[i + 1])
    end
  end
end
for i = 9, #ARGV, 2 do
  if redis.call('HSETNX', pres, ARGV[i], ARGV[i + 1]) == 1 then
    event('1', ARGV[i], ARGV[i + 1])
  end
end
redis.call('PEXPIRE', pres, ARGV[6])
redis.call('PEXPIRE', beats, ARGV[6])
tidy()
if dead[node] and op == 'r' then
  return 1
end
return 0
)lua";

const std::string_view redis_retain_script = R"lua(
local old = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] ~= '' and not old then
  if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) or
     (tonumber(redis.call('HGET', KEYS[2], 'b')) or 0) + #ARGV[1] + #ARGV[2] > tonumber(ARGV[4]) then
    return 0
  end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local last = tonumber(redis.call('HGET', KEYS[2], 't')) or 0
if now < last then
  now = last
end
local order = redis.call('HINCRBY', KEYS[2], 'n', 1)
redis.call('HSET', KEYS[2], 't', string.format('%d', now))
local stamp = string.format('%d', order) .. ' ' .. string.format('%d', now)
local delta = 0
if old then
  delta = -(#ARGV[1] + #old)
end
if ARGV[2] == '' then
  if old then
    redis.call('HDEL', KEYS[1], ARGV[1])
  end
  redis.call(ARGV[6], ARGV[5], ARGV[1] .. ' ' .. stamp)
else
  local value = stamp .. ' ' .. ARGV[2]
  redis.call('HSET', KEYS[1], ARGV[1], value)
  delta = delta + #ARGV[1] + #value
  redis.call(ARGV[6], ARGV[5], ARGV[1] .. ' ' .. value)
end
redis.call('HINCRBY', KEYS[2], 'b', delta)
return 1
)lua";

bool redis_parse_retained(std::string_view value, uint64_t& order, int64_t& ts_ms,
                          std::string_view& stored, bool& cleared) {
  const char* const end = value.data() + value.size();
  const auto [order_end, order_ec] = std::from_chars(value.data(), end, order);
  if (order_ec != std::errc() || order_end == end || *order_end != ' ') {
    return false;
  }
  const auto [ts_end, ts_ec] = std::from_chars(order_end + 1, end, ts_ms);
  if (ts_ec != std::errc() || ts_end == order_end + 1) {
    return false;
  }
  cleared = ts_end == end;
  if (!cleared && *ts_end != ' ') {
    return false;
  }
  stored = cleared ? std::string_view() : std::string_view(ts_end + 1, end - ts_end - 1);
  return true;
}

bool redis_channel_tag(std::string_view channel, std::string_view& tag) {
  if (channel.size() <= redis_key_prefix.size() + redis_channel_suffix.size() ||
      !channel.starts_with(redis_key_prefix) || !channel.ends_with(redis_channel_suffix)) {
    return false;
  }
  tag = channel.substr(redis_key_prefix.size(),
                       channel.size() - redis_key_prefix.size() - redis_channel_suffix.size());
  return true;
}

void redis_pattern_glob(std::string_view pattern, std::string& out) {
  out.assign(redis_key_prefix);
  std::size_t start = 0;
  while (start <= pattern.size()) {
    std::size_t dot = pattern.find('.', start);
    if (dot == std::string_view::npos) {
      dot = pattern.size();
    }
    const std::string_view segment = pattern.substr(start, dot - start);
    if (start != 0) {
      out.push_back('.');
    }
    if (segment == "*" || segment == ">") {
      // `*` of a glob also crosses dots: a superset of one segment, and exactly `>`'s
      // "one or more segments" (a tag has no empty segment).
      out.push_back('*');
    } else {
      for (const char c : segment) {
        if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') {
          out.push_back('\\');
        }
        out.push_back(c);
      }
    }
    start = dot + 1;
  }
  out.append(redis_channel_suffix);
}

bool redis_parse_presence(std::string_view payload, bool& joined, std::string_view& member,
                          std::string_view& who) {
  // "P1 <member bytes> <member><who>" (a join) or "P0 ..." (a leave).
  if (payload.size() < 4 || payload[0] != 'P' || (payload[1] != '0' && payload[1] != '1') ||
      payload[2] != ' ') {
    return false;
  }
  joined = payload[1] == '1';
  const std::size_t space = payload.find(' ', 3);
  std::size_t n = 0;
  if (space == std::string_view::npos ||
      std::from_chars(payload.data() + 3, payload.data() + space, n).ptr !=
          payload.data() + space ||
      n == 0 || n > payload.size() - space - 1) {
    return false;
  }
  member = payload.substr(space + 1, n);
  who = payload.substr(space + 1 + n);
  return !who.empty() && who.front() == '{';
}

bool redis_parse_live(std::string_view payload, uint64_t& seq, std::string_view& epoch,
                      int64_t& ts_ms, std::string_view& data) {
  const std::size_t space1 = payload.find(' ');
  if (space1 == std::string_view::npos || space1 == 0) {
    return false;
  }
  const auto [end, ec] = std::from_chars(payload.data(), payload.data() + space1, seq);
  if (ec != std::errc() || end != payload.data() + space1) {
    return false;
  }
  const std::size_t space2 = payload.find(' ', space1 + 1);
  if (space2 == std::string_view::npos) {
    return false;
  }
  epoch = payload.substr(space1 + 1, space2 - space1 - 1);
  const std::size_t space3 = payload.find(' ', space2 + 1);
  if (space3 == std::string_view::npos) {
    return false;
  }
  const auto [ts_end, ts_ec] =
      std::from_chars(payload.data() + space2 + 1, payload.data() + space3, ts_ms);
  if (ts_ec != std::errc() || ts_end != payload.data() + space3) {
    return false;
  }
  data = payload.substr(space3 + 1);
  return true;
}

}  // namespace wsa
