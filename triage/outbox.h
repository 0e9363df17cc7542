// The notification outbox: what the store keeps so that pages survive crashes.
//
//   OutboxEvent  one incident change worth telling someone about (opened,
//                reopened, escalated, acknowledged, resolved). Written by the
//                incident manager in the SAME transaction as the change, with a
//                unique idempotency key, so no page is sent for a change that
//                rolled back and no committed change goes unpaged.
//   Delivery     one message to one receiver, made from an event by the
//                notifier when it routes the event (triage/notify/). Claimed
//                with a lease, sent, then marked delivered; retried with
//                backoff, or failed (kept with its error), or suppressed by a
//                silence (kept with the silence id).
//   Silence      matchers (rule glob, SEV range, object glob), who, why, until.
//
// Nothing here talks to the network.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sevwatch::triage {

struct OutboxEvent {
  std::int64_t id = 0;
  std::string key;  // idempotency key, unique in the store, e.g. "incident-7/opened"
  std::int64_t incident_id = 0;
  std::string event;            // opened | reopened | escalated | acknowledged | resolved
  int sev = 5;                  // the incident's SEV after the change
  std::optional<int> from_sev;  // escalated: the SEV before
  std::string by;               // "sevwatch" or the human
  std::string note;
  std::int64_t at_ms = 0;                 // when the change happened (event time or wall clock)
  std::int64_t created_ms = 0;            // wall clock when queued
  std::optional<std::int64_t> routed_ms;  // set once deliveries were made from it
};

enum class DeliveryState : std::uint8_t { pending, delivered, failed, suppressed };
std::string_view to_string(DeliveryState s);
std::optional<DeliveryState> parse_delivery_state(std::string_view s);

struct Delivery {
  std::int64_t id = 0;
  std::int64_t event_id = 0;
  std::int64_t incident_id = 0;
  std::string receiver;   // the receiver's name in the routes file
  std::string key;        // idempotency key, unique: event key + "/" + receiver [+ "/" + action]
  std::string dedup_key;  // PagerDuty dedup_key ("sevwatch-7-sev2"), else empty
  std::string action;     // trigger | acknowledge | resolve | message
  bool digest = false;    // batched into the receiver's digest instead of sent alone
  std::string summary;    // one line, for digests and the timeline
  std::string body;       // the JSON to send, WITHOUT secrets (routing keys are added at send)
  DeliveryState state = DeliveryState::pending;
  int attempts = 0;
  std::int64_t next_at_ms = 0;  // not before
  std::string last_error;
  std::optional<std::int64_t> silence_id;
  std::int64_t created_ms = 0;
  std::optional<std::int64_t> delivered_ms;
};

struct Silence {
  std::int64_t id = 0;
  std::string rule = "*";    // glob over the incident's rule id
  int sev_min = 0;           // most severe SEV silenced
  int sev_max = 5;           // least severe SEV silenced
  std::string object = "*";  // glob every object in scope must match
  std::string created_by;
  std::string comment;
  std::int64_t created_ms = 0;
  std::int64_t starts_ms = 0;
  std::int64_t ends_ms = 0;  // expiry; expiring now sets it to now
  std::optional<std::string> expired_by;

  bool active(std::int64_t now_ms) const { return starts_ms <= now_ms && now_ms < ends_ms; }
};

// PagerDuty dedup key of an incident at a SEV tier: a SEV change is a new
// alert, so an escalation re-pages even after an acknowledgement.
std::string pagerduty_dedup_key(std::int64_t incident_id, int sev);

// The idempotency key of an incident change.
std::string outbox_event_key(std::int64_t incident_id, std::string_view event, int sev,
                             std::int64_t at_ms);

}  // namespace sevwatch::triage
