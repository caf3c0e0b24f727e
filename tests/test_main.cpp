// The gtest main of every test executable. It also tells the tests where the built `tbpay`
// binary and the source tree are, unless the environment already says so.
#include <gtest/gtest.h>

#include <cstdlib>

int main(int argc, char** argv) {
  setenv("TBPAY_BINARY", TBPAY_BINARY_PATH, 0);
  setenv("TBPAY_SOURCE_DIR", TBPAY_SOURCE_DIR_PATH, 0);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
