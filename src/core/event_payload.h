#pragma once
#include <string>

#include "core/payment.h"

namespace tbpay {

// The JSON body of the PAYMENT_COMPLETED / PAYMENT_FAILED outbox event that a transition of
// `payment` (currently in `previous`) by `request` writes. Field names are the contract with
// the Go order service (docs/state-machine.md, "Events"). The PostgreSQL store builds the same
// object in SQL to keep the transition to one round trip; a shared test holds both to this.
std::string event_payload(const Payment& payment, PaymentStatus previous,
                          const TransitionRequest& request);

}  // namespace tbpay
