#include "detectors/hive_hms_decoder.h"

#include <string>
#include <utility>

#include "detectors/json_record.h"
#include "detectors/log4j_record.h"

namespace sevwatch::detectors {
namespace {

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

// The value after `key` (e.g. "tbl=") up to a space, tab or comma.
std::string_view value_after(std::string_view s, std::string_view key) {
  std::size_t at = 0;
  for (;;) {
    at = s.find(key, at);
    if (at == std::string_view::npos) return {};
    if (at == 0 || s[at - 1] == ' ' || s[at - 1] == ':' || s[at - 1] == '(' || s[at - 1] == ',') {
      break;
    }
    at += key.size();
  }
  std::string_view v = s.substr(at + key.size());
  const auto end = v.find_first_of(" \t,)");
  return v.substr(0, end);
}

struct HmsAudit {
  std::string_view ugi, ip, cmd;
};

// "ugi=U\tip=I\tcmd=C\t" (tabs; spaces accepted when a copy lost them).
bool parse_audit(std::string_view m, HmsAudit& a) {
  if (!starts_with(m, "ugi=")) return false;
  auto ip_at = m.find("\tip=");
  if (ip_at == std::string_view::npos) ip_at = m.find(" ip=");
  if (ip_at == std::string_view::npos) return false;
  a.ugi = m.substr(4, ip_at - 4);
  std::string_view rest = m.substr(ip_at + 4);
  auto cmd_at = rest.find("\tcmd=");
  if (cmd_at == std::string_view::npos) cmd_at = rest.find(" cmd=");
  if (cmd_at == std::string_view::npos) return false;
  a.ip = rest.substr(0, cmd_at);
  a.cmd = rest.substr(cmd_at + 5);
  while (!a.cmd.empty() && (a.cmd.back() == '\t' || a.cmd.back() == ' ')) a.cmd.remove_suffix(1);
  return true;
}

class HiveHmsDecoder final : public Decoder {
 public:
  explicit HiveHmsDecoder(const DecoderOptions& o)
      : opts_(o),
        catalog_(o.catalog.empty() ? std::string(kDefaultHiveCatalog) : o.catalog),
        asm_(
            o.max_line_bytes, [](std::string_view m) { return starts_with(m, "ugi="); },
            [this](const Log4jLine& l, std::string_view m, const SourcePos& p, EventSink& s) {
              record(l, m, p, s);
            }) {}

  std::string_view name() const override { return kHiveHmsFormat; }
  void decode_line(std::string_view line, const SourcePos& pos, EventSink& sink) override {
    asm_.line(line, pos, sink);
  }
  void finish(EventSink& sink) override { asm_.finish(sink); }
  const SourcePos* pending_from() const override { return asm_.pending_from(); }

 private:
  void record(const Log4jLine& l, std::string_view message, const SourcePos& pos, EventSink& sink) {
    HmsAudit a;
    if (!parse_audit(message, a)) {
      sink.on_weird(Weird{weird::kUnknownShape, pos, "audit line without ugi=, ip= and cmd="});
      return;
    }
    AccessEvent ev;
    ev.time_ms = l.wall_ms - static_cast<std::int64_t>(opts_.assumed_utc_offset_minutes) * 60000;
    ev.time_zone_assumed = true;
    ev.format.assign(kHiveHmsFormat);
    ev.pos = pos;
    ev.principal.assign(a.ugi);
    std::string_view ip = a.ip;
    if (!ip.empty() && ip[0] == '/') ip.remove_prefix(1);
    if (ip != "unknown-ip-addr") ev.client_ip.assign(ip);

    std::string_view cmd = a.cmd;
    if (starts_with(cmd, "source:")) {  // "source:<ip> " when the caller is not SASL
      const auto sp = cmd.find(' ');
      if (ev.client_ip.empty()) ev.client_ip.assign(cmd.substr(7, sp - 7));
      cmd = sp == std::string_view::npos ? std::string_view() : cmd.substr(sp + 1);
    }
    std::size_t f = 0;
    while (f < cmd.size() && cmd[f] != ' ' && cmd[f] != ':' && cmd[f] != '\t') ++f;
    const std::string_view function = cmd.substr(0, f);
    std::string_view args = cmd.substr(f);
    while (!args.empty() && (args[0] == ' ' || args[0] == ':')) args.remove_prefix(1);
    if (function.empty()) {
      sink.on_weird(Weird{weird::kUnknownShape, pos, "cmd= without a function name"});
      return;
    }
    ev.operation.assign(function);
    ev.action = hms_function_to_action(function);
    object_of(function, args, ev.object);
    sink.on_event(std::move(ev));
  }

  void object_of(std::string_view function, std::string_view args, ObjectRef& out) const {
    std::string catalog = catalog_;
    std::string_view db, tbl;
    if (std::string_view t = value_after(args, "tbl="); !t.empty()) {
      const auto parts = split(t, '.');
      if (parts.size() >= 3) {  // Hive 3+: cat.db.tbl
        if (opts_.catalog.empty()) catalog.assign(parts[0]);
        db = parts[1];
        tbl = t.substr(parts[0].size() + parts[1].size() + 2);
      } else if (parts.size() == 2) {
        db = parts[0];
        tbl = parts[1];
      } else {
        tbl = t;
      }
    }
    if (std::string_view c = value_after(args, "catName="); !c.empty() && opts_.catalog.empty()) {
      catalog.assign(c);
    }
    if (db.empty()) db = value_after(args, "db=");
    if (starts_with(args, "Table(")) {  // create_table dumps the Thrift object
      tbl = value_after(args, "tableName:");
      db = value_after(args, "dbName:");
      if (std::string_view c = value_after(args, "catName:"); !c.empty() && opts_.catalog.empty()) {
        catalog.assign(c);
      }
    } else if (starts_with(args, "Database(")) {
      db = value_after(args, "name:");
    } else if (db.empty() && tbl.empty() && function.find("database") != std::string_view::npos &&
               !args.empty() && args.find_first_of(" =:(") == std::string_view::npos) {
      db = args;  // Hive 2: "get_database: sales"
    }
    if (db.empty() && !tbl.empty()) db = "default";
    if (db.empty()) return;
    out.name = catalog + "." + std::string(db);
    out.level = ObjectLevel::schema;
    if (!tbl.empty()) {
      out.name += "." + std::string(tbl);
      out.level = ObjectLevel::table;
    }
  }

  DecoderOptions opts_;
  std::string catalog_;
  Log4jAssembler asm_;
};

}  // namespace

Action hms_function_to_action(std::string_view f) {
  if (starts_with(f, "get_") || starts_with(f, "list_") || starts_with(f, "show_")) {
    return Action::metadata;
  }
  if (starts_with(f, "create_")) return Action::create;
  if (starts_with(f, "drop_")) return Action::drop;
  if (starts_with(f, "alter_") || starts_with(f, "rename_")) return Action::alter;
  if (starts_with(f, "add_partition") || starts_with(f, "append_partition") ||
      starts_with(f, "exchange_partition") || starts_with(f, "truncate_table")) {
    return Action::write;
  }
  return Action::other;
}

std::unique_ptr<Decoder> make_hive_hms_decoder(const DecoderOptions& options) {
  return std::make_unique<HiveHmsDecoder>(options);
}

int sniff_hive_hms(const std::vector<std::string_view>& first_lines) {
  return sniff_lines(first_lines, [](std::string_view l) {
    Log4jLine p;
    HmsAudit a;
    return parse_log4j_line(l, p) && parse_audit(p.message, a);
  });
}

DecoderInfo hive_hms_decoder_info() {
  return DecoderInfo{
      std::string(kHiveHmsFormat),
      "HiveMetaStore audit log (ugi= ip= cmd= lines)",
      sniff_hive_hms,
      make_hive_hms_decoder,
  };
}

}  // namespace sevwatch::detectors
