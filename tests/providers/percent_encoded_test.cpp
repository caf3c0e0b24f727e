// Values put into provider requests: a ZaloPay query's form body and a PayOS path segment.
#include <gtest/gtest.h>

#include "providers/http/api_client.h"

namespace tbpay {
namespace {

TEST(PercentEncoded, AFormValueKeepsItsUnreservedCharactersAndSendsASpaceAsPlus) {
  EXPECT_EQ(percent_encoded("251213_TB-1.a*b", "-_.*", true), "251213_TB-1.a*b");
  EXPECT_EQ(percent_encoded("a b&c=d+e/~", "-_.*", true), "a+b%26c%3Dd%2Be%2F%7E");
}

TEST(PercentEncoded, APathSegmentEncodesEverySeparatorAndEveryByteOfUtf8) {
  EXPECT_EQ(percent_encoded("0123abc-_.~", "-_.~", false), "0123abc-_.~");
  EXPECT_EQ(percent_encoded("a b/../c?d#", "-_.~", false), "a%20b%2F..%2Fc%3Fd%23");
  EXPECT_EQ(percent_encoded("Vé", "-_.~", false), "V%C3%A9");
}

}  // namespace
}  // namespace tbpay
