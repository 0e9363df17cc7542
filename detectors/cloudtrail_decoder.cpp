#include "detectors/cloudtrail_decoder.h"

#include <algorithm>
#include <cstring>
#include <span>
#include <string>
#include <utility>

#include "detectors/json_guard.h"
#include "detectors/json_record.h"

namespace sevwatch::detectors {
namespace {

constexpr std::string_view kAllUsers = "AllUsers";
constexpr std::string_view kAuthenticatedUsers = "AuthenticatedUsers";
constexpr std::size_t kDocumentLinesFactor = 64;  // a pretty-printed file: 64 x max_line_bytes

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

// `k == lit` for a key: the constant-length compare inlines (string_view's
// operator== calls memcmp).
template <std::size_t N>
bool is(std::string_view k, const char (&lit)[N]) {
  return k.size() == N - 1 && std::memcmp(k.data(), lit, N - 1) == 0;
}

// The first occurrence of each of `keys` among an object's fields, found in
// one pass (what one lookup per key would find); nothing when not an object.
template <std::size_t N>
class Fields {
 public:
  Fields(dom::element obj, const std::string_view (&keys)[N]) {
    static_assert(N <= 32);
    dom::object o;
    if (obj.get_object().get(o)) return;
    for (const auto kv : o) {
      const std::string_view k = kv.key;
      for (std::size_t i = 0; i < N; ++i) {
        if (k.size() == keys[i].size() && !has(i) &&
            std::memcmp(k.data(), keys[i].data(), k.size()) == 0) {
          values_[i] = kv.value;
          found_ |= 1U << i;
          break;
        }
      }
    }
  }
  bool has(std::size_t i) const { return ((found_ >> i) & 1U) != 0; }
  dom::element value(std::size_t i) const { return values_[i]; }
  const dom::element* get(std::size_t i) const { return has(i) ? &values_[i] : nullptr; }
  // The value's json_text as a view ("" when absent), see json_text_view().
  std::string_view text(std::size_t i, std::string& scratch) const {
    return has(i) ? json_text_view(values_[i], scratch) : std::string_view{};
  }

 private:
  dom::element values_[N];
  std::uint32_t found_ = 0;
};

void add_unique(std::vector<std::string>& v, std::string_view s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.emplace_back(s);
}

// Incremental bracket scan across lines (strings and escapes included), to
// find where a pretty-printed JSON document ends.
struct DocScanner {
  std::size_t depth = 0;
  bool in_string = false;
  bool escape = false;
  void feed(std::string_view s) {
    for (const char c : s) {
      if (in_string) {
        if (escape) {
          escape = false;
        } else if (c == '\\') {
          escape = true;
        } else if (c == '"') {
          in_string = false;
        }
        continue;
      }
      if (c == '"') {
        in_string = true;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if ((c == '}' || c == ']') && depth > 0) {
        --depth;
      }
    }
  }
};

// ASCII case folding. The process never changes its locale from "C", where
// sql_lexer's iequals/to_upper (std::toupper) fold exactly these letters;
// these avoid a libc call per character.
char ascii_upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}
bool ascii_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_upper(a[i]) != ascii_upper(b[i])) return false;
  }
  return true;
}
std::string ascii_to_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_upper(c);
  return out;
}

// Upper-cased into `scratch` (returned as a view).
std::string_view ascii_to_upper(std::string_view s, std::string& scratch) {
  scratch.assign(s);
  for (char& c : scratch) c = ascii_upper(c);
  return scratch;
}

// The S3 ACL permission as a privilege: FULL_CONTROL includes reading.
std::string_view acl_privilege(std::string_view permission, std::string& scratch) {
  if (permission == "FULL_CONTROL") return "ALL";
  return ascii_to_upper(permission, scratch);
}

// An IAM policy action to a privilege: s3:GetObject / s3:Get* -> READ,
// s3:* / * -> ALL, anything else upper-cased as written.
std::string_view policy_privilege(std::string_view action, std::string& scratch) {
  if (action == "*" || ascii_iequals(action, "s3:*")) return "ALL";
  if (ascii_iequals(action, "s3:GetObject") || ascii_iequals(action, "s3:Get*") ||
      ascii_iequals(action, "s3:GetObjectVersion")) {
    return "READ";
  }
  return ascii_to_upper(action, scratch);
}

GranteeKind lake_formation_grantee_kind(std::string_view id) {
  if (id == "IAM_ALLOWED_PRINCIPALS" || ends_with(id, ":IAMPrincipals")) return GranteeKind::group;
  if (starts_with(id, "arn:")) {
    const auto colon = id.rfind(':');
    const std::string_view resource = id.substr(colon + 1);
    if (starts_with(resource, "role/")) return GranteeKind::role;
    if (starts_with(resource, "user/")) return GranteeKind::user;
  }
  // Accounts, organizations, OUs, SAML and Identity Center groups: many principals.
  return GranteeKind::group;
}

class CloudTrailDecoder final : public JsonRecordDecoder {
 public:
  explicit CloudTrailDecoder(const DecoderOptions& o) : JsonRecordDecoder(o, kCloudTrailFormat) {
    empty_ = empty_parser_.parse("{}", 2).value_unsafe();
  }

  void decode_line(std::string_view raw, const SourcePos& pos, EventSink& sink) override {
    dispatch(raw, pos, sink, /*padded=*/false);
  }
  void decode_padded_line(std::string_view raw, const SourcePos& pos, EventSink& sink) override {
    dispatch(raw, pos, sink, /*padded=*/true);
  }

  void finish(EventSink& sink) override {
    if (mode_ == Mode::document && (buffering_ || dropping_)) {
      if (buffering_) reject(sink, weird::kTruncatedJson, doc_pos_, "document ends early");
      buffering_ = dropping_ = false;
    }
  }

  const SourcePos* pending_from() const override { return buffering_ ? &doc_pos_ : nullptr; }

 private:
  void dispatch(std::string_view raw, const SourcePos& pos, EventSink& sink, bool padded) {
    if (mode_ == Mode::document) return document_line(raw, pos, sink);
    if (raw.size() > opts_.max_line_bytes) return long_line(raw, pos, sink);
    if (mode_ == Mode::lines) return decode_json_line(raw, pos, sink, padded);
    const std::string_view line = trim_json_ws(raw);
    if (line.empty()) return;
    if (mode_ == Mode::unknown) {
      // The first line decides: a complete object means one event (or one
      // Records file) per line; an opening bracket that does not close on
      // its line starts a pretty-printed document.
      const char last = line.back();
      if ((line[0] == '{' || line[0] == '[') &&
          scan_json_shape(line, opts_.max_depth) == JsonShape::truncated &&
          (last == '{' || last == '[' || last == ',')) {
        mode_ = Mode::document;
        return document_line(raw, pos, sink);
      }
      mode_ = Mode::lines;
    }
    decode_json_line(raw, pos, sink, padded);
  }
  enum class Mode { unknown, lines, document };

  // A line over max_line_bytes: a one-line Records file may be as long as a
  // pretty-printed document; anything else is line_too_long.
  void long_line(std::string_view raw, const SourcePos& pos, EventSink& sink) {
    if (mode_ == Mode::unknown) mode_ = Mode::lines;
    const std::size_t cap = cloudtrail_line_cap(raw.substr(0, kLineHeadBytes), opts_);
    dom::element root;
    if (parse_text(trim_json_ws(raw), cap, pos, sink, root)) on_record(root, pos, sink);
  }

  void document_line(std::string_view raw, const SourcePos& pos, EventSink& sink) {
    if (!buffering_ && !dropping_) {
      if (trim_json_ws(raw).empty()) return;
      buffering_ = true;
      doc_.clear();
      doc_pos_ = pos;
      scan_ = DocScanner{};
    }
    scan_.feed(raw);
    if (buffering_) {
      const std::size_t cap = opts_.max_line_bytes * kDocumentLinesFactor;
      if (doc_.size() + raw.size() + 1 > cap) {
        reject(sink, weird::kLineTooLong, doc_pos_,
               "JSON document longer than " + std::to_string(cap) + " bytes");
        buffering_ = false;
        dropping_ = true;
        doc_.clear();
        doc_.shrink_to_fit();
      } else {
        doc_.append(raw);
        doc_.push_back('\n');
      }
    }
    if (scan_.depth != 0 || scan_.in_string) return;
    if (dropping_) {
      dropping_ = false;
      return;
    }
    buffering_ = false;
    dom::element root;
    if (parse_text(trim_json_ws(doc_), opts_.max_line_bytes * kDocumentLinesFactor, doc_pos_, sink,
                   root)) {
      on_record(root, doc_pos_, sink);
    }
    doc_.clear();
  }

  void on_record(dom::element rec, const SourcePos& pos, EventSink& sink) override {
    TrailFields top;
    read_trail_fields(rec, top);
    dom::array records;
    if (top.has(kRecords) && !top.field[kRecords].get_array().get(records)) {
      for (dom::element r : records) {
        if (!r.is_object()) {
          reject(sink, weird::kNotAnObject, pos, "a Records entry is not an object");
          continue;
        }
        TrailFields one;
        read_trail_fields(r, one);
        event(r, one, pos, sink);
      }
      return;
    }
    event(rec, top, pos, sink);
  }

  // The record's fields the decoder reads, found in one pass over its keys;
  // the first of duplicate keys counts (as with dom::object::operator[]).
  enum TrailField : unsigned {
    kEventTime,
    kEventName,
    kEventSource,
    kEventId,
    kSourceIp,
    kErrorCode,
    kUserIdentity,
    kRecipient,
    kRequestParameters,
    kResponseElements,
    kRecords,
    kTrailFields
  };
  struct TrailFields {
    dom::element field[kTrailFields];
    unsigned seen = 0;
    bool has(TrailField f) const { return (seen >> f) & 1U; }
    simdjson::simdjson_result<dom::element> get(TrailField f) const {
      if (!has(f)) return simdjson::NO_SUCH_FIELD;
      return simdjson::simdjson_result<dom::element>(dom::element(field[f]));
    }
    // The string value ("" when absent or not a string), like json_str.
    std::string_view str(TrailField f) const {
      std::string_view v;
      if (!has(f) || field[f].get_string().get(v)) return {};
      return v;
    }
  };

  static void read_trail_fields(dom::element rec, TrailFields& out) {
    dom::object obj;
    if (rec.get_object().get(obj)) return;
    for (const auto kv : obj) {
      const std::string_view k = kv.key;
      int f = -1;
      switch (k.size()) {
        case 7:
          if (is(k, "eventID")) {
            f = kEventId;
          } else if (is(k, "Records")) {
            f = kRecords;
          }
          break;
        case 9:
          if (is(k, "eventTime")) {
            f = kEventTime;
          } else if (is(k, "eventName")) {
            f = kEventName;
          } else if (is(k, "errorCode")) {
            f = kErrorCode;
          }
          break;
        case 11:
          if (is(k, "eventSource")) f = kEventSource;
          break;
        case 12:
          if (is(k, "userIdentity")) f = kUserIdentity;
          break;
        case 15:
          if (is(k, "sourceIPAddress")) f = kSourceIp;
          break;
        case 16:
          if (is(k, "responseElements")) f = kResponseElements;
          break;
        case 17:
          if (is(k, "requestParameters")) f = kRequestParameters;
          break;
        case 18:
          if (is(k, "recipientAccountId")) f = kRecipient;
          break;
        default:
          break;
      }
      if (f >= 0 && !out.has(static_cast<TrailField>(f))) {
        out.field[f] = kv.value;
        out.seen |= 1U << f;
      }
    }
  }

  // userIdentity's fields, first occurrence of each.
  struct Identity {
    dom::element account_id, type, arn, user_name, principal_id, invoked_by, session_context;
    unsigned seen = 0;
  };

  static void read_identity(dom::element ui, Identity& id) {
    dom::object obj;
    if (ui.get_object().get(obj)) return;
    for (const auto kv : obj) {
      const std::string_view k = kv.key;
      dom::element* slot = nullptr;
      unsigned bit = 0;
      if (is(k, "accountId")) {
        slot = &id.account_id, bit = 1;
      } else if (is(k, "type")) {
        slot = &id.type, bit = 2;
      } else if (is(k, "arn")) {
        slot = &id.arn, bit = 4;
      } else if (is(k, "userName")) {
        slot = &id.user_name, bit = 8;
      } else if (is(k, "principalId")) {
        slot = &id.principal_id, bit = 16;
      } else if (is(k, "invokedBy")) {
        slot = &id.invoked_by, bit = 32;
      } else if (is(k, "sessionContext")) {
        slot = &id.session_context, bit = 64;
      }
      if (slot != nullptr && (id.seen & bit) == 0) {
        *slot = kv.value;
        id.seen |= bit;
      }
    }
  }

  void event(dom::element r, const TrailFields& top, const SourcePos& pos, EventSink& sink) {
    // One event per decoder, reused: its strings keep their capacity unless
    // the sink moves them away.
    AccessEvent& ev = ev_;
    recycle(ev);  // keeps the strings reset_event() would free
    reset_event(ev);
    if (!start_event(ev, top.get(kEventTime), "eventTime", pos, sink)) return;
    if (opts_.keep_raw) ev.raw = simdjson::minify(r);  // this record, also inside `Records`
    const std::string_view name = top.str(kEventName);
    const std::string_view source = top.str(kEventSource);
    if (name.empty()) return reject(sink, weird::kMissingField, pos, "missing field 'eventName'");
    ev.operation.assign(name);
    if (top.has(kEventId)) json_text_into(top.field[kEventId], ev.event_uid);
    if (top.has(kSourceIp)) json_text_into(top.field[kSourceIp], ev.client_ip);
    ev.result = top.str(kErrorCode).empty() ? Result::allowed : Result::denied;

    Identity id;
    if (top.has(kUserIdentity)) read_identity(top.field[kUserIdentity], id);
    std::string_view account_id;
    if (id.seen & 1) account_id = json_text_view(id.account_id, scratch_);
    std::string_view type;
    if ((id.seen & 2) && id.type.get_string().get(type)) type = {};
    if (account_id == "anonymous" || type == "Anonymous") {
      ev.principal.assign("anonymous");
    } else {
      const std::pair<unsigned, const dom::element*> names[] = {
          {4, &id.arn}, {8, &id.user_name}, {16, &id.principal_id}, {32, &id.invoked_by}};
      for (const auto& [bit, v] : names) {
        if (id.seen & bit) json_text_into(*v, ev.principal);
        if (!ev.principal.empty()) break;
      }
      dom::element role;
      if ((id.seen & 64) && !json_at(id.session_context, "sessionIssuer.arn").get(role)) {
        json_text_into(role, text_);
        if (!text_.empty()) push_string(ev.principal_groups, text_);
      }
    }
    if (top.has(kRecipient)) {
      json_text_into(top.field[kRecipient], account_);
    } else {
      account_.clear();
    }
    if (account_.empty() && account_id != "anonymous") account_.assign(account_id);
    dom::element params;
    if (!top.has(kRequestParameters) || !top.field[kRequestParameters].is_object()) {
      params = empty_;
    } else {
      params = top.field[kRequestParameters];
    }

    if (source == "lakeformation.amazonaws.com") return lake_formation(top, params, ev, sink);
    if (source == "glue.amazonaws.com") return glue(params, ev, sink);
    if (source == "s3.amazonaws.com") return s3(params, ev, sink);
    if (source == "athena.amazonaws.com" && name == "StartQueryExecution") {
      ev.action = Action::read;
      text_into_at(params, "queryString", ev.query);
      return sink.on_event(std::move(ev));
    }
    sink.on_event(std::move(ev));  // any other call: kept as `other`
  }

  // A copy of `ev` for one of several events from a record, into a reused
  // event (copy-assignment keeps the strings' capacity).
  AccessEvent& copy_of(const AccessEvent& ev) {
    recycle(copy_);
    copy_ = ev;
    return copy_;
  }

  // Moves the strings in `e`'s vectors (principal groups, privileges,
  // grantees) to the spares, leaving those vectors empty.
  void recycle(AccessEvent& e) {
    recycle_strings(e.principal_groups);
    recycle_grant(e);
  }
  // The same for the grant's privileges and grantees only.
  void recycle_grant(AccessEvent& e) {
    recycle_strings(e.grant.privileges);
    for (Grantee& g : e.grant.grantees) {
      if (spare_grantees_.size() < kMaxSpares) spare_grantees_.push_back(std::move(g));
    }
    e.grant.grantees.clear();
  }
  void recycle_strings(std::vector<std::string>& v) {
    for (std::string& str : v) {
      if (spare_strings_.size() < kMaxSpares) spare_strings_.push_back(std::move(str));
    }
    v.clear();
  }
  static constexpr std::size_t kMaxSpares = 64;
  void push_string(std::vector<std::string>& v, std::string_view s) {
    if (spare_strings_.empty()) {
      v.emplace_back(s);
      return;
    }
    v.push_back(std::move(spare_strings_.back()));
    spare_strings_.pop_back();
    v.back().assign(s);
  }
  void push_grantee(std::vector<Grantee>& v, GranteeKind kind, std::string_view name) {
    if (spare_grantees_.empty()) {
      v.push_back(Grantee{kind, std::string(name)});
      return;
    }
    v.push_back(std::move(spare_grantees_.back()));
    spare_grantees_.pop_back();
    v.back().kind = kind;
    v.back().name.assign(name);
  }
  // add_unique() with a spare string.
  void push_unique(std::vector<std::string>& v, std::string_view s) {
    if (std::find(v.begin(), v.end(), s) == v.end()) push_string(v, s);
  }

  // ---- Lake Formation ----------------------------------------------------

  // The fields of a grant entry (BatchGrantPermissions entries, or the
  // parameters of GrantPermissions) that lf_entry() reads; null when absent.
  struct LfEntry {
    const dom::element* principal = nullptr;
    const dom::element* permissions = nullptr;
    const dom::element* grantable = nullptr;  // permissionsWithGrantOption
    const dom::element* resource = nullptr;
  };

  void lake_formation(const TrailFields& top, dom::element params, AccessEvent& ev,
                      EventSink& sink) {
    static constexpr std::string_view kKeys[] = {"catalogId",   "entries",
                                                 "tableArn",    "principal",
                                                 "permissions", "permissionsWithGrantOption",
                                                 "resource"};
    const Fields<std::size(kKeys)> p(params, kKeys);
    const std::string_view name = ev.operation;
    const std::string_view catalog = or_account(p.text(0, catalog_text_));
    if (name == "GrantPermissions" || name == "RevokePermissions") {
      ev.action = name == "GrantPermissions" ? Action::grant : Action::revoke;
      return lf_entry({p.get(3), p.get(4), p.get(5), p.get(6)}, catalog, ev, sink);
    }
    if (name == "BatchGrantPermissions" || name == "BatchRevokePermissions") {
      ev.action = name == "BatchGrantPermissions" ? Action::grant : Action::revoke;
      std::size_t failed = 0;  // the first `failed` of failed_ids_
      dom::array failures;
      if (top.has(kResponseElements) &&
          !json_at(top.field[kResponseElements], "failures").get_array().get(failures)) {
        for (dom::element f : failures) {
          if (failed == failed_ids_.size()) failed_ids_.emplace_back();
          text_into_at(f, "requestEntry.id", failed_ids_[failed++]);
        }
      }
      dom::array entries;
      if (!p.has(1) || p.value(1).get_array().get(entries)) {
        return reject(sink, weird::kMissingField, ev.pos, "missing field 'entries'");
      }
      static constexpr std::string_view kEntryKeys[] = {"id", "principal", "permissions",
                                                        "permissionsWithGrantOption", "resource"};
      // The last entry needs no copy of `ev` (simdjson's count saturates at
      // 2^24 - 1: then every entry gets one).
      const std::size_t n = entries.size();
      const std::size_t last = n < 0xFFFFFF ? n : 0;
      std::size_t i = 0;
      for (dom::element e : entries) {
        const Fields<std::size(kEntryKeys)> f(e, kEntryKeys);
        AccessEvent& one = ++i == last ? ev : copy_of(ev);
        const std::string_view id = f.text(0, text_);
        if (!id.empty() && std::find(failed_ids_.begin(), failed_ids_.begin() + failed, id) !=
                               failed_ids_.begin() + failed) {
          one.result = Result::denied;
        }
        lf_entry({f.get(1), f.get(2), f.get(3), f.get(4)}, catalog, one, sink);
      }
      return;
    }
    if (name == "GetDataAccess") {
      ev.action = Action::read;
      // arn:aws:glue:<region>:<account>:table/<db>/<table>
      const std::string_view arn = p.text(2, text_);
      std::string_view parts[6];
      if (split_first(arn, ':', parts) >= 6) {
        std::string_view path[3];
        if (split_first(parts[5], '/', path) == 3 && path[0] == "table") {
          ev.object.name.assign(parts[4]).append(".").append(path[1]).append(".").append(path[2]);
          ev.object.level = ObjectLevel::table;
        } else {
          ev.object.name.assign(arn);
        }
      }
      return sink.on_event(std::move(ev));
    }
    sink.on_event(std::move(ev));
  }

  void lf_entry(const LfEntry& entry, std::string_view catalog, AccessEvent& ev, EventSink& sink) {
    const std::string_view who =
        entry.principal != nullptr
            ? text_at(*entry.principal, "dataLakePrincipalIdentifier", principal_text_)
            : std::string_view{};
    if (who.empty()) {
      return reject(sink, weird::kMissingField, ev.pos,
                    "missing field 'principal.dataLakePrincipalIdentifier'");
    }
    push_grantee(ev.grant.grantees, lake_formation_grantee_kind(who), who);
    // Empty here (a fresh record's event, or a copy of it).
    std::vector<std::string>& privileges = ev.grant.privileges;
    if (entry.permissions != nullptr) {
      texts_of(*entry.permissions, text_, [&](std::string_view t) { push_string(privileges, t); });
    }
    bool with_grant_option = false;
    if (entry.grantable != nullptr) {
      texts_of(*entry.grantable, text_, [&](std::string_view) { with_grant_option = true; });
    }
    ev.grant.with_grant_option = with_grant_option;
    if (entry.resource == nullptr || !entry.resource->is_object()) {
      return reject(sink, weird::kMissingField, ev.pos, "missing field 'resource'");
    }
    const dom::element res = *entry.resource;
    static constexpr std::string_view kKinds[] = {"table", "tableWithColumns", "database",
                                                  "catalog", "dataLocation"};
    const Fields<std::size(kKinds)> kind(res, kKinds);
    static constexpr std::string_view kKeys[] = {"catalogId",     "databaseName", "name",
                                                 "tableWildcard", "columnNames",  "resourceArn"};
    ObjectRef& t = ev.grant.target;
    if (kind.has(0)) {  // table
      const Fields<std::size(kKeys)> v(kind.value(0), kKeys);
      t.name.assign(or_default(v.text(0, text_), catalog)).append(".").append(v.text(1, text2_));
      if (v.has(3)) {
        ev.grant.target_type.assign("ALL TABLES IN DATABASE");
        t.level = ObjectLevel::schema;
      } else {
        ev.grant.target_type.assign("TABLE");
        t.name.append(".").append(v.text(2, text3_));
        t.level = ObjectLevel::table;
      }
      t.columns.clear();
    } else if (kind.has(1)) {  // tableWithColumns
      const Fields<std::size(kKeys)> v(kind.value(1), kKeys);
      ev.grant.target_type.assign("TABLE WITH COLUMNS");
      // A column wildcard (even with exclusions) is read as the whole table.
      t.name.assign(or_default(v.text(0, text_), catalog))
          .append(".")
          .append(v.text(1, text2_))
          .append(".")
          .append(v.text(2, text3_));
      t.level = ObjectLevel::table;
      t.columns.clear();
      if (v.has(4)) {
        texts_of(v.value(4), text2_, [&](std::string_view c) {
          if (!t.columns.empty()) t.columns.push_back(',');
          t.columns.append(c);
        });
      }
    } else if (kind.has(2)) {  // database
      const Fields<std::size(kKeys)> v(kind.value(2), kKeys);
      ev.grant.target_type.assign("DATABASE");
      t.name.assign(or_default(v.text(0, text_), catalog)).append(".").append(v.text(2, text2_));
      t.level = ObjectLevel::schema;
      t.columns.clear();
    } else if (kind.has(3)) {  // catalog
      ev.grant.target_type.assign("CATALOG");
      t.name.assign(catalog);
      t.level = ObjectLevel::catalog;
      t.columns.clear();
    } else if (kind.has(4)) {  // dataLocation
      const Fields<std::size(kKeys)> v(kind.value(4), kKeys);
      ev.grant.target_type.assign("DATA LOCATION");
      s3_from_arn(v.text(5, text_), t.name);
      t.level = ObjectLevel::none;
      t.columns.clear();
    } else {
      // LF-tag policies, data cells filters: the scope is not a name.
      dom::object o = res.get_object().value_unsafe();
      for (const auto field : o) {
        ev.grant.target_type = ascii_to_upper(field.key);
        break;
      }
    }
    ev.object = t;
    sink.on_event(std::move(ev));
  }

  // ---- Glue --------------------------------------------------------------

  void glue(dom::element params, AccessEvent& ev, EventSink& sink) {
    static constexpr std::string_view kKeys[] = {"catalogId",      "databaseName", "name",
                                                 "tableName",      "tableInput",   "databaseInput",
                                                 "tablesToDelete", "policyInJson"};
    const Fields<std::size(kKeys)> p(params, kKeys);
    const std::string_view name = ev.operation;
    const std::string_view catalog = or_account(p.text(0, catalog_text_));
    auto table = [&](std::string_view db, std::string_view tbl) {
      if (db.empty()) return;
      ev.object.name.assign(catalog).append(".").append(db);
      ev.object.level = ObjectLevel::schema;
      if (!tbl.empty()) {
        ev.object.name.append(".").append(tbl);
        ev.object.level = ObjectLevel::table;
      }
      ev.object.columns.clear();
    };
    // `inner.name` of an object parameter, like json_text(params, "inner.name").
    auto inner_name = [&](std::size_t i) {
      return p.has(i) ? text_at(p.value(i), "name", text_) : std::string_view{};
    };
    const std::string_view db = p.text(1, text2_);
    if (name == "GetTable" || name == "GetTableVersions" || name == "GetPartitions" ||
        name == "GetPartition") {
      ev.action = Action::metadata;
      std::string_view tbl = p.text(2, text_);
      if (tbl.empty()) tbl = p.text(3, text_);
      table(db, tbl);
    } else if (name == "GetTables") {
      ev.action = Action::metadata;
      table(db, "");
    } else if (name == "GetDatabase") {
      ev.action = Action::metadata;
      table(p.text(2, text_), "");
    } else if (name == "CreateTable" || name == "UpdateTable") {
      ev.action = name == "CreateTable" ? Action::create : Action::alter;
      table(db, inner_name(4));
    } else if (name == "DeleteTable") {
      ev.action = Action::drop;
      table(db, p.text(2, text_));
    } else if (name == "BatchDeleteTable") {
      ev.action = Action::drop;
      if (p.has(6)) {
        texts_of(p.value(6), text_, [&](std::string_view t) {
          AccessEvent& one = copy_of(ev);
          one.object.name.assign(catalog).append(".").append(db).append(".").append(t);
          one.object.level = ObjectLevel::table;
          one.object.columns.clear();
          sink.on_event(std::move(one));
        });
      }
      return;
    } else if (name == "CreateDatabase") {
      ev.action = Action::create;
      table(inner_name(5), "");
    } else if (name == "UpdateDatabase" || name == "DeleteDatabase") {
      ev.action = name == "UpdateDatabase" ? Action::alter : Action::drop;
      table(p.text(2, text_), "");
    } else if (name == "PutResourcePolicy") {
      // The Data Catalog's resource policy: Principal "*" opens the catalog.
      dom::element policy;
      if (!parse_inner(p.text(7, text_), policy)) {
        return reject(sink, weird::kInvalidJson, ev.pos, "policyInJson is not JSON");
      }
      set_ref(catalog_ref_, catalog, ObjectLevel::catalog);
      return policy_grant(policy, catalog_ref_, "CATALOG POLICY", ev, sink);
    } else if (name == "DeleteResourcePolicy") {
      set_ref(catalog_ref_, catalog, ObjectLevel::catalog);
      return revoke_public(catalog_ref_, "CATALOG POLICY", kEveryone, ev, sink);
    }
    sink.on_event(std::move(ev));
  }

  // ---- S3 ----------------------------------------------------------------

  // The S3 parameters read (the x-amz-grant-* headers last, see acl()).
  static constexpr std::string_view kS3Keys[] = {"bucketName",
                                                 "key",
                                                 "x-amz-acl",
                                                 "AccessControlPolicy",
                                                 "bucketPolicy",
                                                 "x-amz-grant-read",
                                                 "x-amz-grant-write",
                                                 "x-amz-grant-read-acp",
                                                 "x-amz-grant-write-acp",
                                                 "x-amz-grant-full-control"};
  static constexpr std::size_t kS3Headers = 5;  // the last five keys
  using S3Fields = Fields<std::size(kS3Keys)>;

  void s3(dom::element params, AccessEvent& ev, EventSink& sink) {
    const S3Fields p(params, kS3Keys);
    const std::string_view name = ev.operation;
    std::string_view bucket = p.text(0, text2_);
    if (bucket.empty() && p.has(0)) bucket = first_text_of(p.value(0), text2_);
    const std::string_view key = p.text(1, text3_);
    ObjectRef& bucket_ref = bucket_ref_;
    ObjectRef& object_ref = object_ref_;
    bucket_ref.name.clear();
    if (!bucket.empty()) bucket_ref.name.assign("s3://").append(bucket);
    object_ref.name.assign(bucket_ref.name);
    if (!bucket.empty() && !key.empty()) object_ref.name.append("/").append(key);
    ev.object = object_ref;
    if (name == "GetObject" || name == "SelectObjectContent" || name == "GetObjectTorrent") {
      ev.action = Action::read;
    } else if (name == "HeadObject" || name == "ListObjects" || name == "ListObjectsV2" ||
               name == "ListObjectVersions" || name == "GetObjectAcl") {
      ev.action = Action::metadata;
    } else if (name == "PutObject" || name == "CopyObject" || name == "UploadPart" ||
               name == "CompleteMultipartUpload") {
      ev.action = Action::write;
    } else if (name == "DeleteObject" || name == "DeleteObjects") {
      ev.action = Action::drop;
    } else if (name == "PutBucketAcl" || name == "PutObjectAcl") {
      return acl(p, name == "PutBucketAcl" ? bucket_ref : object_ref,
                 name == "PutBucketAcl" ? "BUCKET ACL" : "OBJECT ACL", ev, sink);
    } else if (name == "PutBucketPolicy") {
      if (!p.has(4)) {
        return reject(sink, weird::kMissingField, ev.pos, "missing field 'bucketPolicy'");
      }
      dom::element policy = p.value(4);
      if (policy.is_string()) {
        const std::string text(policy.get_string().value_unsafe());
        if (!parse_inner(text, policy)) {
          return reject(sink, weird::kInvalidJson, ev.pos, "bucketPolicy is not JSON");
        }
      }
      return policy_grant(policy, bucket_ref, "BUCKET POLICY", ev, sink);
    } else if (name == "DeleteBucketPolicy") {
      return revoke_public(bucket_ref, "BUCKET POLICY", kEveryone, ev, sink);
    } else if (name == "DeleteBucketPublicAccessBlock" || name == "PutBucketPublicAccessBlock") {
      ev.action = Action::policy_change;
      ev.object = bucket_ref;
    } else if (name == "DeleteAccountPublicAccessBlock" || name == "PutAccountPublicAccessBlock") {
      ev.action = Action::policy_change;
      set_ref(ev.object, {}, ObjectLevel::none);
    } else {
      ev.object = bucket_ref;
    }
    sink.on_event(std::move(ev));
  }

  // PutBucketAcl / PutObjectAcl replace the whole ACL: the AllUsers and
  // AuthenticatedUsers groups it names are granted, the ones it does not are
  // revoked.
  void acl(const S3Fields& params, const ObjectRef& target, std::string_view type, AccessEvent& ev,
           EventSink& sink) {
    struct Group {
      std::string_view name;
      std::string_view header_needle;   // `/<name>"` in x-amz-grant-* headers
      std::vector<std::string>& privs;  // a member, cleared: its buffer is reused
    };
    Group groups[] = {{kAllUsers, "/AllUsers\"", acl_privs_[0]},
                      {kAuthenticatedUsers, "/AuthenticatedUsers\"", acl_privs_[1]}};
    for (Group& g : groups) g.privs.clear();
    auto add = [&](std::string_view uri_or_name, std::string_view privilege) {
      for (Group& g : groups) {
        const std::string_view group = g.name;
        const bool slash_group = uri_or_name.size() > group.size() &&
                                 ends_with(uri_or_name, group) &&
                                 uri_or_name[uri_or_name.size() - group.size() - 1] == '/';
        if (slash_group || uri_or_name == group) {
          add_unique(g.privs, privilege);
          return;
        }
      }
    };
    // x-amz-acl: a string or ["..."], the first counts.
    const std::string_view canned =
        params.has(2) ? first_text_of(params.value(2), text_) : std::string_view{};
    if (canned == "public-read") add(kAllUsers, "READ");
    if (canned == "public-read-write") {
      add(kAllUsers, "READ");
      add(kAllUsers, "WRITE");
    }
    if (canned == "authenticated-read") add(kAuthenticatedUsers, "READ");
    dom::element grants;
    if (params.has(3) && !json_at(params.value(3), "AccessControlList.Grant").get(grants)) {
      auto one = [&](dom::element g) {
        const std::string_view uri = text_at(g, "Grantee.URI", text2_);
        if (!uri.empty()) add(uri, acl_privilege(text_at(g, "Permission", text3_), upper_));
      };
      if (grants.is_array()) {
        for (dom::element g : dom::array(grants.get_array().value_unsafe())) one(g);
      } else {
        one(grants);
      }
    }
    // x-amz-grant-read: uri="http://acs.amazonaws.com/groups/global/AllUsers", ...
    static constexpr std::string_view kHeaderPrivileges[kS3Headers] = {"READ", "WRITE", "READ_ACP",
                                                                       "WRITE_ACP", "ALL"};
    for (std::size_t i = 0; i < kS3Headers; ++i) {
      const std::string_view v = params.text(std::size(kS3Keys) - kS3Headers + i, text2_);
      for (Group& g : groups) {
        if (v.find(g.header_needle) != std::string_view::npos) {
          add_unique(g.privs, kHeaderPrivileges[i]);
        }
      }
    }
    ev.action = Action::grant;
    ev.object = target;
    ev.grant.target = target;
    ev.grant.target_type.assign(type);
    std::string_view absent[2];
    std::size_t n_absent = 0;
    const bool all_granted = !groups[0].privs.empty() && !groups[1].privs.empty();
    for (Group& g : groups) {
      if (g.privs.empty()) {
        absent[n_absent++] = g.name;
        continue;
      }
      // Copies, except the last event of the record (no revoke follows).
      AccessEvent& one = all_granted && &g == &groups[1] ? ev : copy_of(ev);
      push_grantee(one.grant.grantees, GranteeKind::group, g.name);
      for (const std::string& priv : g.privs) push_string(one.grant.privileges, priv);
      sink.on_event(std::move(one));
    }
    if (n_absent > 0) revoke_public(target, type, {absent, n_absent}, ev, sink);
  }

  // An IAM-style policy document: Allow statements whose Principal is "*"
  // become one grant to "*" (conditions noted in the target type, not
  // evaluated); a policy without one revokes "*".
  void policy_grant(dom::element policy, const ObjectRef& target, std::string_view type,
                    AccessEvent& ev, EventSink& sink) {
    // Collected in the event (empty here: a fresh record's) and replaced by
    // revoke_public() when there are none.
    std::vector<std::string>& privileges = ev.grant.privileges;
    privileges.clear();
    bool conditional = false;
    auto statement = [&](dom::element s) {
      if (json_str(s, "Effect") != "Allow") return;
      dom::element principal;
      if (s["Principal"].get(principal) || !principal_is_public(principal)) return;
      dom::element cond;
      if (!s["Condition"].get(cond)) conditional = true;
      for_each_text(s, "Action", text_, [&](std::string_view a) {
        push_unique(privileges, policy_privilege(a, upper_));
      });
    };
    dom::element statements;
    if (!json_at(policy, "Statement").get(statements)) {
      if (statements.is_array()) {
        for (dom::element s : dom::array(statements.get_array().value_unsafe())) statement(s);
      } else {
        statement(statements);
      }
    }
    if (privileges.empty()) return revoke_public(target, type, kEveryone, ev, sink);
    ev.action = Action::grant;
    ev.object = target;
    ev.grant.target = target;
    ev.grant.target_type.assign(type);
    if (conditional) ev.grant.target_type.append(" (CONDITIONAL)");
    push_grantee(ev.grant.grantees, GranteeKind::group, "*");
    sink.on_event(std::move(ev));
  }

  // Always the record's last event: `ev` itself becomes the revoke.
  void revoke_public(const ObjectRef& target, std::string_view type,
                     std::span<const std::string_view> who, AccessEvent& ev, EventSink& sink) {
    ev.action = Action::revoke;
    ev.object = target;
    recycle_grant(ev);
    ev.grant.with_grant_option = false;
    ev.grant.target = target;
    ev.grant.target_type.assign(type);
    push_string(ev.grant.privileges, "ALL");
    for (const auto w : who) push_grantee(ev.grant.grantees, GranteeKind::group, w);
    sink.on_event(std::move(ev));
  }

  // ---- JSON helpers (views, reused buffers) ------------------------------

  // json_text at `path` as a view: into the document, or into `scratch` for a
  // number or boolean ("" when missing).
  static std::string_view text_at(dom::element root, std::string_view path, std::string& scratch) {
    dom::element v;
    if (json_at(root, path).get(v)) return {};
    return json_text_view(v, scratch);
  }
  static void text_into_at(dom::element root, std::string_view path, std::string& out) {
    dom::element v;
    if (json_at(root, path).get(v)) {
      out.clear();
    } else {
      json_text_into(v, out);
    }
  }
  // Calls `f` with each non-empty text json_strings() would return for the
  // value `v` (an array's items, or `v` itself).
  template <typename F>
  static void texts_of(dom::element v, std::string& scratch, F f) {
    if (v.is_array()) {
      for (dom::element item : dom::array(v.get_array().value_unsafe())) {
        const std::string_view t = json_text_view(item, scratch);
        if (!t.empty()) f(t);
      }
    } else {
      const std::string_view t = json_text_view(v, scratch);
      if (!t.empty()) f(t);
    }
  }
  template <typename F>
  static void for_each_text(dom::element root, std::string_view path, std::string& scratch, F f) {
    dom::element v;
    if (!json_at(root, path).get(v)) texts_of(v, scratch, f);
  }
  // The first of them, "" when none.
  static std::string_view first_text_of(dom::element v, std::string& scratch) {
    if (!v.is_array()) return json_text_view(v, scratch);
    for (dom::element item : dom::array(v.get_array().value_unsafe())) {
      const std::string_view t = json_text_view(item, scratch);
      if (!t.empty()) return t;
    }
    return {};
  }
  static bool principal_is_public(dom::element principal) {
    if (principal.is_string()) return principal.get_string().value_unsafe() == "*";
    std::string scratch;
    bool star = false;
    for_each_text(principal, "AWS", scratch, [&](std::string_view s) { star = star || s == "*"; });
    return star;
  }
  // Splits on `sep` like split(): the number of parts, the first N in `out`.
  template <std::size_t N>
  static std::size_t split_first(std::string_view s, char sep, std::string_view (&out)[N]) {
    std::size_t n = 0;
    for (;;) {
      const auto p = s.find(sep);
      if (n < N) out[n] = s.substr(0, p);
      ++n;
      if (p == std::string_view::npos) return n;
      s.remove_prefix(p + 1);
    }
  }
  static void set_ref(ObjectRef& ref, std::string_view name, ObjectLevel level) {
    ref.name.assign(name);
    ref.level = level;
    ref.columns.clear();
  }

  std::string_view or_account(std::string_view s) const { return s.empty() ? account_ : s; }
  static std::string_view or_default(std::string_view s, std::string_view fallback) {
    return s.empty() ? fallback : s;
  }
  static void s3_from_arn(std::string_view arn, std::string& out) {
    constexpr std::string_view kPrefix = "arn:aws:s3:::";
    if (starts_with(arn, kPrefix)) {
      out.assign("s3://").append(arn.substr(kPrefix.size()));
    } else {
      out.assign(arn);
    }
  }

  static constexpr std::string_view kEveryone[] = {"*"};

  Mode mode_ = Mode::unknown;
  bool buffering_ = false;
  bool dropping_ = false;
  std::string doc_;
  SourcePos doc_pos_;
  DocScanner scan_;
  std::string account_;  // of the record being decoded
  AccessEvent ev_;       // the record's event, reused (see event())
  AccessEvent copy_;     // copy_of()
  // Reused buffers: json_text_view() of numbers (one per value in use at a
  // time), failed batch entry ids, S3 and catalog object names.
  std::string scratch_, catalog_text_, principal_text_, text_, text2_, text3_;
  std::vector<std::string> failed_ids_;
  // Strings and grantees of earlier events, moved here instead of freed,
  // their buffers reused by push_string() / push_grantee().
  std::vector<std::string> spare_strings_;
  std::vector<std::string> acl_privs_[2];  // acl(): AllUsers, AuthenticatedUsers
  std::string upper_;                      // acl_privilege() / policy_privilege()
  std::vector<Grantee> spare_grantees_;
  ObjectRef bucket_ref_, object_ref_, catalog_ref_;
  dom::parser empty_parser_;
  dom::element empty_;  // "{}": requestParameters when a record has none
};

}  // namespace

Grantee lake_formation_grantee(std::string_view id) {
  return Grantee{lake_formation_grantee_kind(id), std::string(id)};
}

std::unique_ptr<Decoder> make_cloudtrail_decoder(const DecoderOptions& options) {
  return std::make_unique<CloudTrailDecoder>(options);
}

std::size_t cloudtrail_line_cap(std::string_view head, const DecoderOptions& options) {
  // `{"Records"` with JSON whitespace anywhere between the tokens.
  std::string_view rest = trim_json_ws(head);
  if (rest.empty() || rest[0] != '{') return options.max_line_bytes;
  rest = trim_json_ws(rest.substr(1));
  return starts_with(rest, "\"Records\"") ? options.max_line_bytes * kDocumentLinesFactor
                                          : options.max_line_bytes;
}

int sniff_cloudtrail(const std::vector<std::string_view>& first_lines) {
  const int per_line = sniff_lines(first_lines, [](std::string_view l) {
    return json_line_has(l, {"\"eventSource\"", "\"eventName\""}) ||
           json_line_has(l, {"\"Records\"", "\"eventVersion\""});
  });
  if (per_line > 0) return per_line;
  // Pretty-printed: the keys are on lines of their own.
  bool records = false, envelope = false;
  for (std::string_view l : first_lines) {
    records = records || l.find("\"Records\"") != std::string_view::npos;
    envelope = envelope || l.find("\"eventVersion\"") != std::string_view::npos ||
               l.find("\"eventSource\"") != std::string_view::npos;
  }
  return records && envelope ? 90 : 0;
}

DecoderInfo cloudtrail_decoder_info() {
  return DecoderInfo{
      std::string(kCloudTrailFormat),
      "AWS CloudTrail (Lake Formation, Glue, S3, Athena), JSON lines or Records files",
      sniff_cloudtrail,
      make_cloudtrail_decoder,
      cloudtrail_line_cap,
  };
}

}  // namespace sevwatch::detectors
