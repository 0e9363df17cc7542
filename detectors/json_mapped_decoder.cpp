#include "detectors/json_mapped_decoder.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <utility>

#include "detectors/event_time.h"
#include "detectors/json_record.h"
#include "detectors/sql_lexer.h"
#include "detectors/time_parse.h"

namespace sevwatch::detectors {
namespace {

bool action_from(std::string_view s, Action& out) {
  for (int i = 0; i <= static_cast<int>(Action::metadata); ++i) {
    const auto a = static_cast<Action>(i);
    if (to_string(a) == s) {
      out = a;
      return true;
    }
  }
  return false;
}

bool result_from(std::string_view s, Result& out) {
  for (const Result r : {Result::unknown, Result::allowed, Result::denied}) {
    if (to_string(r) == s) {
      out = r;
      return true;
    }
  }
  return false;
}

bool digits(std::string_view s, std::size_t& pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  pos += n;
  out = v;
  return true;
}

class JsonMappedDecoder final : public JsonRecordDecoder {
 public:
  JsonMappedDecoder(const DecoderOptions& o, JsonMapping m, std::string error)
      : JsonRecordDecoder(o, kJsonMappedFormat), m_(std::move(m)), error_(std::move(error)) {}

 private:
  void on_record(dom::element rec, const SourcePos& pos, EventSink& sink) override {
    if (!error_.empty()) {
      if (!reported_) reject(sink, weird::kUnknownFormat, pos, error_);
      reported_ = true;
      return;
    }
    AccessEvent ev;
    ev.format = format_;
    ev.pos = pos;
    dom::element tv;
    if (json_at(rec, m_.time_path).get(tv) || tv.is_null()) {
      return reject(sink, weird::kMissingField, pos, "missing field '" + m_.time_path + "'");
    }
    if (!time_of(tv, ev)) {
      return reject(sink, weird::kBadTimestamp, pos,
                    m_.time_path + " '" + json_text(tv) + "' is not " + m_.time_format);
    }
    if (ev.time_zone_assumed) {
      ev.time_ms -= static_cast<std::int64_t>(opts_.assumed_utc_offset_minutes) * 60000;
    }
    auto text = [&](const std::string& path) { return path.empty() ? "" : json_text(rec, path); };
    ev.principal = text(m_.principal);
    ev.query = text(m_.query);
    ev.client_ip = text(m_.client_ip);
    ev.event_uid = text(m_.event_uid);
    ev.session = text(m_.session);
    ev.operation = text(m_.action_path);
    if (auto it = m_.action_values.find(ev.operation); it != m_.action_values.end()) {
      ev.action = it->second;
    }
    if (!m_.result_path.empty()) {
      const std::string r = text(m_.result_path);
      if (auto it = m_.result_values.find(r); it != m_.result_values.end()) ev.result = it->second;
    }
    ev.object.name = text(m_.object);
    ev.object.level = level_of(ev.object.name);
    if (ev.action == Action::grant || ev.action == Action::revoke) {
      ev.grant.target = ev.object;
      if (!m_.privileges.empty()) {
        for (auto& p : json_strings(rec, m_.privileges)) ev.grant.privileges.push_back(to_upper(p));
      }
      if (!m_.grantee.empty()) {
        for (auto& g : json_strings(rec, m_.grantee)) {
          ev.grant.grantees.push_back(Grantee{m_.grantee_kind, std::move(g)});
        }
      }
    }
    sink.on_event(std::move(ev));
  }

  bool time_of(dom::element tv, AccessEvent& ev) const {
    const std::string& f = m_.time_format;
    if (f == "rfc3339") {
      return tv.is_string() &&
             parse_zoned_time(tv.get_string().value_unsafe(), ev.time_ms, ev.time_zone_assumed);
    }
    if (f == "epoch_ms" || f == "epoch_s") {
      std::int64_t n = 0;
      const std::string t = json_text(tv);
      double d = 0;
      const auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), d);
      if (ec != std::errc() || ptr != t.data() + t.size() || !(d >= 0 && d < 1e16)) return false;
      n = static_cast<std::int64_t>(f == "epoch_s" ? d * 1000 : d);
      ev.time_ms = n;
      return true;
    }
    return tv.is_string() &&
           parse_time_format(tv.get_string().value_unsafe(), f, ev.time_ms, ev.time_zone_assumed);
  }

  ObjectLevel level_of(const std::string& name) const {
    const std::string& l = m_.object_level;
    if (name.empty() || l == "none") return ObjectLevel::none;
    if (l == "catalog") return ObjectLevel::catalog;
    if (l == "schema") return ObjectLevel::schema;
    if (l == "table") return ObjectLevel::table;
    switch (split(name, '.').size()) {  // auto: by the number of dotted parts
      case 1:
        return ObjectLevel::catalog;
      case 2:
        return ObjectLevel::schema;
      case 3:
        return ObjectLevel::table;
      default:
        return ObjectLevel::none;
    }
  }

  JsonMapping m_;
  std::string error_;
  bool reported_ = false;
};

}  // namespace

bool parse_time_format(std::string_view s, std::string_view f, std::int64_t& ms,
                       bool& zone_assumed) {
  int y = 1970, mo = 1, d = 1, h = 0, mi = 0, sec = 0, frac = 0, offset = 0;
  bool zone = false;
  std::size_t p = 0;
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%' || i + 1 == f.size()) {
      if (p >= s.size() || s[p] != f[i]) return false;
      ++p;
      continue;
    }
    const char spec = f[++i];
    bool ok = true;
    switch (spec) {
      case 'Y':
        ok = digits(s, p, 4, y);
        break;
      case 'm':
        ok = digits(s, p, 2, mo);
        break;
      case 'd':
        ok = digits(s, p, 2, d);
        break;
      case 'H':
        ok = digits(s, p, 2, h);
        break;
      case 'M':
        ok = digits(s, p, 2, mi);
        break;
      case 'S':
        ok = digits(s, p, 2, sec);
        break;
      case 'f': {  // fraction digits, milliseconds kept
        int scale = 100;
        const std::size_t start = p;
        while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
          frac += (s[p] - '0') * scale;
          scale /= 10;
          ++p;
        }
        ok = p > start;
        break;
      }
      case 'z': {
        std::size_t e = p;
        while (e < s.size() && s[e] != ' ') ++e;
        ok = parse_zone(s.substr(p, e - p), offset);
        zone = true;
        p = e;
        break;
      }
      case '%':
        ok = p < s.size() && s[p++] == '%';
        break;
      default:
        return false;
    }
    if (!ok) return false;
  }
  if (p != s.size()) return false;
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) {
    return false;
  }
  ms = to_epoch_ms(y, mo, d, h, mi, sec, frac) - static_cast<std::int64_t>(offset) * 60000;
  zone_assumed = !zone;
  return true;
}

bool parse_json_mapping(std::string_view text, JsonMapping& m, std::string& error) {
  m = JsonMapping{};
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    error = std::string("invalid YAML: ") + e.what();
    return false;
  }
  if (!root.IsMap()) {
    error = "the mapping must be a YAML map";
    return false;
  }
  try {
    for (const auto& kv : root) {
      const std::string key = kv.first.as<std::string>();
      const YAML::Node& v = kv.second;
      const std::string path = v.IsScalar() ? v.as<std::string>() : v["path"].as<std::string>("");
      if (path.empty()) {
        error = "'" + key + "' has no path";
        return false;
      }
      if (key == "time") {
        m.time_path = path;
        if (v.IsMap() && v["format"]) m.time_format = v["format"].as<std::string>();
        const std::string& tf = m.time_format;
        if (tf != "rfc3339" && tf != "epoch_ms" && tf != "epoch_s" &&
            tf.find('%') == std::string::npos) {
          error = "time format '" + tf + "' (expected rfc3339, epoch_ms, epoch_s or %-format)";
          return false;
        }
      } else if (key == "action" || key == "result") {
        (key == "action" ? m.action_path : m.result_path) = path;
        if (v.IsMap() && v["values"]) {
          for (const auto& val : v["values"]) {
            const std::string from = val.first.as<std::string>();
            const std::string to = val.second.as<std::string>();
            Action a;
            Result r;
            if (key == "action" && action_from(to, a)) {
              m.action_values[from] = a;
            } else if (key == "result" && result_from(to, r)) {
              m.result_values[from] = r;
            } else {
              error = "unknown " + key + " '" + to + "' for value '" + from + "'";
              return false;
            }
          }
        }
      } else if (key == "object") {
        m.object = path;
        if (v.IsMap() && v["level"]) m.object_level = v["level"].as<std::string>();
      } else if (key == "grantee") {
        m.grantee = path;
        const std::string kind = v.IsMap() ? v["kind"].as<std::string>("") : "";
        m.grantee_kind = kind == "user"    ? GranteeKind::user
                         : kind == "group" ? GranteeKind::group
                         : kind == "role"  ? GranteeKind::role
                                           : GranteeKind::unknown;
      } else if (key == "principal") {
        m.principal = path;
      } else if (key == "privileges") {
        m.privileges = path;
      } else if (key == "query") {
        m.query = path;
      } else if (key == "client_ip") {
        m.client_ip = path;
      } else if (key == "event_uid") {
        m.event_uid = path;
      } else if (key == "session") {
        m.session = path;
      } else {
        error = "unknown key '" + key + "'";
        return false;
      }
    }
  } catch (const YAML::Exception& e) {
    error = std::string("bad mapping: ") + e.what();
    return false;
  }
  if (m.time_path.empty()) {
    error = "the mapping needs 'time'";
    return false;
  }
  return true;
}

bool load_json_mapping(const std::string& path, JsonMapping& out, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = path + ": cannot read the mapping file";
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (!parse_json_mapping(ss.str(), out, error)) {
    error = path + ": " + error;
    return false;
  }
  return true;
}

std::unique_ptr<Decoder> make_json_mapped_decoder(const DecoderOptions& options,
                                                  JsonMapping mapping) {
  return std::make_unique<JsonMappedDecoder>(options, std::move(mapping), "");
}

std::unique_ptr<Decoder> make_json_mapped_decoder(const DecoderOptions& options) {
  JsonMapping m;
  std::string error;
  if (options.mapping_file.empty()) {
    error = "json_mapped needs a mapping file (DecoderOptions::mapping_file)";
  } else {
    load_json_mapping(options.mapping_file, m, error);
  }
  // A bad mapping is reported once, on the first record.
  return std::make_unique<JsonMappedDecoder>(options, std::move(m), std::move(error));
}

DecoderInfo json_mapped_decoder_info() {
  return DecoderInfo{
      std::string(kJsonMappedFormat),
      "JSON lines with a YAML field mapping (--mapping); never auto-detected",
      nullptr,
      [](const DecoderOptions& o) { return make_json_mapped_decoder(o); },
  };
}

}  // namespace sevwatch::detectors
