// The bodies sevwatch sends. Built when an outbox event is routed and stored
// with the delivery, WITHOUT secrets: the PagerDuty routing key is added by
// with_routing_key() at send time only.
#pragma once

#include <string>
#include <vector>

#include "triage/incident.h"
#include "triage/outbox.h"
#include "triage/sev_rubric.h"

namespace sevwatch::triage::notify {

// One line: "SEV 2 opened: <title> — 45000 objects (…) exposed to the company audience [incident
// 7]".
std::string summary_line(const Incident& inc, const OutboxEvent& e);

// PagerDuty Events API v2. `action` is trigger | acknowledge | resolve. A
// trigger carries payload.summary/source/severity (from the rubric's routing)
// /timestamp/component/group/class/custom_details (scope and evidence).
std::string pagerduty_body(const Incident& inc, const OutboxEvent& e, const std::string& action,
                           const std::string& dedup_key, const std::string& source,
                           const SevRubric& rubric);
// Adds "routing_key" to a stored PagerDuty body.
std::string with_routing_key(const std::string& body, const std::string& routing_key);

// Slack incoming webhook: text (the fallback) and blocks.
std::string slack_body(const Incident& inc, const OutboxEvent& e);
std::string slack_digest_body(const std::vector<Delivery>& items);

// Generic webhook: {"version":"1","kind":"event","idempotency_key",…,"event",
// "incident"} (incident = spec/incident.schema.json summary).
std::string webhook_body(const Incident& inc, const OutboxEvent& e, const std::string& key);
std::string webhook_digest_body(const std::vector<Delivery>& items, const std::string& key);

}  // namespace sevwatch::triage::notify
