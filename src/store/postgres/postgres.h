#pragma once
#include <cstddef>
#include <memory>
#include <string>

#include "store/store.h"

namespace tbpay {

// The PostgreSQL stores over one connection pool of at most `pool_size` connections, opened
// on demand (nothing connects here).
std::unique_ptr<Database> open_postgres(std::string url, std::size_t pool_size = 16);

}  // namespace tbpay
