#include "detectors/ranger_decoder.h"

#include <simdjson.h>

#include <bit>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include "detectors/grant_statement_parser.h"
#include "detectors/json_guard.h"
#include "detectors/json_record.h"
#include "detectors/sql_lexer.h"
#include "detectors/time_parse.h"

namespace sevwatch::detectors {
namespace {

namespace od = simdjson::ondemand;

constexpr std::int64_t kRepoTypeHdfs = 1;
constexpr std::int64_t kRepoTypeHive = 3;

// The fields we use, as views into the parser's string buffer (valid until
// the next parse).
struct RangerFields {
  std::int64_t repo_type = -1;
  bool has_result = false;
  std::int64_t result = 0;
  bool has_policy = false;
  std::int64_t policy = 0;
  std::string_view repo, req_user, evt_time, access, resource, res_type, sess, cli_ip, req_data, id;
  // Some top-level value is an object or array: only then can the record
  // nest deeper than the limit.
  bool nested = false;
};

// The first '"' or '\\' at or after `p`, 8 bytes at a time. The caller knows
// one comes before the record ends (a JSON string is closed: simdjson's
// stage 1 checked) and that 7 bytes more are readable (the padding).
const char* quote_or_backslash(const char* p) {
  if constexpr (std::endian::native == std::endian::little) {
    constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
    constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
    for (;; p += 8) {
      std::uint64_t w = 0;
      std::memcpy(&w, p, sizeof w);
      const std::uint64_t q = w ^ (kOnes * '"');
      const std::uint64_t b = w ^ (kOnes * '\\');
      // The lowest high bit set marks the first zero byte of q or b.
      const std::uint64_t hit = ((q - kOnes) & ~q & kHigh) | ((b - kOnes) & ~b & kHigh);
      if (hit != 0) return p + (std::countr_zero(hit) >> 3);
    }
  } else {
    while (*p != '"' && *p != '\\') ++p;
    return p;
  }
}

simdjson::error_code read_string(od::value& v, std::string_view& out) {
  od::json_type type;
  if (auto e = v.type().get(type)) return e;
  if (type == od::json_type::string) {
    // Without a backslash the string is its own text: a view into the input
    // copy, no unescaping (simdjson's stage 1 has validated its bytes).
    const char* body = v.raw_json_token().data() + 1;  // after the opening quote
    const char* end = quote_or_backslash(body);
    if (*end == '"') {
      out = std::string_view(body, static_cast<std::size_t>(end - body));
      return simdjson::SUCCESS;
    }
    return v.get_string().get(out);
  }
  if (type == od::json_type::number || type == od::json_type::boolean) {
    out = trim_json_ws(v.raw_json_token());
  }
  return simdjson::SUCCESS;  // null, objects and arrays: treated as absent
}

simdjson::error_code read_int(od::value& v, std::int64_t& out, bool& present) {
  od::json_type type;
  if (auto e = v.type().get(type)) return e;
  if (type == od::json_type::number) {
    if (v.get_int64().get(out) == simdjson::SUCCESS) {
      present = true;
      return simdjson::SUCCESS;
    }
    double d = 0;
    if (auto e = v.get_double().get(d)) return e;
    out = static_cast<std::int64_t>(d);
    present = true;
  } else if (type == od::json_type::string) {
    std::string_view s;
    if (auto e = v.get_string().get(s)) return e;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    present = ec == std::errc() && ptr == s.data() + s.size();
  }
  return simdjson::SUCCESS;
}

simdjson::error_code read_fields(od::object& obj, RangerFields& f) {
  for (auto field_result : obj) {
    // References, not copies: GCC copies simdjson's field/value structs
    // through the stack in a way that stalls store forwarding, twice a field.
    if (auto e = field_result.error()) return e;
    od::field& field = field_result.value_unsafe();
    // Keys are compared as written unless they hold an escape: no copy.
    const char* raw_key = field.key().raw();
    const char* key_end = quote_or_backslash(raw_key);
    std::string_view key(raw_key, static_cast<std::size_t>(key_end - raw_key));
    if (*key_end == '\\') {
      if (auto e = field.unescaped_key().get(key)) return e;
    }
    od::value& v = field.value();
    od::json_type type;
    if (v.type().get(type) == simdjson::SUCCESS &&
        (type == od::json_type::object || type == od::json_type::array)) {
      f.nested = true;
    }
    simdjson::error_code e = simdjson::SUCCESS;
    bool ignored = false;
    switch (key.size()) {
      case 2:
        if (key == "id") e = read_string(v, f.id);
        break;
      case 4:
        if (key == "repo")
          e = read_string(v, f.repo);
        else if (key == "sess")
          e = read_string(v, f.sess);
        break;
      case 5:
        if (key == "cliIP") e = read_string(v, f.cli_ip);
        break;
      case 6:
        if (key == "access")
          e = read_string(v, f.access);
        else if (key == "result")
          e = read_int(v, f.result, f.has_result);
        else if (key == "policy")
          e = read_int(v, f.policy, f.has_policy);
        break;
      case 7:
        if (key == "reqUser")
          e = read_string(v, f.req_user);
        else if (key == "evtTime")
          e = read_string(v, f.evt_time);
        else if (key == "reqData")
          e = read_string(v, f.req_data);
        else if (key == "resType")
          e = read_string(v, f.res_type);
        break;
      case 8:
        if (key == "repoType")
          e = read_int(v, f.repo_type, ignored);
        else if (key == "resource")
          e = read_string(v, f.resource);
        break;
      default:
        break;
    }
    if (e) return e;
  }
  return simdjson::SUCCESS;
}

// Splits "db/table/col1,col2" (Hive's resource, '/'-joined in service-def
// order); trailing "*" parts (Ranger's fill for a grant on a container) drop.
struct HivePath {
  std::string_view db, table, columns;
};

HivePath split_hive_resource(std::string_view resource) {
  HivePath p;
  std::string_view* slots[] = {&p.db, &p.table, &p.columns};
  std::size_t i = 0;
  while (i < 3) {
    const auto slash = i < 2 ? resource.find('/') : std::string_view::npos;
    *slots[i++] = resource.substr(0, slash);
    if (slash == std::string_view::npos) break;
    resource.remove_prefix(slash + 1);
  }
  if (p.columns == "*") p.columns = {};
  if (p.table == "*" || p.table.empty()) {
    p.table = {};
    p.columns = {};
  }
  if (p.db == "*") p.db = {};
  return p;
}

void hive_object(std::string_view repo, std::string_view resource, std::string_view res_type,
                 ObjectRef& out) {
  if (res_type == "@url") {  // a storage location, not a table
    out.name.assign(resource);
    out.level = ObjectLevel::none;
    return;
  }
  const HivePath p = split_hive_resource(resource);
  out.name.reserve(repo.size() + resource.size() + 2);
  out.name.assign(repo);
  out.level = ObjectLevel::catalog;
  if (!p.db.empty()) {
    out.name.push_back('.');
    out.name.append(p.db);
    out.level = ObjectLevel::schema;
    if (!p.table.empty()) {
      out.name.push_back('.');
      out.name.append(p.table);
      // A UDF is named like a table but is not a data object.
      out.level = res_type == "@udf" ? ObjectLevel::none : ObjectLevel::table;
      out.columns.assign(p.columns);
    }
  }
}

// Case-insensitive match against an ASCII keyword (`b`). Like iequals, but
// without toupper's locale lookup: a non-ASCII byte never matches either way.
bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto x = static_cast<unsigned char>(a[i]);
    const auto y = static_cast<unsigned char>(b[i]);
    const auto ux = x >= 'a' && x <= 'z' ? x - 32 : x;
    const auto uy = y >= 'a' && y <= 'z' ? y - 32 : y;
    if (ux != uy) return false;
  }
  return true;
}

// A JSON value other than an object: an array or string (balanced, already
// checked by the shape scan), a literal or a number. Cheap, not a full parse.
bool is_json_non_object(std::string_view v) {
  if (v[0] == '[' || v[0] == '"') return true;
  if (v == "null" || v == "true" || v == "false") return true;
  return v.find_first_not_of("0123456789+-.eE") == std::string_view::npos &&
         (v[0] == '-' || (v[0] >= '0' && v[0] <= '9'));
}

class RangerDecoder final : public Decoder {
 public:
  explicit RangerDecoder(const DecoderOptions& options) : opts_(options) {}

  std::string_view name() const override { return kRangerAuditFormat; }

  void decode_line(std::string_view raw, const SourcePos& pos, EventSink& sink) override {
    decode(raw, pos, sink, /*padded=*/false);
  }
  void decode_padded_line(std::string_view raw, const SourcePos& pos, EventSink& sink) override {
    decode(raw, pos, sink, /*padded=*/true);
  }

 private:
  // `padded`: kLinePadding readable bytes follow `raw` (trimming only adds
  // to them), so simdjson reads the record where it lies.
  void decode(std::string_view raw, const SourcePos& pos, EventSink& sink, bool padded) {
    static_assert(kLinePadding >= simdjson::SIMDJSON_PADDING);
    const std::string_view line = trim_json_ws(raw);
    if (line.empty()) return;
    if (line.size() > opts_.max_line_bytes) {
      return reject(sink, weird::kLineTooLong, pos,
                    "record of " + std::to_string(line.size()) + " bytes");
    }
    if (line[0] != '{') {
      if (!simdjson::validate_utf8(line.data(), line.size())) {
        return reject(sink, weird::kInvalidUtf8, pos, "record is not valid UTF-8");
      }
      if (!shape_ok(line, pos, sink)) return;
      if (is_json_non_object(line)) {
        return reject(sink, weird::kNotAnObject, pos, "top-level JSON value is not an object");
      }
      return reject(sink, weird::kInvalidJson, pos, "not JSON");
    }

    simdjson::padded_string_view view;
    if (padded) {
      view = simdjson::padded_string_view(line.data(), line.size(),
                                          line.size() + simdjson::SIMDJSON_PADDING);
    } else {
      if (buf_.size() < line.size() + simdjson::SIMDJSON_PADDING) {
        buf_.resize(line.size() + simdjson::SIMDJSON_PADDING);
      }
      std::memcpy(buf_.data(), line.data(), line.size());
      view = simdjson::padded_string_view(buf_.data(), line.size(), buf_.size());
    }

    RangerFields f;
    od::document doc;
    od::object obj;
    // simdjson's stage 1 validates UTF-8 for the whole record, so a record it
    // accepts needs no separate check; a rejected one is checked again below
    // to name the reason (invalid_utf8, then the shape, then invalid_json).
    simdjson::error_code err = parser_.iterate(view).get(doc);
    if (!err) err = doc.get_object().get(obj);
    if (!err) err = read_fields(obj, f);
    if (!err) {
      const char* loc = nullptr;
      if (doc.current_location().get(loc) != simdjson::OUT_OF_BOUNDS) {
        err = simdjson::TRAILING_CONTENT;
      }
    }
    if (err) {
      if (!simdjson::validate_utf8(line.data(), line.size())) {
        return reject(sink, weird::kInvalidUtf8, pos, "record is not valid UTF-8");
      }
      if (!shape_ok(line, pos, sink)) return;
      return reject(sink, weird::kInvalidJson, pos, simdjson::error_message(err));
    }
    // A record with no object or array value is one level deep; one with
    // fewer brackets than the depth limit cannot nest too deep either. Only
    // the rest need the (slower) shape scan.
    if (f.nested && count_open_brackets(line) > opts_.max_depth && !shape_ok(line, pos, sink)) {
      return;
    }
    build(f, pos, sink);
  }

  // Reports nesting_too_deep / truncated_json and returns false for such lines.
  bool shape_ok(std::string_view line, const SourcePos& pos, EventSink& sink) {
    switch (scan_json_shape(line, opts_.max_depth)) {
      case JsonShape::too_deep:
        reject(sink, weird::kNestingTooDeep, pos,
               "nesting deeper than " + std::to_string(opts_.max_depth));
        return false;
      case JsonShape::truncated:
        reject(sink, weird::kTruncatedJson, pos, "record ends inside a string or object");
        return false;
      case JsonShape::ok:
        break;
    }
    return true;
  }

  void reject(EventSink& sink, std::string_view reason, const SourcePos& pos, std::string detail) {
    sink.on_weird(Weird{reason, pos, std::move(detail)});
  }

  void build(const RangerFields& f, const SourcePos& pos, EventSink& sink) {
    const char* missing = f.evt_time.empty()   ? "evtTime"
                          : f.req_user.empty() ? "reqUser"
                          : f.access.empty()   ? "access"
                                               : nullptr;
    if (missing != nullptr) {
      return reject(sink, weird::kMissingField, pos,
                    std::string("missing field '") + missing + "'");
    }
    std::int64_t wall_ms = 0;
    if (parse_civil_time(f.evt_time, wall_ms) != f.evt_time.size()) {
      return reject(sink, weird::kBadTimestamp, pos,
                    "evtTime '" + std::string(f.evt_time) + "' is not yyyy-MM-dd HH:mm:ss.SSS");
    }
    const bool hdfs = f.repo_type == kRepoTypeHdfs;

    // One event per decoder, reused: its strings keep their capacity unless
    // the sink moves them away.
    AccessEvent& ev = ev_;
    reset_event(ev);
    ev.time_ms = wall_ms - static_cast<std::int64_t>(opts_.assumed_utc_offset_minutes) * 60000;
    ev.time_zone_assumed = true;
    ev.format.assign(kRangerAuditFormat);
    ev.pos = pos;
    ev.event_uid.assign(f.id);
    ev.principal.assign(f.req_user);
    ev.operation.assign(f.access);
    ev.action = ranger_access_to_action(f.access, hdfs);
    if (f.has_result) ev.result = f.result == 0 ? Result::denied : Result::allowed;
    ev.client_ip.assign(f.cli_ip);
    ev.query.assign(f.req_data);
    ev.session.assign(f.sess);
    if (f.has_policy) {
      char digits[24];
      const auto r = std::to_chars(digits, digits + sizeof digits, f.policy);
      ev.policy.assign(digits, r.ptr);
    }

    if (!f.resource.empty()) {
      if (hdfs) {
        ev.object.name.reserve(7 + f.repo.size() + f.resource.size() + 1);
        ev.object.name.assign("hdfs://").append(f.repo);
        if (f.resource[0] != '/') ev.object.name.push_back('/');
        ev.object.name.append(f.resource);
      } else if (f.repo_type == kRepoTypeHive || f.repo_type < 0) {
        hive_object(f.repo, f.resource, f.res_type, ev.object);
      } else {  // another Ranger service: keep its resource path as written
        ev.object.name.assign(f.repo).append(":").append(f.resource);
      }
    }

    if (ev.action == Action::grant || ev.action == Action::revoke) {
      return emit_grant(ev, f, sink);
    }
    sink.on_event(std::move(ev));
  }

  // The grantee is only in the SQL text (reqData).
  void emit_grant(AccessEvent& ev, const RangerFields& f, EventSink& sink) {
    if (f.req_data.empty()) {
      return reject(sink, weird::kBadGrantStatement, ev.pos,
                    "grant/revoke audit without reqData (the grantee is unknown)");
    }
    GrantParseResult parsed = parse_grant_statement(f.req_data);
    if (!parsed.ok) {
      return reject(sink, weird::kBadGrantStatement, ev.pos, parsed.error);
    }
    ParsedGrant& g = parsed.grant;
    ev.grant.privileges = std::move(g.privileges);
    ev.grant.with_grant_option = g.with_grant_option;
    ev.grant.grantees = std::move(g.grantees);
    for (Grantee& grantee : ev.grant.grantees) {
      if (grantee.kind == GranteeKind::unknown) grantee.kind = GranteeKind::user;  // Hive default
    }
    // Ranger's resource is authoritative for the target (it has the current
    // database filled in); the statement is the fallback.
    if (!ev.object.name.empty()) {
      ev.grant.target_type = g.targets.front().type;
      ev.grant.target = ev.object;
      if (ev.grant.target.columns.empty()) ev.grant.target.columns = g.columns;
      ev.object.columns = ev.grant.target.columns;
      sink.on_event(std::move(ev));
      return;
    }
    for (std::size_t i = 0; i < g.targets.size(); ++i) {
      const GrantTarget& t = g.targets[i];
      AccessEvent one = i + 1 < g.targets.size() ? ev : std::move(ev);
      ObjectLevel level = t.level;
      if (t.type == "DATABASE" || t.type == "SCHEMA") level = ObjectLevel::schema;  // Hive
      one.grant.target_type = t.type;
      one.grant.target.level = level;
      one.grant.target.name = qualify_name(f.repo, "default", t.name_parts, level);
      one.grant.target.columns = g.columns;
      one.object = one.grant.target;
      sink.on_event(std::move(one));
    }
  }

  DecoderOptions opts_;
  od::parser parser_;
  std::string buf_;
  AccessEvent ev_;
};

bool looks_like_ranger(std::string_view line) {
  line = trim_json_ws(line);
  if (line.empty() || line[0] != '{') return false;
  int keys = 0;
  for (std::string_view k : {"\"repoType\"", "\"reqUser\"", "\"evtTime\"", "\"access\""}) {
    if (line.find(k) != std::string_view::npos) ++keys;
  }
  return keys >= 2;
}

}  // namespace

Action ranger_access_to_action(std::string_view a, bool hdfs) {
  if (hdfs) {
    if (ieq(a, "open") || ieq(a, "read")) return Action::read;
    if (ieq(a, "create") || ieq(a, "append") || ieq(a, "write")) return Action::write;
    if (ieq(a, "delete")) return Action::drop;
    if (ieq(a, "mkdirs")) return Action::create;
    if (ieq(a, "rename")) return Action::alter;
    if (ieq(a, "listStatus") || ieq(a, "getfileinfo") || ieq(a, "contentSummary")) {
      return Action::metadata;
    }
  }
  if (ieq(a, "SELECT") || ieq(a, "READ")) return Action::read;
  if (ieq(a, "UPDATE") || ieq(a, "INSERT") || ieq(a, "DELETE") || ieq(a, "TRUNCATE") ||
      ieq(a, "WRITE")) {
    return Action::write;
  }
  if (ieq(a, "CREATE")) return Action::create;
  if (ieq(a, "DROP")) return Action::drop;
  if (ieq(a, "ALTER")) return Action::alter;
  if (ieq(a, "grant")) return Action::grant;
  if (ieq(a, "revoke")) return Action::revoke;
  if (ieq(a, "METADATA OPERATION")) return Action::metadata;
  return Action::other;
}

std::unique_ptr<Decoder> make_ranger_decoder(const DecoderOptions& options) {
  return std::make_unique<RangerDecoder>(options);
}

int sniff_ranger(const std::vector<std::string_view>& first_lines) {
  std::size_t total = 0;
  std::size_t hits = 0;
  for (std::string_view l : first_lines) {
    if (trim_json_ws(l).empty()) continue;
    ++total;
    if (looks_like_ranger(l)) ++hits;
  }
  if (hits == 0) return 0;
  return static_cast<int>(40 + 60 * hits / total);
}

DecoderInfo ranger_decoder_info() {
  return DecoderInfo{
      std::string(kRangerAuditFormat),
      "Apache Ranger plugin audit JSON lines (Hive, HDFS)",
      sniff_ranger,
      make_ranger_decoder,
  };
}

}  // namespace sevwatch::detectors
