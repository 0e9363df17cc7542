#include "rules/condition_ast.h"

#include <cctype>

namespace sevwatch::rules::ast {

ExprPtr clone(const Expr& e) {
  auto out = std::make_unique<Expr>();
  out->kind = e.kind;
  out->loc = e.loc;
  out->field = e.field;
  out->op = e.op;
  out->values = e.values;
  out->list_syntax = e.list_syntax;
  out->name = e.name;
  out->kids.reserve(e.kids.size());
  for (const auto& k : e.kids) out->kids.push_back(clone(*k));
  return out;
}

std::string_view to_string(Op op) {
  switch (op) {
    case Op::eq:
      return "=";
    case Op::ne:
      return "!=";
    case Op::lt:
      return "<";
    case Op::le:
      return "<=";
    case Op::gt:
      return ">";
    case Op::ge:
      return ">=";
    case Op::in:
      return "in";
    case Op::contains:
      return "contains";
    case Op::icontains:
      return "icontains";
    case Op::startswith:
      return "startswith";
    case Op::istartswith:
      return "istartswith";
    case Op::endswith:
      return "endswith";
    case Op::iendswith:
      return "iendswith";
    case Op::glob:
      return "glob";
    case Op::iglob:
      return "iglob";
    case Op::regex:
      return "regex";
    case Op::cidr:
      return "cidr";
    case Op::exists:
      return "exists";
  }
  return "?";
}

namespace {

std::string render_value(const Value& v) {
  bool plain = !v.text.empty();
  for (char c : v.text) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
          c == '*' || c == '?' || c == ':' || c == '/' || c == '@')) {
      plain = false;
    }
  }
  if (plain) return v.text;
  std::string out = "\"";
  for (char c : v.text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string render(const Expr& e) {
  switch (e.kind) {
    case Expr::Kind::and_:
    case Expr::Kind::or_: {
      std::string out;
      for (const auto& k : e.kids) {
        if (!out.empty()) out += e.kind == Expr::Kind::and_ ? " and " : " or ";
        const bool paren = k->kind == Expr::Kind::and_ || k->kind == Expr::Kind::or_;
        out += paren ? "(" + render(*k) + ")" : render(*k);
      }
      return out;
    }
    case Expr::Kind::not_: {
      const auto& k = *e.kids.at(0);
      const bool paren = k.kind == Expr::Kind::and_ || k.kind == Expr::Kind::or_;
      return "not " + (paren ? "(" + render(k) + ")" : render(k));
    }
    case Expr::Kind::ref:
      return e.name;
    case Expr::Kind::check:
      break;
  }
  std::string out = e.field + " " + std::string(to_string(e.op));
  if (e.op == Op::exists) return out;
  if (e.list_syntax || e.op == Op::in) {
    out += " (";
    for (std::size_t i = 0; i < e.values.size(); ++i) {
      if (i > 0) out += ", ";
      out += render_value(e.values[i]);
    }
    return out + ")";
  }
  return out + " " + (e.values.empty() ? std::string() : render_value(e.values[0]));
}

}  // namespace sevwatch::rules::ast
