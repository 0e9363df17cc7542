#include "triage/outbox.h"

#include <fmt/format.h>

#include "triage/incident_store.h"

namespace sevwatch::triage {

std::string_view to_string(DeliveryState s) {
  switch (s) {
    case DeliveryState::pending:
      return "pending";
    case DeliveryState::delivered:
      return "delivered";
    case DeliveryState::failed:
      return "failed";
    case DeliveryState::suppressed:
      return "suppressed";
  }
  return "pending";
}

std::optional<DeliveryState> parse_delivery_state(std::string_view s) {
  for (auto st : {DeliveryState::pending, DeliveryState::delivered, DeliveryState::failed,
                  DeliveryState::suppressed}) {
    if (to_string(st) == s) return st;
  }
  return std::nullopt;
}

std::string pagerduty_dedup_key(std::int64_t incident_id, int sev) {
  return fmt::format("sevwatch-{}-sev{}", incident_id, sev);
}

std::string outbox_event_key(std::int64_t incident_id, std::string_view event, int sev,
                             std::int64_t at_ms) {
  // An incident opens once; every other change is named by its SEV and time.
  if (event == "opened") return fmt::format("incident-{}/opened", incident_id);
  return fmt::format("incident-{}/{}/sev{}/{}", incident_id, event, sev, at_ms);
}

// The IncidentStore outbox defaults, for stores that do not implement it yet.
namespace {
[[noreturn]] void unsupported() {
  throw StoreError("outbox not supported by this store");
}
}  // namespace

bool IncidentStore::add_outbox_event(OutboxEvent&) {
  unsupported();
}
std::vector<OutboxEvent> IncidentStore::unrouted_outbox_events(std::size_t) {
  unsupported();
}
void IncidentStore::mark_outbox_event_routed(std::int64_t, std::int64_t) {
  unsupported();
}
void IncidentStore::add_deliveries(std::vector<Delivery>&) {
  unsupported();
}
std::vector<Delivery> IncidentStore::claim_deliveries(std::int64_t, std::int64_t, std::size_t) {
  unsupported();
}
std::vector<Delivery> IncidentStore::pending_digest(const std::string&, std::size_t) {
  unsupported();
}
std::optional<std::int64_t> IncidentStore::last_digest_ms(const std::string&) {
  unsupported();
}
void IncidentStore::update_delivery(const Delivery&) {
  unsupported();
}
std::vector<Delivery> IncidentStore::list_deliveries(std::int64_t, std::optional<DeliveryState>) {
  unsupported();
}
std::vector<OutboxEvent> IncidentStore::list_outbox_events(std::int64_t) {
  unsupported();
}
void IncidentStore::add_silence(Silence&) {
  unsupported();
}
std::vector<Silence> IncidentStore::list_silences(bool, std::int64_t) {
  unsupported();
}
bool IncidentStore::expire_silence(std::int64_t, const std::string&, std::int64_t) {
  unsupported();
}

}  // namespace sevwatch::triage
