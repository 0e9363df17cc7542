#include "detectors/cloudtrail_decoder.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>

#include "detectors/json_guard.h"
#include "detectors/json_record.h"
#include "detectors/sql_lexer.h"

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

void add_unique(std::vector<std::string>& v, std::string s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(std::move(s));
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

// The S3 ACL permission as a privilege: FULL_CONTROL includes reading.
std::string acl_privilege(std::string_view permission) {
  if (permission == "FULL_CONTROL") return "ALL";
  return to_upper(permission);
}

// An IAM policy action to a privilege: s3:GetObject / s3:Get* -> READ,
// s3:* / * -> ALL, anything else upper-cased as written.
std::string policy_privilege(std::string_view action) {
  if (action == "*" || iequals(action, "s3:*")) return "ALL";
  if (iequals(action, "s3:GetObject") || iequals(action, "s3:Get*") ||
      iequals(action, "s3:GetObjectVersion")) {
    return "READ";
  }
  return to_upper(action);
}

bool principal_is_public(dom::element principal) {
  if (principal.is_string()) return principal.get_string().value_unsafe() == "*";
  for (const auto& s : json_strings(principal, "AWS")) {
    if (s == "*") return true;
  }
  return false;
}

class CloudTrailDecoder final : public JsonRecordDecoder {
 public:
  explicit CloudTrailDecoder(const DecoderOptions& o) : JsonRecordDecoder(o, kCloudTrailFormat) {
    empty_ = empty_parser_.parse("{}", 2).value_unsafe();
  }

  void decode_line(std::string_view raw, const SourcePos& pos, EventSink& sink) override {
    if (mode_ == Mode::document) return document_line(raw, pos, sink);
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
    JsonRecordDecoder::decode_line(raw, pos, sink);
  }

  void finish(EventSink& sink) override {
    if (mode_ == Mode::document && (buffering_ || dropping_)) {
      if (buffering_) reject(sink, weird::kTruncatedJson, doc_pos_, "document ends early");
      buffering_ = dropping_ = false;
    }
  }

 private:
  enum class Mode { unknown, lines, document };

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
    dom::array records;
    if (!rec["Records"].get_array().get(records)) {
      for (dom::element r : records) {
        if (!r.is_object()) {
          reject(sink, weird::kNotAnObject, pos, "a Records entry is not an object");
          continue;
        }
        event(r, pos, sink);
      }
      return;
    }
    event(rec, pos, sink);
  }

  void event(dom::element r, const SourcePos& pos, EventSink& sink) {
    AccessEvent ev;
    if (!start_event(ev, r["eventTime"], "eventTime", pos, sink)) return;
    const std::string_view name = json_str(r, "eventName");
    const std::string_view source = json_str(r, "eventSource");
    if (name.empty()) return reject(sink, weird::kMissingField, pos, "missing field 'eventName'");
    ev.operation.assign(name);
    ev.event_uid = json_text(r, "eventID");
    ev.client_ip = json_text(r, "sourceIPAddress");
    ev.result = json_str(r, "errorCode").empty() ? Result::allowed : Result::denied;
    const std::string account_id = json_text(r, "userIdentity.accountId");
    if (account_id == "anonymous" || json_str(r, "userIdentity.type") == "Anonymous") {
      ev.principal = "anonymous";
    } else {
      for (const char* path : {"userIdentity.arn", "userIdentity.userName",
                               "userIdentity.principalId", "userIdentity.invokedBy"}) {
        ev.principal = json_text(r, path);
        if (!ev.principal.empty()) break;
      }
      std::string role = json_text(r, "userIdentity.sessionContext.sessionIssuer.arn");
      if (!role.empty()) ev.principal_groups.push_back(std::move(role));
    }
    account_ = json_text(r, "recipientAccountId");
    if (account_.empty()) account_ = account_id == "anonymous" ? "" : account_id;
    dom::element params;
    if (r["requestParameters"].get(params) || !params.is_object()) params = empty_;

    if (source == "lakeformation.amazonaws.com") return lake_formation(r, params, ev, sink);
    if (source == "glue.amazonaws.com") return glue(params, ev, sink);
    if (source == "s3.amazonaws.com") return s3(params, ev, sink);
    if (source == "athena.amazonaws.com" && name == "StartQueryExecution") {
      ev.action = Action::read;
      ev.query = json_text(params, "queryString");
      return sink.on_event(std::move(ev));
    }
    sink.on_event(std::move(ev));  // any other call: kept as `other`
  }

  // ---- Lake Formation ----------------------------------------------------

  void lake_formation(dom::element r, dom::element params, AccessEvent& ev, EventSink& sink) {
    const std::string_view name = ev.operation;
    const std::string catalog = or_account(json_text(params, "catalogId"));
    if (name == "GrantPermissions" || name == "RevokePermissions") {
      ev.action = name == "GrantPermissions" ? Action::grant : Action::revoke;
      return lf_entry(params, catalog, ev, sink);
    }
    if (name == "BatchGrantPermissions" || name == "BatchRevokePermissions") {
      ev.action = name == "BatchGrantPermissions" ? Action::grant : Action::revoke;
      std::set<std::string> failed;
      dom::array failures;
      if (!json_at(r, "responseElements.failures").get_array().get(failures)) {
        for (dom::element f : failures) failed.insert(json_text(f, "requestEntry.id"));
      }
      dom::array entries;
      if (json_at(params, "entries").get_array().get(entries)) {
        return reject(sink, weird::kMissingField, ev.pos, "missing field 'entries'");
      }
      for (dom::element e : entries) {
        AccessEvent one = ev;
        const std::string id = json_text(e, "id");
        if (!id.empty() && failed.count(id) != 0) one.result = Result::denied;
        lf_entry(e, catalog, one, sink);
      }
      return;
    }
    if (name == "GetDataAccess") {
      ev.action = Action::read;
      // arn:aws:glue:<region>:<account>:table/<db>/<table>
      const std::string arn = json_text(params, "tableArn");
      const auto parts = split(arn, ':');
      if (parts.size() >= 6) {
        const auto path = split(parts[5], '/');
        if (path.size() == 3 && path[0] == "table") {
          ev.object.name =
              std::string(parts[4]) + "." + std::string(path[1]) + "." + std::string(path[2]);
          ev.object.level = ObjectLevel::table;
        } else {
          ev.object.name = arn;
        }
      }
      return sink.on_event(std::move(ev));
    }
    sink.on_event(std::move(ev));
  }

  void lf_entry(dom::element entry, const std::string& catalog, AccessEvent& ev, EventSink& sink) {
    const std::string who = json_text(entry, "principal.dataLakePrincipalIdentifier");
    if (who.empty()) {
      return reject(sink, weird::kMissingField, ev.pos,
                    "missing field 'principal.dataLakePrincipalIdentifier'");
    }
    ev.grant.grantees.push_back(lake_formation_grantee(who));
    ev.grant.privileges = json_strings(entry, "permissions");
    ev.grant.with_grant_option = !json_strings(entry, "permissionsWithGrantOption").empty();
    dom::element res;
    if (json_at(entry, "resource").get(res) || !res.is_object()) {
      return reject(sink, weird::kMissingField, ev.pos, "missing field 'resource'");
    }
    ObjectRef& t = ev.grant.target;
    dom::element v;
    if (!res["table"].get(v)) {
      const std::string cat = or_default(json_text(v, "catalogId"), catalog);
      const std::string db = json_text(v, "databaseName");
      dom::element wildcard;
      if (!v["tableWildcard"].get(wildcard)) {
        ev.grant.target_type = "ALL TABLES IN DATABASE";
        t = ObjectRef{cat + "." + db, ObjectLevel::schema, ""};
      } else {
        ev.grant.target_type = "TABLE";
        t = ObjectRef{cat + "." + db + "." + json_text(v, "name"), ObjectLevel::table, ""};
      }
    } else if (!res["tableWithColumns"].get(v)) {
      const std::string cat = or_default(json_text(v, "catalogId"), catalog);
      ev.grant.target_type = "TABLE WITH COLUMNS";
      // A column wildcard (even with exclusions) is read as the whole table.
      t = ObjectRef{cat + "." + json_text(v, "databaseName") + "." + json_text(v, "name"),
                    ObjectLevel::table, join(json_strings(v, "columnNames"), ",")};
    } else if (!res["database"].get(v)) {
      ev.grant.target_type = "DATABASE";
      t = ObjectRef{or_default(json_text(v, "catalogId"), catalog) + "." + json_text(v, "name"),
                    ObjectLevel::schema, ""};
    } else if (!res["catalog"].get(v)) {
      ev.grant.target_type = "CATALOG";
      t = ObjectRef{catalog, ObjectLevel::catalog, ""};
    } else if (!res["dataLocation"].get(v)) {
      ev.grant.target_type = "DATA LOCATION";
      t = ObjectRef{s3_from_arn(json_text(v, "resourceArn")), ObjectLevel::none, ""};
    } else {
      // LF-tag policies, data cells filters: the scope is not a name.
      dom::object o = res.get_object().value_unsafe();
      for (const auto field : o) {
        ev.grant.target_type = to_upper(field.key);
        break;
      }
    }
    ev.object = t;
    sink.on_event(std::move(ev));
  }

  // ---- Glue --------------------------------------------------------------

  void glue(dom::element params, AccessEvent& ev, EventSink& sink) {
    const std::string_view name = ev.operation;
    const std::string catalog = or_account(json_text(params, "catalogId"));
    auto table = [&](std::string db, std::string tbl) {
      if (db.empty()) return;
      ev.object = tbl.empty() ? ObjectRef{catalog + "." + db, ObjectLevel::schema, ""}
                              : ObjectRef{catalog + "." + db + "." + tbl, ObjectLevel::table, ""};
    };
    const std::string db = json_text(params, "databaseName");
    if (name == "GetTable" || name == "GetTableVersions" || name == "GetPartitions" ||
        name == "GetPartition") {
      ev.action = Action::metadata;
      std::string tbl = json_text(params, "name");
      if (tbl.empty()) tbl = json_text(params, "tableName");
      table(db, tbl);
    } else if (name == "GetTables") {
      ev.action = Action::metadata;
      table(db, "");
    } else if (name == "GetDatabase") {
      ev.action = Action::metadata;
      table(json_text(params, "name"), "");
    } else if (name == "CreateTable" || name == "UpdateTable") {
      ev.action = name == "CreateTable" ? Action::create : Action::alter;
      table(db, json_text(params, "tableInput.name"));
    } else if (name == "DeleteTable") {
      ev.action = Action::drop;
      table(db, json_text(params, "name"));
    } else if (name == "BatchDeleteTable") {
      ev.action = Action::drop;
      for (const auto& t : json_strings(params, "tablesToDelete")) {
        AccessEvent one = ev;
        one.object = ObjectRef{catalog + "." + db + "." + t, ObjectLevel::table, ""};
        sink.on_event(std::move(one));
      }
      return;
    } else if (name == "CreateDatabase") {
      ev.action = Action::create;
      table(json_text(params, "databaseInput.name"), "");
    } else if (name == "UpdateDatabase" || name == "DeleteDatabase") {
      ev.action = name == "UpdateDatabase" ? Action::alter : Action::drop;
      table(json_text(params, "name"), "");
    } else if (name == "PutResourcePolicy") {
      // The Data Catalog's resource policy: Principal "*" opens the catalog.
      dom::element policy;
      const std::string text = json_text(params, "policyInJson");
      if (!parse_inner(text, policy)) {
        return reject(sink, weird::kInvalidJson, ev.pos, "policyInJson is not JSON");
      }
      return policy_grant(policy, ObjectRef{catalog, ObjectLevel::catalog, ""}, "CATALOG POLICY",
                          ev, sink);
    } else if (name == "DeleteResourcePolicy") {
      return revoke_public(ObjectRef{catalog, ObjectLevel::catalog, ""}, "CATALOG POLICY", {"*"},
                           ev, sink);
    }
    sink.on_event(std::move(ev));
  }

  // ---- S3 ----------------------------------------------------------------

  void s3(dom::element params, AccessEvent& ev, EventSink& sink) {
    const std::string_view name = ev.operation;
    std::string bucket = json_text(params, "bucketName");
    if (bucket.empty()) {
      const auto v = json_strings(params, "bucketName");
      if (!v.empty()) bucket = v.front();
    }
    const std::string key = json_text(params, "key");
    const ObjectRef bucket_ref{bucket.empty() ? "" : "s3://" + bucket, ObjectLevel::none, ""};
    const ObjectRef object_ref{bucket.empty() ? ""
                               : key.empty()  ? bucket_ref.name
                                              : bucket_ref.name + "/" + key,
                               ObjectLevel::none, ""};
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
      return acl(params, name == "PutBucketAcl" ? bucket_ref : object_ref,
                 name == "PutBucketAcl" ? "BUCKET ACL" : "OBJECT ACL", ev, sink);
    } else if (name == "PutBucketPolicy") {
      dom::element policy;
      if (json_at(params, "bucketPolicy").get(policy)) {
        return reject(sink, weird::kMissingField, ev.pos, "missing field 'bucketPolicy'");
      }
      if (policy.is_string()) {
        const std::string text(policy.get_string().value_unsafe());
        if (!parse_inner(text, policy)) {
          return reject(sink, weird::kInvalidJson, ev.pos, "bucketPolicy is not JSON");
        }
      }
      return policy_grant(policy, bucket_ref, "BUCKET POLICY", ev, sink);
    } else if (name == "DeleteBucketPolicy") {
      return revoke_public(bucket_ref, "BUCKET POLICY", {"*"}, ev, sink);
    } else if (name == "DeleteBucketPublicAccessBlock" || name == "PutBucketPublicAccessBlock") {
      ev.action = Action::policy_change;
      ev.object = bucket_ref;
    } else if (name == "DeleteAccountPublicAccessBlock" || name == "PutAccountPublicAccessBlock") {
      ev.action = Action::policy_change;
      ev.object = ObjectRef{};
    } else {
      ev.object = bucket_ref;
    }
    sink.on_event(std::move(ev));
  }

  // PutBucketAcl / PutObjectAcl replace the whole ACL: the AllUsers and
  // AuthenticatedUsers groups it names are granted, the ones it does not are
  // revoked.
  void acl(dom::element params, const ObjectRef& target, std::string_view type, AccessEvent& ev,
           EventSink& sink) {
    std::vector<std::pair<std::string, std::vector<std::string>>> groups = {
        {std::string(kAllUsers), {}}, {std::string(kAuthenticatedUsers), {}}};
    auto add = [&](std::string_view uri_or_name, std::string privilege) {
      for (auto& [group, privs] : groups) {
        if (ends_with(uri_or_name, "/" + group) || uri_or_name == group) {
          add_unique(privs, std::move(privilege));
          return;
        }
      }
    };
    const auto canned_list = json_strings(params, "x-amz-acl");  // a string or ["..."]
    const std::string canned = canned_list.empty() ? "" : canned_list.front();
    if (canned == "public-read") add(kAllUsers, "READ");
    if (canned == "public-read-write") {
      add(kAllUsers, "READ");
      add(kAllUsers, "WRITE");
    }
    if (canned == "authenticated-read") add(kAuthenticatedUsers, "READ");
    dom::element grants;
    if (!json_at(params, "AccessControlPolicy.AccessControlList.Grant").get(grants)) {
      auto one = [&](dom::element g) {
        const std::string uri = json_text(g, "Grantee.URI");
        if (!uri.empty()) add(uri, acl_privilege(json_text(g, "Permission")));
      };
      if (grants.is_array()) {
        for (dom::element g : dom::array(grants.get_array().value_unsafe())) one(g);
      } else {
        one(grants);
      }
    }
    // x-amz-grant-read: uri="http://acs.amazonaws.com/groups/global/AllUsers", ...
    const std::pair<const char*, const char*> headers[] = {{"x-amz-grant-read", "READ"},
                                                           {"x-amz-grant-write", "WRITE"},
                                                           {"x-amz-grant-read-acp", "READ_ACP"},
                                                           {"x-amz-grant-write-acp", "WRITE_ACP"},
                                                           {"x-amz-grant-full-control", "ALL"}};
    for (const auto& [header, privilege] : headers) {
      const std::string v = json_text(params, header);
      for (auto& [group, privs] : groups) {
        if (v.find("/" + group + "\"") != std::string::npos) add_unique(privs, privilege);
      }
    }
    ev.action = Action::grant;
    ev.object = target;
    ev.grant.target = target;
    ev.grant.target_type = std::string(type);
    std::vector<std::string> absent;
    for (auto& [group, privs] : groups) {
      if (privs.empty()) {
        absent.push_back(group);
        continue;
      }
      AccessEvent one = ev;
      one.grant.grantees.push_back(Grantee{GranteeKind::group, group});
      one.grant.privileges = std::move(privs);
      sink.on_event(std::move(one));
    }
    if (!absent.empty()) revoke_public(target, type, absent, ev, sink);
  }

  // An IAM-style policy document: Allow statements whose Principal is "*"
  // become one grant to "*" (conditions noted in the target type, not
  // evaluated); a policy without one revokes "*".
  void policy_grant(dom::element policy, const ObjectRef& target, std::string_view type,
                    AccessEvent& ev, EventSink& sink) {
    std::vector<std::string> privileges;
    bool conditional = false;
    auto statement = [&](dom::element s) {
      if (json_str(s, "Effect") != "Allow") return;
      dom::element principal;
      if (s["Principal"].get(principal) || !principal_is_public(principal)) return;
      dom::element cond;
      if (!s["Condition"].get(cond)) conditional = true;
      for (const auto& a : json_strings(s, "Action")) add_unique(privileges, policy_privilege(a));
    };
    dom::element statements;
    if (!json_at(policy, "Statement").get(statements)) {
      if (statements.is_array()) {
        for (dom::element s : dom::array(statements.get_array().value_unsafe())) statement(s);
      } else {
        statement(statements);
      }
    }
    if (privileges.empty()) return revoke_public(target, type, {"*"}, ev, sink);
    ev.action = Action::grant;
    ev.object = target;
    ev.grant.target = target;
    ev.grant.target_type = std::string(type) + (conditional ? " (CONDITIONAL)" : "");
    ev.grant.grantees.push_back(Grantee{GranteeKind::group, "*"});
    ev.grant.privileges = std::move(privileges);
    sink.on_event(std::move(ev));
  }

  void revoke_public(const ObjectRef& target, std::string_view type,
                     const std::vector<std::string>& who, const AccessEvent& proto,
                     EventSink& sink) {
    AccessEvent ev = proto;
    ev.action = Action::revoke;
    ev.object = target;
    ev.grant = GrantInfo{};
    ev.grant.target = target;
    ev.grant.target_type = std::string(type);
    ev.grant.privileges = {"ALL"};
    for (const auto& w : who) ev.grant.grantees.push_back(Grantee{GranteeKind::group, w});
    sink.on_event(std::move(ev));
  }

  std::string or_account(std::string s) const { return s.empty() ? account_ : s; }
  static std::string or_default(std::string s, const std::string& fallback) {
    return s.empty() ? fallback : s;
  }
  static std::string s3_from_arn(const std::string& arn) {
    constexpr std::string_view kPrefix = "arn:aws:s3:::";
    if (starts_with(arn, kPrefix)) return "s3://" + arn.substr(kPrefix.size());
    return arn;
  }

  Mode mode_ = Mode::unknown;
  bool buffering_ = false;
  bool dropping_ = false;
  std::string doc_;
  SourcePos doc_pos_;
  DocScanner scan_;
  std::string account_;  // of the record being decoded
  dom::parser empty_parser_;
  dom::element empty_;  // "{}": requestParameters when a record has none
};

}  // namespace

Grantee lake_formation_grantee(std::string_view id) {
  if (id == "IAM_ALLOWED_PRINCIPALS" || ends_with(id, ":IAMPrincipals")) {
    return Grantee{GranteeKind::group, std::string(id)};
  }
  if (starts_with(id, "arn:")) {
    const auto colon = id.rfind(':');
    const std::string_view resource = id.substr(colon + 1);
    if (starts_with(resource, "role/")) return Grantee{GranteeKind::role, std::string(id)};
    if (starts_with(resource, "user/")) return Grantee{GranteeKind::user, std::string(id)};
  }
  // Accounts, organizations, OUs, SAML and Identity Center groups: many principals.
  return Grantee{GranteeKind::group, std::string(id)};
}

std::unique_ptr<Decoder> make_cloudtrail_decoder(const DecoderOptions& options) {
  return std::make_unique<CloudTrailDecoder>(options);
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
  };
}

}  // namespace sevwatch::detectors
