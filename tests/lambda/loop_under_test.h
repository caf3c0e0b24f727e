#pragma once
// run_loop on its own thread against a FakeRuntimeApi; stop() closes the fake and joins.
#include <future>

#include "lambda/fake_runtime_api.h"
#include "lambda/runtime.h"

namespace tbpay::testing {

class LoopUnderTest {
 public:
  LoopUnderTest(FakeRuntimeApi& api, lambda::Handler handler, lambda::AfterPost after_post = {})
      : api_(api) {
    exit_code_ = std::async(
        std::launch::async,
        [&api, handler = std::move(handler), after_post = std::move(after_post)] {
          return lambda::run_loop(api.address(), handler, after_post);
        });
  }
  ~LoopUnderTest() { stop(); }
  LoopUnderTest(const LoopUnderTest&) = delete;
  LoopUnderTest& operator=(const LoopUnderTest&) = delete;

  int stop() {
    api_.close();
    if (exit_code_.valid()) result_ = exit_code_.get();
    return result_;
  }

 private:
  FakeRuntimeApi& api_;
  std::future<int> exit_code_;
  int result_ = -1;
};

}  // namespace tbpay::testing
