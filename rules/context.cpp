#include "rules/context.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <functional>
#include <unordered_set>
#include <utility>

#include "rules/glob.h"

namespace sevwatch::rules {
namespace {

// Transparent hashing so that lookups by string_view do not allocate. Not
// noexcept on purpose: libstdc++ then caches each node's hash code instead of
// rehashing keys while walking a bucket (a 3x difference on 60k-entry maps).
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StringSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

char lower(char c) {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

constexpr std::string_view kUnclassified = "unclassified";
constexpr std::size_t kMaxCsvErrors = 100;

constexpr std::string_view kBuiltinDefault = R"(sensitivity:
  internal: low
audiences:
  internet: [allUsers, AllUsers, "*"]
  external: [allAuthenticatedUsers, AuthenticatedUsers]
  company: [public, PUBLIC, all_employees, "account users", IAM_ALLOWED_PRINCIPALS]
objects:
  - match: "*"
    sensitivity: internal
)";

// Exact object names -> an index: open addressing over names kept in one
// arena, so that a 60k-row inventory costs a handful of allocations (and page
// faults) rather than two per row.
class NameIndex {
 public:
  void reserve(std::size_t names, std::size_t bytes) {
    arena_.reserve(bytes);
    entries_.reserve(names);
    if (slots_.size() < 2 * names) rehash(2 * names);
  }
  // The value slot of `name`, and whether it was inserted (with value 0).
  std::pair<std::uint32_t*, bool> try_emplace(std::string_view name) {
    if (2 * (entries_.size() + 1) > slots_.size()) rehash(2 * (entries_.size() + 1));
    const std::size_t h = std::hash<std::string_view>{}(name);
    std::size_t i = h & (slots_.size() - 1);
    for (; slots_[i] != 0; i = (i + 1) & (slots_.size() - 1)) {
      Entry& e = entries_[slots_[i] - 1];
      if (e.hash == h && key(e) == name) return {&e.value, false};
    }
    entries_.push_back(Entry{h, static_cast<std::uint32_t>(arena_.size()),
                             static_cast<std::uint32_t>(name.size()), 0});
    arena_.append(name);
    slots_[i] = static_cast<std::uint32_t>(entries_.size());
    return {&entries_.back().value, true};
  }
  const std::uint32_t* find(std::string_view name) const {
    if (entries_.empty()) return nullptr;
    const std::size_t h = std::hash<std::string_view>{}(name);
    for (std::size_t i = h & (slots_.size() - 1); slots_[i] != 0;
         i = (i + 1) & (slots_.size() - 1)) {
      const Entry& e = entries_[slots_[i] - 1];
      if (e.hash == h && key(e) == name) return &e.value;
    }
    return nullptr;
  }
  bool contains(std::string_view name) const { return find(name) != nullptr; }

 private:
  struct Entry {
    std::size_t hash;
    std::uint32_t offset;  // into arena_
    std::uint32_t size;
    std::uint32_t value;
  };
  std::string_view key(const Entry& e) const {
    return std::string_view(arena_).substr(e.offset, e.size);
  }
  void rehash(std::size_t at_least) {
    std::size_t n = 16;
    while (n < at_least) n *= 2;
    slots_.assign(n, 0);
    for (std::size_t k = 0; k < entries_.size(); ++k) {
      std::size_t i = entries_[k].hash & (n - 1);
      while (slots_[i] != 0) i = (i + 1) & (n - 1);
      slots_[i] = static_cast<std::uint32_t>(k + 1);
    }
  }
  std::string arena_;
  std::vector<Entry> entries_;
  std::vector<std::uint32_t> slots_;  // entries_ index + 1; 0 is empty
};

// A regular file's bytes, mapped and pre-faulted (no copy, no per-page faults).
class FileBytes {
 public:
  explicit FileBytes(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
      size_ = static_cast<std::size_t>(st.st_size);
      void* p = size_ == 0 ? nullptr
                           : ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
      ok_ = p != MAP_FAILED;
      if (ok_) map_ = p;
    }
    ::close(fd);
  }
  ~FileBytes() {
    if (map_ != nullptr) ::munmap(map_, size_);
  }
  FileBytes(const FileBytes&) = delete;
  FileBytes& operator=(const FileBytes&) = delete;
  bool ok() const { return ok_; }
  std::string_view view() const {
    return map_ == nullptr ? std::string_view() : std::string_view(static_cast<char*>(map_), size_);
  }

 private:
  bool ok_ = false;
  void* map_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace

struct Context::Impl {
  struct ObjectRule {
    Glob glob;
    std::uint32_t info = 0;  // index into infos
  };

  // Organization.
  bool has_organization = false;
  std::vector<std::string> domains;  // a few; compared case-insensitively
  StringSet accounts;
  std::vector<Glob> principal_globs;

  StringMap<Level> sensitivity;
  StringMap<Audience> audience_of;     // member -> broadest class listing it
  StringMap<StringSet> group_members;  // group -> transitive members (principals, groups)

  // Every ObjectInfo classify() can return, in one vector that never grows
  // after loading, so that is_intended_reader() can tell its own objects by
  // address; reader_set_of[i] is the interned reader set of infos[i].
  std::vector<ObjectInfo> infos;
  std::vector<std::uint32_t> reader_set_of;
  std::vector<StringSet> reader_sets;         // flattened intended readers
  StringMap<std::uint32_t> reader_set_index;  // audience key -> reader_sets index

  NameIndex csv;  // object -> infos index
  std::vector<ObjectRule> rules;
  StringMap<std::uint32_t> exact_rule;  // literal name -> index of its first rule
  std::uint32_t unclassified = 0;

  // The key that identifies an object's intended readers.
  static std::string audience_key(const ObjectInfo& info) {
    if (info.audience.empty()) return "\x01" + info.owner;
    std::string key;
    for (const auto& m : info.audience) {
      key += m;
      key += '\x1f';
    }
    return key;
  }

  // Adds `member` and, when it is a group, everything in it.
  void add_reader(StringSet& set, const std::string& member) const {
    if (member.empty()) return;
    set.insert(member);
    if (auto it = group_members.find(member); it != group_members.end()) {
      set.insert(it->second.begin(), it->second.end());
    }
  }

  std::uint32_t intern_readers(const ObjectInfo& info) {
    std::string key = audience_key(info);
    if (auto it = reader_set_index.find(key); it != reader_set_index.end()) return it->second;
    StringSet set;
    if (info.audience.empty()) {
      add_reader(set, info.owner);
    } else {
      for (const auto& m : info.audience) add_reader(set, m);
    }
    const auto id = static_cast<std::uint32_t>(reader_sets.size());
    reader_sets.push_back(std::move(set));
    reader_set_index.emplace(std::move(key), id);
    return id;
  }

  // Groups must be known already: the reader set is interned right away.
  std::uint32_t add_info(ObjectInfo info) {
    const auto id = static_cast<std::uint32_t>(infos.size());
    reader_set_of.push_back(intern_readers(info));
    infos.push_back(std::move(info));
    return id;
  }

  // True when `member` is `reader` or reaches it through groups.
  bool member_reaches(const std::string& member, std::string_view reader) const {
    if (member == reader) return true;
    auto it = group_members.find(member);
    return it != group_members.end() && it->second.contains(reader);
  }
};

namespace {

// yaml-cpp marks are 0-based, and -1 when unknown: +1 gives our 1-based
// positions, with 0 for unknown. The one place that conversion happens.
SourceLoc loc_of(const std::string& file, const YAML::Mark& m) {
  return SourceLoc{file, m.line + 1, m.column + 1};
}

std::string_view node_kind(YAML::NodeType::value t) {
  static constexpr std::string_view kNames[] = {"undefined", "nothing", "a scalar", "a list",
                                                "a mapping"};
  return kNames[static_cast<int>(t)];
}

// A scalar with its position, as read from the YAML.
struct Item {
  std::string value;
  YAML::Node node;
};

// Reads the YAML tree into an Impl, reporting every problem.
class Loader {
 public:
  Loader(std::string file, Diagnostics& diags, Context::Impl& impl)
      : file_(std::move(file)), diags_(diags), impl_(impl) {}

  void load(const YAML::Node& root, std::vector<std::string>& inventory);

 private:
  void error(std::string code, const YAML::Node& at, std::string message) {
    diags_.error(std::move(code), loc_of(file_, at.Mark()), std::move(message));
  }
  bool expect(const YAML::Node& n, YAML::NodeType::value type, std::string_view what) {
    if (n.Type() == type) return true;
    error("E_TYPE", n,
          fmt::format("{} must be {}, not {}", what, node_kind(type), node_kind(n.Type())));
    return false;
  }
  std::optional<std::string> scalar(const YAML::Node& n, std::string_view what) {
    if (!expect(n, YAML::NodeType::Scalar, what)) return std::nullopt;
    return n.Scalar();
  }
  // The entries of a mapping with scalar keys; duplicate keys are reported.
  std::vector<std::pair<Item, YAML::Node>> entries(const YAML::Node& map, std::string_view what);
  std::vector<Item> scalars(const YAML::Node& seq, std::string_view what);
  std::optional<Glob> glob(const Item& item, std::string_view what);

  void organization(const YAML::Node& n);
  void sensitivity(const YAML::Node& n);
  void audiences(const YAML::Node& n);
  void groups(const YAML::Node& n);
  void objects(const YAML::Node& n, std::vector<std::string>& names);
  void objects_csv(const YAML::Node& n, std::vector<std::string>& names);
  void csv_text(const std::string& csv_file, std::string_view data,
                std::vector<std::string>& names);

  std::string file_;
  Diagnostics& diags_;
  Context::Impl& impl_;
};

std::vector<std::pair<Item, YAML::Node>> Loader::entries(const YAML::Node& map,
                                                         std::string_view what) {
  std::vector<std::pair<Item, YAML::Node>> out;
  if (!expect(map, YAML::NodeType::Map, what)) return out;
  StringSet seen;
  for (const auto& kv : map) {
    const YAML::Node key = kv.first;
    auto name = scalar(key, fmt::format("a key of {}", what));
    if (!name) continue;
    if (!seen.insert(*name).second) {
      error("E_DUPLICATE_KEY", key, fmt::format("duplicate key '{}' in {}", *name, what));
      continue;
    }
    out.emplace_back(Item{*name, key}, kv.second);
  }
  return out;
}

std::vector<Item> Loader::scalars(const YAML::Node& seq, std::string_view what) {
  std::vector<Item> out;
  if (!expect(seq, YAML::NodeType::Sequence, what)) return out;
  for (const auto& n : seq) {
    if (auto s = scalar(n, fmt::format("an entry of {}", what))) out.push_back(Item{*s, n});
  }
  return out;
}

std::optional<Glob> Loader::glob(const Item& item, std::string_view what) {
  Glob::Error err;
  auto g = Glob::compile(item.value, &err);
  if (!g) {
    error("E_BAD_GLOB", item.node,
          fmt::format("malformed glob '{}' in {}: {} at offset {}", item.value, what, err.message,
                      err.offset));
  }
  return g;
}

void Loader::load(const YAML::Node& root, std::vector<std::string>& inventory) {
  if (root.IsNull()) return;  // an empty file: an empty context
  auto top = entries(root, "the context file");
  const YAML::Node* section[6] = {};
  static constexpr std::string_view kKeys[] = {"organization", "sensitivity", "audiences",
                                               "groups",       "objects",     "objects_csv"};
  for (auto& [key, value] : top) {
    auto it = std::find(std::begin(kKeys), std::end(kKeys), key.value);
    if (it == std::end(kKeys)) {
      error("E_UNKNOWN_KEY", key.node,
            fmt::format("unknown key '{}' (expected organization, sensitivity, audiences, "
                        "groups, objects or objects_csv)",
                        key.value));
      continue;
    }
    section[it - std::begin(kKeys)] = &value;
  }
  // Dependencies first: classes before objects, groups before readers.
  if (section[0] != nullptr) organization(*section[0]);
  if (section[1] != nullptr) sensitivity(*section[1]);
  if (section[2] != nullptr) audiences(*section[2]);
  if (section[3] != nullptr) groups(*section[3]);
  std::vector<std::string> exact_names;
  std::vector<std::string> csv_names;
  if (section[4] != nullptr) objects(*section[4], exact_names);
  if (section[5] != nullptr) objects_csv(*section[5], csv_names);

  // The inventory, in the order the two sections appear in the file; CSV
  // names are unique already, exact names are checked against everything.
  const bool csv_first = section[4] != nullptr && section[5] != nullptr &&
                         section[5]->Mark().pos < section[4]->Mark().pos;
  inventory.reserve(exact_names.size() + csv_names.size());
  StringSet exact_seen;
  auto add_exact = [&] {
    for (auto& name : exact_names) {
      if ((csv_first && impl_.csv.contains(name)) || !exact_seen.insert(name).second) continue;
      inventory.push_back(std::move(name));
    }
  };
  if (!csv_first) add_exact();
  for (auto& name : csv_names) {
    if (!csv_first && exact_seen.contains(name)) continue;
    inventory.push_back(std::move(name));
  }
  if (csv_first) add_exact();
}

void Loader::organization(const YAML::Node& n) {
  impl_.has_organization = true;
  for (auto& [key, value] : entries(n, "organization")) {
    if (key.value == "domains") {
      for (auto& d : scalars(value, "organization.domains")) impl_.domains.push_back(d.value);
    } else if (key.value == "accounts") {
      for (auto& a : scalars(value, "organization.accounts")) impl_.accounts.insert(a.value);
    } else if (key.value == "principals") {
      for (auto& p : scalars(value, "organization.principals")) {
        if (auto g = glob(p, "organization.principals")) {
          impl_.principal_globs.push_back(std::move(*g));
        }
      }
    } else {
      error("E_UNKNOWN_KEY", key.node,
            fmt::format("unknown key '{}' in organization (expected domains, accounts or "
                        "principals)",
                        key.value));
    }
  }
}

void Loader::sensitivity(const YAML::Node& n) {
  for (auto& [key, value] : entries(n, "sensitivity")) {
    auto level_name = scalar(value, fmt::format("the level of sensitivity class '{}'", key.value));
    if (!level_name) continue;
    auto level = parse_level(*level_name);
    if (!level) {
      error("E_UNKNOWN_LEVEL", value,
            fmt::format("unknown sensitivity level '{}' for class '{}' (expected critical, high, "
                        "medium, low or public)",
                        *level_name, key.value));
      continue;
    }
    impl_.sensitivity.emplace(key.value, *level);
  }
}

void Loader::audiences(const YAML::Node& n) {
  for (auto& [key, value] : entries(n, "audiences")) {
    auto cls = parse_audience(key.value);
    if (!cls) {
      error("E_UNKNOWN_AUDIENCE", key.node,
            fmt::format("unknown audience class '{}' (expected internet, external, company, "
                        "department, narrow or ineffective)",
                        key.value));
      continue;
    }
    for (auto& m : scalars(value, fmt::format("audiences.{}", key.value))) {
      auto [it, inserted] = impl_.audience_of.emplace(m.value, *cls);
      if (!inserted && *cls < it->second) it->second = *cls;  // the broadest wins
    }
  }
}

void Loader::groups(const YAML::Node& n) {
  // Direct members, in file order.
  std::vector<std::pair<std::string, std::vector<Item>>> direct;
  StringMap<std::size_t> index;
  for (auto& [key, value] : entries(n, "groups")) {
    index.emplace(key.value, direct.size());
    direct.emplace_back(key.value, scalars(value, fmt::format("groups.{}", key.value)));
  }

  // Cycles: depth-first, each back edge reported once, at the member that
  // closes the cycle.
  enum Color : std::uint8_t { white, gray, black };
  std::vector<Color> color(direct.size(), white);
  std::vector<std::size_t> stack;
  std::function<void(std::size_t)> visit = [&](std::size_t g) {
    color[g] = gray;
    stack.push_back(g);
    for (const auto& m : direct[g].second) {
      auto it = index.find(m.value);
      if (it == index.end()) continue;
      const std::size_t h = it->second;
      if (color[h] == gray) {
        std::string path;
        auto from = std::find(stack.begin(), stack.end(), h);
        for (auto s = from; s != stack.end(); ++s) path += direct[*s].first + " -> ";
        path += m.value;
        error("E_GROUP_CYCLE", m.node, fmt::format("cycle in groups: {}", path));
      } else if (color[h] == white) {
        visit(h);
      }
    }
    stack.pop_back();
    color[g] = black;
  };
  for (std::size_t g = 0; g < direct.size(); ++g) {
    if (color[g] == white) visit(g);
  }

  // Transitive members (breadth-first with a visited set, so that it ends
  // even on cycles; a context with a cycle is rejected anyway).
  for (const auto& [name, members] : direct) {
    StringSet all;
    std::vector<std::string> todo;
    for (const auto& m : members) todo.push_back(m.value);
    while (!todo.empty()) {
      std::string m = std::move(todo.back());
      todo.pop_back();
      if (!all.insert(m).second) continue;
      if (auto it = index.find(m); it != index.end()) {
        for (const auto& sub : direct[it->second].second) todo.push_back(sub.value);
      }
    }
    impl_.group_members.emplace(name, std::move(all));
  }
}

void Loader::objects(const YAML::Node& n, std::vector<std::string>& names) {
  if (!expect(n, YAML::NodeType::Sequence, "objects")) return;
  for (const auto& entry : n) {
    auto fields = entries(entry, "an objects entry");
    if (!entry.IsMap()) continue;
    std::optional<Glob> g;
    bool has_match = false;
    ObjectInfo info;
    bool ok = true;
    bool has_sensitivity = false;
    for (auto& [key, value] : fields) {
      if (key.value == "match") {
        has_match = true;
        if (auto s = scalar(value, "match")) g = glob(Item{*s, value}, "objects.match");
        ok = ok && g.has_value();
      } else if (key.value == "sensitivity") {
        has_sensitivity = true;
        auto s = scalar(value, "sensitivity");
        if (!s) {
          ok = false;
          continue;
        }
        auto it = impl_.sensitivity.find(*s);
        if (it == impl_.sensitivity.end()) {
          error("E_UNKNOWN_CLASS", value,
                fmt::format("unknown sensitivity class '{}' (not in sensitivity)", *s));
          ok = false;
          continue;
        }
        info.sensitivity = *s;
        info.level = it->second;
      } else if (key.value == "owner") {
        if (auto s = scalar(value, "owner")) {
          info.owner = *s;
        } else {
          ok = false;
        }
      } else if (key.value == "audience") {
        for (auto& m : scalars(value, "audience")) info.audience.push_back(m.value);
      } else {
        error("E_UNKNOWN_KEY", key.node,
              fmt::format("unknown key '{}' in an objects entry (expected match, sensitivity, "
                          "owner or audience)",
                          key.value));
      }
    }
    if (!has_match) error("E_MISSING_KEY", entry, "objects entry without 'match'");
    if (!has_sensitivity) error("E_MISSING_KEY", entry, "objects entry without 'sensitivity'");
    if (!ok || !g || !has_sensitivity) continue;
    const auto rule_index = static_cast<std::uint32_t>(impl_.rules.size());
    if (g->is_literal()) {
      impl_.exact_rule.emplace(g->literal(), rule_index);
      names.push_back(g->literal());
    }
    const auto id = impl_.add_info(std::move(info));
    impl_.rules.push_back(Context::Impl::ObjectRule{std::move(*g), id});
  }
}

void Loader::objects_csv(const YAML::Node& n, std::vector<std::string>& names) {
  auto rel = scalar(n, "objects_csv");
  if (!rel) return;
  std::filesystem::path path(*rel);
  if (path.is_relative()) path = std::filesystem::path(file_).parent_path() / path;
  const std::string csv_file = path.string();
  const FileBytes bytes(path);
  if (!bytes.ok()) {
    error("E_IO", n, fmt::format("cannot read objects_csv '{}'", csv_file));
    return;
  }
  csv_text(csv_file, bytes.view(), names);
}

// RFC 4180 CSV: `,` separated, fields optionally in double quotes (`""` is a
// quote; quoted fields may hold commas and newlines), CRLF or LF line ends,
// blank lines skipped.
void Loader::csv_text(const std::string& csv_file, std::string_view data,
                      std::vector<std::string>& names) {
  struct Field {
    std::string text;
    int line = 0;
    int col = 0;
  };
  std::size_t errors = 0;
  auto csv_error = [&](int line, int col, std::string message) {
    if (++errors <= kMaxCsvErrors) diags_.error("E_CSV", {csv_file, line, col}, std::move(message));
  };

  const std::size_t n = data.size();
  std::size_t pos = 0;
  if (data.starts_with("\xEF\xBB\xBF")) pos = 3;  // UTF-8 byte order mark
  std::size_t line_start = 0;
  int line = 1;
  auto col_at = [&](std::size_t p) { return static_cast<int>(p - line_start) + 1; };

  std::vector<Field> fields(4);
  bool header_done = false;
  names.reserve(std::count(data.begin(), data.end(), '\n') + 1);
  impl_.csv.reserve(names.capacity(), data.size());
  // Rows share a few (sensitivity, owner, audience) tuples: one ObjectInfo each.
  StringMap<std::uint32_t> tuples;
  std::string tuple;

  while (pos < n) {
    // Blank lines.
    if (data[pos] == '\n' || (data[pos] == '\r' && pos + 1 < n && data[pos + 1] == '\n')) {
      pos += data[pos] == '\r' ? 2 : 1;
      ++line;
      line_start = pos;
      continue;
    }
    const int row_line = line;
    std::size_t nf = 0;
    bool bad = false;
    int end_col = 0;
    while (true) {
      if (nf == fields.size()) fields.emplace_back();
      Field& f = fields[nf++];
      f.text.clear();
      f.line = line;
      f.col = col_at(pos);
      if (pos < n && data[pos] == '"') {
        ++pos;
        bool closed = false;
        while (pos < n) {
          const char c = data[pos];
          if (c == '"') {
            if (pos + 1 < n && data[pos + 1] == '"') {
              f.text += '"';
              pos += 2;
              continue;
            }
            ++pos;
            closed = true;
            break;
          }
          f.text += c;
          ++pos;
          if (c == '\n') {
            ++line;
            line_start = pos;
          }
        }
        if (!closed) {
          csv_error(f.line, f.col, "unterminated quoted field");
          return;
        }
        if (pos < n && data[pos] != ',' && data[pos] != '\n' &&
            !(data[pos] == '\r' && pos + 1 < n && data[pos + 1] == '\n')) {
          if (!bad) csv_error(line, col_at(pos), "unexpected character after a quoted field");
          bad = true;
          while (pos < n && data[pos] != ',' && data[pos] != '\n') ++pos;
        }
      } else {
        const std::size_t start = pos;
        while (pos < n && data[pos] != ',' && data[pos] != '\n') ++pos;
        std::size_t end = pos;
        if (end > start && data[end - 1] == '\r' && (pos == n || data[pos] == '\n')) --end;
        f.text.assign(data, start, end - start);
      }
      if (pos < n && data[pos] == ',') {
        ++pos;
        continue;
      }
      // End of the row.
      std::size_t end = pos;
      if (end > line_start && data[end - 1] == '\r') --end;
      end_col = col_at(end);
      if (pos < n) {  // '\n'
        ++pos;
        ++line;
        line_start = pos;
      }
      break;
    }
    if (bad) continue;

    if (!header_done) {
      header_done = true;
      static constexpr std::string_view kHeader[] = {"object", "sensitivity", "owner", "audience"};
      bool ok = nf == 4;
      for (std::size_t i = 0; ok && i < 4; ++i) ok = fields[i].text == kHeader[i];
      if (!ok) {
        csv_error(row_line, 1, "bad header: expected 'object,sensitivity,owner,audience'");
        return;  // the columns cannot be trusted
      }
      continue;
    }
    if (nf != 4) {
      csv_error(row_line, nf > 4 ? fields[4].col : end_col,
                fmt::format("expected 4 fields (object,sensitivity,owner,audience), found {}", nf));
      continue;
    }
    if (fields[0].text.empty()) {
      csv_error(fields[0].line, fields[0].col, "empty object name");
      continue;
    }
    auto level = impl_.sensitivity.find(fields[1].text);
    if (level == impl_.sensitivity.end()) {
      csv_error(fields[1].line, fields[1].col,
                fmt::format("unknown sensitivity class '{}' (not in sensitivity)", fields[1].text));
      continue;
    }
    auto [row, inserted] = impl_.csv.try_emplace(fields[0].text);
    if (!inserted) {
      diags_.warning("W_CSV_DUPLICATE", {csv_file, fields[0].line, fields[0].col},
                     fmt::format("object '{}' listed again; the first row wins", fields[0].text));
      continue;
    }
    tuple.assign(fields[1].text).append(1, '\x1f').append(fields[2].text).append(1, '\x1f');
    tuple.append(fields[3].text);
    if (auto t = tuples.find(tuple); t != tuples.end()) {
      *row = t->second;
    } else {
      ObjectInfo info;
      info.sensitivity = fields[1].text;
      info.level = level->second;
      info.owner = fields[2].text;
      std::string_view aud(fields[3].text);
      while (!aud.empty()) {
        const auto semi = aud.find(';');
        std::string_view m = aud.substr(0, semi);
        while (!m.empty() && std::isspace(static_cast<unsigned char>(m.front()))) {
          m.remove_prefix(1);
        }
        while (!m.empty() && std::isspace(static_cast<unsigned char>(m.back()))) {
          m.remove_suffix(1);
        }
        if (!m.empty()) info.audience.emplace_back(m);
        if (semi == std::string_view::npos) break;
        aud.remove_prefix(semi + 1);
      }
      *row = impl_.add_info(std::move(info));
      tuples.emplace(tuple, *row);
    }
    names.push_back(std::move(fields[0].text));
  }
  if (!header_done)
    csv_error(1, 1, "empty CSV: expected the header 'object,sensitivity,owner,audience'");
  if (errors > kMaxCsvErrors) {
    diags_.error("E_CSV", {csv_file, 0, 0},
                 fmt::format("{} more CSV errors not shown", errors - kMaxCsvErrors));
  }
}

}  // namespace

Context::Context() : impl_(std::make_shared<Impl>()) {}

std::unique_ptr<Context> Context::load_file(const std::string& path, Diagnostics& diags) {
  const FileBytes bytes(path);
  if (!bytes.ok()) {
    diags.error("E_IO", {path, 0, 0}, fmt::format("cannot read context file '{}'", path));
    return nullptr;
  }
  return load_string(bytes.view(), path, diags);
}

std::unique_ptr<Context> Context::load_string(std::string_view yaml, const std::string& name,
                                              Diagnostics& diags) {
  std::unique_ptr<Context> ctx(new Context());
  Diagnostics local;
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    Loader(name, local, *ctx->impl_).load(root, ctx->inventory_);
  } catch (const YAML::Exception& e) {
    local.error("E_YAML", loc_of(name, e.mark), e.msg);
  }
  diags.append(local);
  if (local.has_errors()) return nullptr;

  ObjectInfo unclassified;
  unclassified.sensitivity = std::string(kUnclassified);
  unclassified.level = Level::low;
  ctx->impl_->unclassified = ctx->impl_->add_info(std::move(unclassified));
  return ctx;
}

std::unique_ptr<Context> Context::builtin_default() {
  Diagnostics diags;
  auto ctx = load_string(kBuiltinDefault, "<builtin>", diags);
  if (!ctx) throw std::logic_error("builtin context does not load: " + diags.to_text());
  return ctx;
}

const ObjectInfo& Context::classify(std::string_view object) const {
  const Impl& im = *impl_;
  if (const auto* row = im.csv.find(object)) return im.infos[*row];
  std::size_t limit = im.rules.size();
  if (auto it = im.exact_rule.find(object); it != im.exact_rule.end()) limit = it->second;
  for (std::size_t i = 0; i < limit; ++i) {
    const auto& rule = im.rules[i];
    if (!rule.glob.is_literal() && rule.glob.matches(object)) return im.infos[rule.info];
  }
  if (limit < im.rules.size()) return im.infos[im.rules[limit].info];
  return im.infos[im.unclassified];
}

std::optional<Audience> Context::audience_class(std::string_view member) const {
  const auto& m = impl_->audience_of;
  if (auto it = m.find(member); it != m.end()) return it->second;
  return std::nullopt;
}

bool Context::is_external(std::string_view principal) const {
  const Impl& im = *impl_;
  if (!im.has_organization) return false;
  if (principal.starts_with("arn:")) {
    // arn:partition:service:region:account:resource
    std::size_t p = 0;
    for (int i = 0; i < 4 && p != std::string_view::npos; ++i) {
      p = principal.find(':', p);
      if (p != std::string_view::npos) ++p;
    }
    if (p == std::string_view::npos) return true;
    const auto end = principal.find(':', p);
    if (end == std::string_view::npos) return true;
    return !im.accounts.contains(principal.substr(p, end - p));
  }
  if (const auto at = principal.rfind('@'); at != std::string_view::npos) {
    const auto domain = principal.substr(at + 1);
    return std::none_of(im.domains.begin(), im.domains.end(),
                        [&](const std::string& d) { return iequals(d, domain); });
  }
  for (const auto& g : im.principal_globs) {
    if (g.matches(principal)) return false;
  }
  return true;
}

bool Context::is_intended_reader(std::string_view principal,
                                 const std::vector<std::string>& principal_groups,
                                 const ObjectInfo& object) const {
  const Impl& im = *impl_;
  // One of ours (from classify): its reader set is precomputed.
  const StringSet* readers = nullptr;
  const ObjectInfo* base = im.infos.data();
  std::less<const ObjectInfo*> before;
  if (!before(&object, base) && before(&object, base + im.infos.size())) {
    readers = &im.reader_sets[im.reader_set_of[static_cast<std::size_t>(&object - base)]];
  } else if (auto it = im.reader_set_index.find(Impl::audience_key(object));
             it != im.reader_set_index.end()) {
    readers = &im.reader_sets[it->second];
  }
  if (readers != nullptr) {
    if (readers->contains(principal)) return true;
    for (const auto& g : principal_groups) {
      if (readers->contains(g)) return true;
    }
    return false;
  }
  // Someone else's ObjectInfo with an audience we have not seen.
  auto reaches = [&](const std::string& member) {
    if (im.member_reaches(member, principal)) return true;
    for (const auto& g : principal_groups) {
      if (im.member_reaches(member, g)) return true;
    }
    return false;
  };
  if (object.audience.empty()) return !object.owner.empty() && reaches(object.owner);
  return std::any_of(object.audience.begin(), object.audience.end(), reaches);
}

std::optional<Level> Context::level_of_class(std::string_view sensitivity_class) const {
  const auto& m = impl_->sensitivity;
  if (auto it = m.find(sensitivity_class); it != m.end()) return it->second;
  if (sensitivity_class == kUnclassified) return Level::low;
  return std::nullopt;
}

}  // namespace sevwatch::rules
