#include "context/context.h"

namespace tbpay {

EventPublisher& Context::publisher() {
  if (!publisher_) publisher_ = open_publisher_(config, log);
  return *publisher_;
}

}  // namespace tbpay
